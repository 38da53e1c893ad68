/**
 * The fastest peer: Fastify + Mercurius, its queries compiled by graphql-jit (`jit: 1`, from a document's first
 * run) and authors through Mercurius' loaders (batched per request), over the same database. It answers the feed
 * scenario's question as Tally is sent it, `{ posts(first: 20) { edges { node { id body author { id name } } } } }`,
 * with Tally's shape and ids (Relay global ids, base64 of "Post:<id>" and "User:<id>", as @pothos/plugin-relay's
 * encodeGlobalID writes them): the page in one statement, its authors in a second. A devDependency of the load
 * tests only.
 *
 *   PORT, DATABASE_URL, POOL_MAX
 */
import Fastify from 'fastify';
import mercurius, { type IResolvers, type MercuriusLoaders } from 'mercurius';
import pg from 'pg';

interface PostRow {
  readonly id: string;
  readonly body: string;
  readonly author_id: string;
}

interface UserRow {
  readonly id: string;
  readonly name: string;
}

/** Only what the question reaches: a peer answers it as its own users would write it, not Tally's whole schema. */
const schema = `
  type User { id: ID! name: String! }
  type Post { id: ID! body: String! author: User! }
  type PostEdge { node: Post! }
  type PostConnection { edges: [PostEdge!]! }
  type Query { posts(first: Int!): PostConnection! }
`;

const pool = new pg.Pool({ connectionString: process.env['DATABASE_URL'], max: Number(process.env['POOL_MAX'] ?? 10) });

const NEWEST_POSTS = 'select id, body, author_id from posts order by created_at desc, id desc limit $1';
const USERS_BY_ID = 'select id, name from users where id = any($1::bigint[])';

const globalId = (typename: string, id: string) => Buffer.from(`${typename}:${id}`).toString('base64');

const resolvers: IResolvers = {
  Query: {
    posts: async (_root, { first }: { first: number }) => {
      const { rows } = await pool.query<PostRow>(NEWEST_POSTS, [first]);
      return { edges: rows.map((row) => ({ node: row })) };
    },
  },
  Post: { id: (post: PostRow) => globalId('Post', post.id) },
  User: { id: (user: UserRow) => globalId('User', user.id) },
};

/** One statement for every author a request asks for; answers in the order of the posts asked about. */
const loaders: MercuriusLoaders = {
  Post: {
    author: async (queries: { obj: PostRow }[]) => {
      const ids = [...new Set(queries.map(({ obj }) => obj.author_id))];
      const { rows } = await pool.query<UserRow>(USERS_BY_ID, [ids]);
      const byId = new Map(rows.map((user) => [user.id, user]));
      return queries.map(({ obj }) => byId.get(obj.author_id));
    },
  },
};

const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
await app.register(mercurius, { schema, resolvers, loaders, jit: 1, graphiql: false });

const port = Number(process.env['PORT']);
await app.listen({ port, host: '127.0.0.1' });
console.log(`mercurius listening on ${port}`);
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
});

import { feedPage, postsPage, type PostWithAuthor } from '../db/queries/posts.js';
import type { PostRow } from '../db/schema.js';
import type { Context } from '../context.js';
import { existing } from '../loaders/map.js';
import { builder } from './builder.js';
import { parseRowId } from './ids.js';
import { PAGED, parsePageArgs, toConnection } from './pagination.js';
import { selects } from './selection.js';
import { User } from './user.js';
import { privateHint, publicHint } from '../cache/directive.js';

export const Post = builder.objectRef<PostRow>('Post');

builder.node(Post, {
  description: 'A post in the feed.',
  id: { resolve: (post) => post.id, parse: parseRowId('Post') },
  loadMany: (ids, context) => ids.map((id) => context.loaders.post.load(id)),
  fields: (t) => ({
    body: t.exposeString('body', { description: 'The text of the post, exactly as written.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the post was written.' }),
    author: t.field({
      type: User,
      description: 'Who wrote the post (batched: one statement for a whole page of posts).',
      resolve: async (post, _args, context) => existing(await context.loaders.user.load(post.authorId), 'author of a post'),
    }),
  }),
});

const PostConnection = builder.connectionObject(
  { type: Post, name: 'PostConnection', description: 'A page of posts, newest first.' },
  { name: 'PostEdge', description: 'A post and its cursor.' },
);

/** What a page of the feed costs beyond its posts (@cost on `feed`). */
const FEED_WEIGHT = 5;

const postKey = (post: PostRow) => ({ at: post.createdAt, id: post.id });
const asNode = (post: PostRow) => post;

/** Whether a post list's query selects `author`: then the list's own statement joins the authors in. */
const AUTHOR_PATH = ['edges', 'node', 'author'];

/** The posts of a joined page, with each author handed to the user loader so `Post.author` sends no SQL. */
function primeAuthors(context: Context, rows: readonly PostWithAuthor[]): PostRow[] {
  return rows.map(({ post, author }) => {
    if (author) context.loaders.user.prime(author.id, author);
    return post;
  });
}

builder.queryFields((t) => ({
  posts: t.connection(
    {
      type: Post,
      ...PAGED,
      directives: { ...PAGED.directives, ...publicHint },
      description: 'Every post, newest first.',
      resolve: async (_root, args, context, info) => {
        const page = parsePageArgs('posts', args);
        const rows = await postsPage(context.db, page, context.lookahead && selects(info, AUTHOR_PATH));
        return toConnection('posts', page, primeAuthors(context, rows), postKey, asNode);
      },
    },
    PostConnection,
  ),
  feed: t.connection(
    {
      type: Post,
      nullable: true,
      // A join over the viewer's follows per page: dearer than a page of `posts`.
      directives: { ...PAGED.directives, cost: { weight: FEED_WEIGHT }, ...privateHint },
      description: 'The posts of the users the viewer follows, newest first. Needs a signed-in viewer.',
      authScopes: { viewer: true },
      resolve: async (_root, args, context, info) => {
        const page = parsePageArgs('feed', args);
        const rows = await feedPage(context.db, context.viewer!.id, page, context.lookahead && selects(info, AUTHOR_PATH));
        return toConnection('feed', page, primeAuthors(context, rows), postKey, asNode);
      },
    },
    PostConnection,
  ),
}));

builder.objectField(User, 'posts', (t) =>
  t.connection(
    {
      type: Post,
      ...PAGED,
      description: 'The posts this user wrote, newest first.',
      resolve: async (user, args, context) => {
        const page = parsePageArgs('User.posts', args);
        const rows = await context.loaders.postsOf(page).load(user.id);
        return toConnection('User.posts', page, rows, postKey, asNode);
      },
    },
    PostConnection,
  ),
);

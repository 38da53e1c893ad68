/**
 * The scenarios: what runs against what, with which data and load, and which targets the report checks.
 */
import type autocannon from 'autocannon';
import pg from 'pg';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { SignJWT } from 'jose';
import { openDatabase } from '../src/db/client.js';
import { SEED_SIZES, type SeedSize } from '../src/db/seed.js';
import { checkLedger } from '../src/ledger/check-ledger.js';
import type { Measurement } from './measure.js';
import { TALLY_AUDIENCE, TALLY_ISSUER, TALLY_TEST_SECRET, type ServerKind } from './servers.js';

export interface Target {
  readonly label: string;
  readonly server: ServerKind;
  readonly requests: autocannon.Request[];
  /** The page of posts this target must answer (checked once before the load), or undefined for no check. */
  readonly expectsNewestPosts?: boolean;
  readonly expectsEdges?: number;
}

export interface Goal {
  readonly description: string;
  holds(results: ReadonlyMap<string, Measurement>): boolean | undefined;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly size: SeedSize;
  readonly sizeName: string;
  readonly throughPgBouncer: boolean;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** Built once the database is ready (some requests need ids, cursors or tokens from it). */
  targets(db: pg.Client): Promise<Target[]>;
  readonly goals: Goal[];
  /** Checks of the database after the load, such as the ledger's invariants after writes. */
  verify?(databaseUrl: string): Promise<Verdict[]>;
}

export interface Verdict {
  readonly description: string;
  readonly holds: boolean;
}

const post = (body: unknown, headers: Record<string, string> = {}): autocannon.Request => ({
  method: 'POST',
  path: '/graphql',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

export const NEWEST_POSTS_TALLY = '{ posts(first: 20) { edges { node { id body author { id name } } } } }';
export const NEWEST_POSTS_POSTGRAPHILE =
  '{ allPosts(first: 20, orderBy: [CREATED_AT_DESC, PRIMARY_KEY_DESC]) { nodes { id body userByAuthorId { id name } } } }';

export function tokenFor(userId: number): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(String(userId))
    .setIssuer(TALLY_ISSUER)
    .setAudience(TALLY_AUDIENCE)
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(TALLY_TEST_SECRET));
}

const rps = (results: ReadonlyMap<string, Measurement>, label: string) => results.get(label)?.requestsPerSecond;
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || !b ? undefined : a / b);

function feed(sizeName: 'demo' | 'load'): Scenario {
  return {
    name: 'feed',
    description: 'The 20 newest posts with their author (id, name), uncached, over the same database, one server after another.',
    size: SEED_SIZES[sizeName],
    sizeName,
    throughPgBouncer: false,
    connections: 100,
    durationSeconds: 10,
    warmupSeconds: 3,
    targets: () =>
      Promise.resolve([
        { label: 'bare node:http (1 KB JSON)', server: 'bare-http', requests: [post({})] },
        { label: 'bare node:http + pg (1 SQL)', server: 'bare-pg', requests: [post({})], expectsNewestPosts: true },
        { label: 'PostGraphile v5', server: 'postgraphile', requests: [post({ query: NEWEST_POSTS_POSTGRAPHILE })], expectsNewestPosts: true },
        { label: 'Tally, loaders off (N+1)', server: 'tally-unbatched', requests: [post({ query: NEWEST_POSTS_TALLY })], expectsNewestPosts: true },
        { label: 'Tally', server: 'tally', requests: [post({ query: NEWEST_POSTS_TALLY })], expectsNewestPosts: true },
      ]),
    goals: [
      {
        description: "Tally's requests/s ≥ 2× PostGraphile's",
        holds: (r) => (ratio(rps(r, 'Tally'), rps(r, 'PostGraphile v5')) ?? 0) >= 2,
      },
      {
        description: "Tally's p99 no worse than PostGraphile's",
        holds: (r) => (r.get('Tally')?.latencyMs.p99 ?? Infinity) <= (r.get('PostGraphile v5')?.latencyMs.p99 ?? 0),
      },
      {
        description: 'Tally sends at most 2 SQL statements per request',
        holds: (r) => (r.get('Tally')?.sqlPerRequestTally ?? Infinity) <= 2.0001,
      },
      {
        description: "Tally's requests/s ≥ 3× Tally without loaders",
        holds: (r) => (ratio(rps(r, 'Tally'), rps(r, 'Tally, loaders off (N+1)')) ?? 0) >= 3,
      },
    ],
  };
}

const LEDGER_PAGE =
  'query Ledger($after: String) { viewer { transactions(first: 20, after: $after) { edges { cursor node { id kind amount { amount currency } balanceAfter { amount } createdAt } } } } }';

function deepPage(sizeName: 'demo' | 'load'): Scenario {
  const size = SEED_SIZES[sizeName];
  // The demo user holds a tenth of the ledger (see src/db/seed.ts): 100k entries in the load data.
  const depth = Math.min(50_000, Math.floor(size.ledgerEntries / 10) - 100);
  return {
    name: 'deep-page',
    description: `One user's ledger: the first page, and a page ${depth.toLocaleString('en')} rows deep (keyset cursor), same query.`,
    size,
    sizeName,
    throughPgBouncer: false,
    connections: 50,
    durationSeconds: 10,
    warmupSeconds: 3,
    async targets(db) {
      const { rows } = await db.query<{ ms: string; id: string }>(
        `select (extract(epoch from created_at) * 1000)::bigint as ms, id from transactions
         where user_id = 1 order by created_at desc, id desc offset $1 limit 1`,
        [depth - 1],
      );
      const row = rows[0];
      if (!row) throw new Error('the demo user has too few ledger entries for the deep page');
      const cursor = Buffer.from(JSON.stringify(['User.transactions', Number(row.ms), Number(row.id)])).toString('base64url');
      const authorization = `Bearer ${await tokenFor(1)}`;
      return [
        { label: 'first page', server: 'tally', requests: [post({ query: LEDGER_PAGE }, { authorization })], expectsEdges: 20 },
        {
          label: `page ${depth.toLocaleString('en')} rows deep`,
          server: 'tally',
          requests: [post({ query: LEDGER_PAGE, variables: { after: cursor } }, { authorization })],
          expectsEdges: 20,
        },
      ];
    },
    goals: [
      {
        description: "the deep page's mean latency within 1.2× the first page's",
        holds: (r) => {
          const [first, deep] = [...r.values()];
          return first && deep ? deep.latencyMs.mean <= 1.2 * first.latencyMs.mean : undefined;
        },
      },
    ],
  };
}

const PROFILE =
  'query Profile($username: String!) { user(username: $username) { id name avatarUrl followers(first: 5) { edges { node { username } } } posts(first: 10) { edges { node { body createdAt } } } } }';
const FEED =
  'query Feed { feed(first: 20) { edges { node { id body createdAt author { username name } } } pageInfo { hasNextPage endCursor } } }';
const TRANSACTIONS =
  'query Transactions { viewer { balance { amount currency } transactions(first: 20) { edges { node { kind amount { amount } counterparty { username } createdAt } } } } }';

const DEPOSIT = 'mutation Deposit($input: DepositInput!) { deposit(input: $input) { entry { id balanceAfter { amount } } errors { code } } }';
const WITHDRAW = 'mutation Withdraw($input: WithdrawInput!) { withdraw(input: $input) { entry { id balanceAfter { amount } } errors { code } } }';
const TRANSFER = 'mutation Transfer($input: TransferInput!) { transfer(input: $input) { entry { id balanceAfter { amount } } viewer { balance { amount } } errors { code } } }';
const CREATE_POST = 'mutation CreatePost($input: CreatePostInput!) { createPost(input: $input) { post { id createdAt } errors { code } } }';

let keySequence = 0;

/**
 * A write whose idempotency key is new on every send, as a client's would be for each new operation (a retry
 * reuses its key; the retry storm in test/integration/ledger-concurrency.test.ts covers that).
 */
function write(query: string, input: Record<string, unknown>, authorization: string, keyed: boolean): autocannon.Request {
  return {
    ...post({ query, variables: { input } }, { authorization }),
    setupRequest(request) {
      if (!keyed) return request;
      keySequence += 1;
      return { ...request, body: JSON.stringify({ query, variables: { input: { ...input, idempotencyKey: `load-${process.pid}-${keySequence}` } } }) };
    },
  };
}

/**
 * Each connection as a client: it takes the next user in turn and sends that user's sequence in order, then takes
 * the next user. A plain request list would have every connection walk the same list in lockstep, so a thousand
 * clients would write the same account at the same moment: a load no real traffic makes. (autocannon keeps a
 * connection's context for one pass over its request list, so the list is one dynamic request per step.)
 */
function asClients(sequences: readonly autocannon.Request[][]): autocannon.Request[] {
  let users = 0;
  const steps = sequences[0]!.length;
  return Array.from({ length: steps }, (_, step) => ({
    // The first request's fields, so the runner's one answer check before the load has a request to send.
    ...sequences[0]![step]!,
    setupRequest(request: autocannon.Request, context: object) {
      const client = context as { sequence?: readonly autocannon.Request[] };
      client.sequence ??= sequences[users++ % sequences.length]!;
      const { setupRequest, ...fields } = client.sequence[step]!;
      const chosen = { ...request, ...fields };
      return typeof setupRequest === 'function' ? setupRequest(chosen, context) : chosen;
    },
  }));
}

function seedChallenge(sizeName: 'demo' | 'load'): Scenario {
  const size = { ...SEED_SIZES[sizeName], ledgerEntries: SEED_SIZES[sizeName].ledgerEntries * 2 };
  const viewers = Math.min(size.users, 500);
  return {
    name: 'seed-challenge',
    description: `1,000 connections, 80% reads (feed, profile, own transactions) and 20% writes (deposits, withdrawals, transfers to other users, posts) by ${viewers} signed-in users, through PgBouncer (transaction mode) with POOL_MAX=10, on a ${(size.ledgerEntries / 1e6).toFixed(0)}M-entry ledger; the ledger's invariants are checked after the run.`,
    size,
    sizeName: `${sizeName}-2m`,
    throughPgBouncer: true,
    connections: 1_000,
    durationSeconds: 60,
    // At 1,000 connections V8 grows its heap to the load's working set over the first 10-20 s (RSS climbs, then
    // holds); growth is measured from there, so what the goal sees is a leak, not the heap finding its size.
    warmupSeconds: 20,
    async targets() {
      const sequences: autocannon.Request[][] = [];
      for (let user = 1; user <= viewers; user += 1) {
        const authorization = `Bearer ${await tokenFor(user)}`;
        const other = (user % viewers) + 1;
        const writes = [
          write(TRANSFER, { to: encodeGlobalID('User', other), amount: '0.01', currency: 'USD', description: 'load test' }, authorization, true),
          write(DEPOSIT, { amount: '1.00', currency: 'USD', description: 'load test' }, authorization, true),
          write(WITHDRAW, { amount: '0.01', currency: 'USD', description: 'load test' }, authorization, true),
          write(CREATE_POST, { body: `load test post by user ${user}` }, authorization, false),
        ];
        // Four reads, then one write, the write's kind taking turns: 80 / 20.
        sequences.push(
          writes.flatMap((writeRequest) => [
            post({ query: FEED }, { authorization }),
            post({ query: PROFILE, variables: { username: user === 1 ? 'demo' : `user${user}` } }),
            post({ query: TRANSACTIONS }, { authorization }),
            post({ query: FEED }, { authorization }),
            writeRequest,
          ]),
        );
      }
      return [{ label: 'Tally', server: 'tally', requests: asClients(sequences) }];
    },
    goals: [
      { description: 'zero connection errors and timeouts', holds: (r) => (r.get('Tally')?.connectionErrors ?? 1) + (r.get('Tally')?.timeouts ?? 1) === 0 },
      {
        description: 'zero 5xx responses',
        holds: (r) => Object.entries(r.get('Tally')?.statusCounts ?? {}).every(([status]) => !status.startsWith('5')),
      },
      { description: '≤ 20 PostgreSQL server connections at every sample', holds: (r) => (r.get('Tally')?.peakPgConnections ?? Infinity) <= 20 },
      {
        description: 'RSS flat after warm-up (≤ 10% growth)',
        holds: (r) => {
          const rss = r.get('Tally')?.rssBytes;
          return rss ? rss.end <= rss.start * 1.1 : undefined;
        },
      },
    ],
    async verify(databaseUrl) {
      const database = await openDatabase({ kind: 'postgres', url: databaseUrl, poolMax: 1, statementTimeoutMs: 600_000 });
      try {
        const violations = await checkLedger(database.db);
        const detail = violations.map((violation) => `${violation.rule} (${violation.count} rows)`).join('; ');
        return [{ description: `the ledger is sound after the run (checkLedger)${detail ? `: ${detail}` : ''}`, holds: violations.length === 0 }];
      } finally {
        await database.close();
      }
    },
  };
}

export function scenario(name: string, sizeName: 'demo' | 'load'): Scenario {
  switch (name) {
    case 'feed':
      return feed(sizeName);
    case 'deep-page':
      return deepPage(sizeName);
    case 'seed-challenge':
      return seedChallenge(sizeName);
    default:
      throw new Error(`unknown scenario "${name}": choose feed, deep-page or seed-challenge`);
  }
}

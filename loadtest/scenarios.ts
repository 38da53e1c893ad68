/**
 * The scenarios: what runs against what, with which data and load, and which targets the report checks.
 */
import type autocannon from 'autocannon';
import { cpus } from 'node:os';
import pg from 'pg';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { openDatabase } from '../src/db/client.js';
import { SEED_SIZES, type SeedSize } from '../src/db/seed.js';
import { checkLedger } from '../src/ledger/check-ledger.js';
import { hitRate, sumOf, tallyMetrics, type BackgroundLoad, type CacheDrop, type Measurement, type PacedClients } from './measure.js';
import { faults } from './faults.js';
import { documentIdOf, NEWEST_POSTS_TALLY } from './operations.js';
import { TALLY_AUDIENCE, TALLY_ISSUER, TALLY_TEST_SECRET, type ServerKind } from './servers.js';
import { keyPrefixes } from '../src/store/stores.js';
import { unlinkByPrefix } from '../src/store/redis.js';

export interface Target {
  readonly label: string;
  readonly server: ServerKind;
  readonly requests: autocannon.Request[];
  /** The page of posts this target must answer (checked once before the load), or undefined for no check. */
  readonly expectsNewestPosts?: boolean;
  /** With expectsNewestPosts: its posts' and authors' ids are Tally's global ids (PostGraphile's are its own). */
  readonly expectsTallyIds?: boolean;
  readonly expectsEdges?: number;
  /** The server's environment beyond the runner's (servers.ts), such as a stage turned off. */
  readonly env?: Record<string, string>;
  /** Paced clients, each with its own connection and requests, instead of every connection sending `requests`. */
  readonly paced?: PacedClients;
  /** A load beside the measured one, from before the warm-up until the measured run ends (see measure.ts). */
  readonly background?: BackgroundLoad;
  /** Checks against this server once the load has stopped (see measure.ts). */
  readonly afterLoad?: (url: string) => Promise<Verdict[]>;
  /** What the runner does to this server during the measured run, beside the load (see measure.ts). */
  readonly duringLoad?: (url: string, endsAt: number) => Promise<CacheDrop[]>;
  /** This target's own connections and measured seconds, whatever --connections and --duration say. */
  readonly connections?: number;
  readonly durationSeconds?: number;
}

export interface Goal {
  readonly description: string;
  holds(results: ReadonlyMap<string, Measurement>): boolean | undefined;
  /** The figures behind the verdict, for the report's line. */
  detail?(results: ReadonlyMap<string, Measurement>): string | undefined;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly size: SeedSize;
  readonly sizeName: string;
  readonly throughPgBouncer: boolean;
  /** Whether Redis must run (scripts/services.sh starts it). */
  readonly needsRedis?: boolean;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** Built once the database is ready (some requests need ids, cursors or tokens from it), for the run's connections. */
  targets(db: pg.Pool, load: { readonly connections: number }): Promise<Target[]>;
  readonly goals: Goal[];
  /** Sets up the shared state the servers start from, once, before the first of them starts; says what it did. */
  prepare?(): Promise<string>;
  /** Checks of the database after the load, such as the ledger's invariants after writes. */
  verify?(databaseUrl: string): Promise<Verdict[]>;
  /** Figures drawn from more than one row, for the report. */
  notes?(results: ReadonlyMap<string, Measurement>): string[];
  /** The row whose server `--profile` runs under `node --cpu-prof`, its CPU by area in the report (profile.ts). */
  readonly profiled?: string;
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

/** Redis as production runs it, for the cost budget (its round trip is part of what the feed measures). */
const WITH_REDIS = { REDIS_URL: 'redis://127.0.0.1:6379' };

/** Production's switches, for rows that must run as "test" (a load-test switch is refused in production). */
const AS_PRODUCTION = {
  NODE_ENV: 'test',
  INTROSPECTION: 'false',
  FIELD_SUGGESTIONS: 'false',
  GRAPHIQL: 'false',
  GET_QUERIES: 'false',
  LIMIT_DETAILS: 'false',
};

/**
 * Tally with its request-path stages left out one by one, for the feed's rows and loadtest/stage-cost.ts: the
 * same process, configuration and query otherwise. DISABLE_STAGES is refused in production, so the rows without
 * a stage run as "test" with every production switch set as production sets it.
 */
/** Production's persisted-operations mode: Tally's rows are sent the feed by its manifest id (loadtest/operations.ts). */
const TRUSTED = { PERSISTED_OPERATIONS: 'trusted' } as const;

export const STAGE_ENVS = {
  all: { ...WITH_REDIS, ...TRUSTED },
  withoutBudget: { ...AS_PRODUCTION, ...WITH_REDIS, ...TRUSTED, DISABLE_STAGES: 'budget' },
  withoutLimitsOrBudget: { ...AS_PRODUCTION, ...WITH_REDIS, ...TRUSTED, DISABLE_STAGES: 'limits,budget' },
  // Every stage on, the trusted feed run through yoga instead of the prepared lane: what the lane saves.
  withoutLane: { ...AS_PRODUCTION, ...WITH_REDIS, ...TRUSTED, DISABLE_STAGES: 'lane' },
};

/** The feed as a client built with the manifest sends it: its id, not its text, and its variables. */
export const FEED_BY_ID = { documentId: documentIdOf('LoadFeed'), variables: { first: 20 } } as const;

const POSTGRAPHILE = 'PostGraphile v5';
const MERCURIUS = 'Mercurius (Fastify + graphql-jit + loaders)';
const TALLY_EXECUTOR = "Tally's execution alone (graphql-jit, no yoga, no stage)";

/** The feed's page as SQL says it, and Tally's global ids for its posts and authors. */
const SAME_ANSWER = { expectsNewestPosts: true, expectsTallyIds: true } as const;

/** Issue 12's targets for the feed: Tally's requests/s at least `times` a peer's, and its p99 no worse. */
function throughputGoal(peer: string, possessive: string, times: number): Goal {
  return {
    description: `Tally's requests/s ≥ ${times.toFixed(1)}× ${possessive}`,
    holds: (r) => (ratio(rps(r, 'Tally'), rps(r, peer)) ?? 0) >= times,
    detail: (r) => {
      const [tally, other] = [rps(r, 'Tally'), rps(r, peer)];
      return tally === undefined || !other ? undefined : `${tally.toFixed(0)} ÷ ${other.toFixed(0)} = ${(tally / other).toFixed(2)}×`;
    },
  };
}

/** Issue 24: Tally's CPU per request at most `times` a peer's (requests/s alone hides what the machine had left). */
function cpuGoal(peer: string, possessive: string, times: number): Goal {
  const cpu = (r: ReadonlyMap<string, Measurement>, label: string) => r.get(label)?.cpuMicrosPerRequest;
  return {
    description: `Tally's CPU per request ≤ ${times === 1 ? '' : `${times.toFixed(1)}× `}${possessive}`,
    holds: (r) => (cpu(r, 'Tally') ?? Infinity) <= times * (cpu(r, peer) ?? 0),
    detail: (r) => {
      const [tally, other] = [cpu(r, 'Tally'), cpu(r, peer)];
      return tally === undefined || !other ? undefined : `${tally.toFixed(0)} against ${other.toFixed(0)} µs = ${(tally / other).toFixed(2)}×`;
    },
  };
}

function p99Goal(peer: string, possessive: string): Goal {
  return {
    description: `Tally's p99 no worse than ${possessive}`,
    holds: (r) => (r.get('Tally')?.latencyMs.p99 ?? Infinity) <= (r.get(peer)?.latencyMs.p99 ?? 0),
    detail: (r) => {
      const [tally, other] = [r.get('Tally')?.latencyMs.p99, r.get(peer)?.latencyMs.p99];
      return tally === undefined || other === undefined ? undefined : `${tally} ms against ${other} ms`;
    },
  };
}

/** The load DESIGN.md section 6 measures with: 100 connections, 3 s of warm-up, 10 s measured. */
const DESIGN_LOAD = { connections: 100, durationSeconds: 10, warmupSeconds: 3 } as const;

const TALLY_WORKERS = 'Tally, WORKERS=2';

function feed(sizeName: 'demo' | 'load'): Scenario {
  return {
    name: 'feed',
    description: 'The 20 newest posts with their author (id, name), uncached, over the same database, one server after another.',
    size: SEED_SIZES[sizeName],
    sizeName,
    throughPgBouncer: false,
    needsRedis: true,
    ...DESIGN_LOAD,
    profiled: 'Tally',
    targets: () =>
      Promise.resolve([
        { label: 'bare node:http (1 KB JSON)', server: 'bare-http', requests: [post({})] },
        { label: 'bare node:http + pg (1 SQL)', server: 'bare-pg', requests: [post({})], ...SAME_ANSWER },
        // Tally's execution with neither yoga nor a stage: what the framework and the stages cost, by difference.
        { label: TALLY_EXECUTOR, server: 'tally-executor', requests: [post(FEED_BY_ID)], ...SAME_ANSWER },
        { label: POSTGRAPHILE, server: 'postgraphile', requests: [post({ query: NEWEST_POSTS_POSTGRAPHILE })], expectsNewestPosts: true },
        // The fastest peer, sent Tally's own document and answering it with Tally's ids.
        { label: MERCURIUS, server: 'mercurius', requests: [post({ query: NEWEST_POSTS_TALLY })], ...SAME_ANSWER },
        // Tally as production runs it: trusted mode, sent the feed by id (the same document as Mercurius' text).
        { label: 'Tally, loaders off (N+1)', server: 'tally-unbatched', requests: [post(FEED_BY_ID)], ...SAME_ANSWER },
        { label: 'Tally', server: 'tally', requests: [post(FEED_BY_ID)], ...SAME_ANSWER, env: STAGE_ENVS.all },
        // The same on one port with two processes (node:cluster), one per core of this machine.
        { label: TALLY_WORKERS, server: 'tally', requests: [post(FEED_BY_ID)], ...SAME_ANSWER, env: { ...STAGE_ENVS.all, WORKERS: '2' } },
        // What the limits and the budget cost, stage by stage (README: every stage earns its cost). Rows run one
        // after another, so their CPU per request drifts with the machine; the < 5% goal is checked side by side
        // (loadtest/stage-cost.ts).
        ...(
          [
            ['Tally, without the prepared lane (through yoga)', STAGE_ENVS.withoutLane],
            ['Tally, cost budget in-process (no Redis)', { ...TRUSTED, REDIS_URL: '' }],
            ['Tally, without the budget', STAGE_ENVS.withoutBudget],
            ['Tally, without limits or budget', STAGE_ENVS.withoutLimitsOrBudget],
          ] as const
        ).map(([label, env]) => ({ label, server: 'tally' as const, requests: [post(FEED_BY_ID)], ...SAME_ANSWER, env })),
      ]),
    // Issue 24's targets: Mercurius' requests/s on no more CPU, half PostGraphile's CPU (a requests/s ratio to
    // PostGraphile cannot reach 2 here: bare node:http + pg itself is about 2× it, the cores being shared).
    goals: [
      throughputGoal(MERCURIUS, "Mercurius'", 1),
      cpuGoal(MERCURIUS, "Mercurius'", 1),
      cpuGoal(POSTGRAPHILE, "PostGraphile's", 0.5),
      p99Goal(POSTGRAPHILE, "PostGraphile's"),
      p99Goal(MERCURIUS, "Mercurius'"),
      {
        description: 'Tally sends at most 2 SQL statements per request',
        holds: (r) => (r.get('Tally')?.sqlPerRequestTally ?? Infinity) <= 2.0001,
      },
      {
        description: "Tally's requests/s ≥ 3× Tally without loaders",
        holds: (r) => (ratio(rps(r, 'Tally'), rps(r, 'Tally, loaders off (N+1)')) ?? 0) >= 3,
      },
    ],
    notes(r) {
      const [one, two] = [r.get('Tally'), r.get(TALLY_WORKERS)];
      if (!one || !two) return [];
      return [
        `${TALLY_WORKERS} against one process: ${(two.requestsPerSecond / one.requestsPerSecond).toFixed(2)}× the requests/s (${two.requestsPerSecond.toFixed(0)} against ${one.requestsPerSecond.toFixed(0)}), p99 ${two.latencyMs.p99} against ${one.latencyMs.p99} ms, ${two.cpu.serverCores.toFixed(2)} server cores against ${one.cpu.serverCores.toFixed(2)}, RSS ${(two.rssBytes.peak / 2 ** 20).toFixed(0)} MB against ${(one.rssBytes.peak / 2 ** 20).toFixed(0)} MB (the primary and both workers). On this 2-core machine the load generator, PostgreSQL and Redis share the same two cores, so a second process can only take what they leave: ${(two.cpu.machineBusy * 100).toFixed(0)}% of the machine was busy in its row.`,
      ];
    },
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
    setupRequest(request, context) {
      const client = context as ClientContext;
      if (!keyed) return request;
      keySequence += 1;
      client.idempotencyKey = `load-${process.pid}-${keySequence}`;
      return { ...request, body: JSON.stringify({ query, variables: { input: { ...input, idempotencyKey: client.idempotencyKey } } }) };
    },
  };
}

/**
 * What a connection's context holds between its request and the response (autocannon sends one request at a time
 * per connection): the money write's idempotency key, for a scenario that checks each acknowledged one landed.
 */
export interface ClientContext {
  sequence?: readonly autocannon.Request[];
  idempotencyKey?: string | undefined;
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
      const client = context as ClientContext;
      client.sequence ??= sequences[users++ % sequences.length]!;
      client.idempotencyKey = undefined;
      const { setupRequest, ...fields } = client.sequence[step]!;
      const chosen = { ...request, ...fields };
      return typeof setupRequest === 'function' ? setupRequest(chosen, context) : chosen;
    },
  }));
}

/** The seed-challenge's data (a 2M-entry ledger at load size) and its signed-in users' traffic. */
export function seedChallengeLoad(sizeName: 'demo' | 'load') {
  const size = { ...SEED_SIZES[sizeName], ledgerEntries: SEED_SIZES[sizeName].ledgerEntries * 2 };
  const viewers = Math.min(size.users, 500);
  return {
    size,
    sizeName: `${sizeName}-2m`,
    viewers,
    /** Each connection a client in turn (asClients): four reads, then one write, the write's kind taking turns. */
    async requests(): Promise<autocannon.Request[]> {
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
      return asClients(sequences);
    },
  };
}

/** Every ledger invariant over the database after a run with writes (checkLedger). */
export async function verifyLedger(databaseUrl: string): Promise<Verdict[]> {
  const database = await openDatabase({ kind: 'postgres', url: databaseUrl, poolMax: 1, statementTimeoutMs: 600_000, connectTimeoutMs: 5_000 });
  try {
    const violations = await checkLedger(database.db);
    const detail = violations.map((violation) => `${violation.rule} (${violation.count} rows)`).join('; ');
    return [{ description: `the ledger is sound after the run (checkLedger)${detail ? `: ${detail}` : ''}`, holds: violations.length === 0 }];
  } finally {
    await database.close();
  }
}

function seedChallenge(sizeName: 'demo' | 'load'): Scenario {
  const load = seedChallengeLoad(sizeName);
  const { size, viewers } = load;
  return {
    name: 'seed-challenge',
    description: `1,000 connections, 80% reads (feed, profile, own transactions) and 20% writes (deposits, withdrawals, transfers to other users, posts) by ${viewers} signed-in users, through PgBouncer (transaction mode) with POOL_MAX=10, on a ${(size.ledgerEntries / 1e6).toFixed(0)}M-entry ledger; the ledger's invariants are checked after the run.`,
    size,
    sizeName: load.sizeName,
    throughPgBouncer: true,
    connections: 1_000,
    durationSeconds: 60,
    // At 1,000 connections V8 grows its heap to the load's working set over the first 10-20 s (RSS climbs, then
    // holds); growth is measured from there, so what the goal sees is a leak, not the heap finding its size.
    warmupSeconds: 20,
    async targets() {
      return [{ label: 'Tally', server: 'tally', requests: await load.requests() }];
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
    verify: verifyLedger,
  };
}

const POSTS_5 = '{ posts(first: 5) { edges { node { id body author { id name } } } } }';
/** 1 + 5 × (edge + post + author), README "Limits and the cost budget". */
const POSTS_5_COST = 16;
const POSTS_100 = '{ posts(first: 100) { edges { node { id body author { id name } } } } }';

/** Production's default budgets, spelled out so the report's reader sees what was limited (servers.ts sets none). */
const REAL_BUDGETS = {
  COST_BUDGET_VIEWER: '1000',
  COST_RESTORE_VIEWER: '50',
  COST_BUDGET_ANONYMOUS: '200',
  COST_RESTORE_ANONYMOUS: '10',
  MAX_COST: '1000',
};
const RESTORE_PER_SECOND = Number(REAL_BUDGETS.COST_RESTORE_VIEWER);
/** Each well-behaved client: 2 × 16 = 32 points a second, well within the 50 restored. */
const CLIENT_REQUESTS_PER_SECOND = 2;
const HAMMER_CONNECTIONS = 8;
const OTHERS_ALONE = 'others alone';
const OTHERS_WITH_HAMMER = 'others, one client hammering';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One request as the hammering viewer, outside autocannon: what a client's retry logic would see. */
async function ask(url: string, authorization: string, query: string) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify({ query }) });
  const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
  const header = (name: string) => (response.headers.get(name) === null ? undefined : Number(response.headers.get(name)));
  return {
    status: response.status,
    ok: response.status === 200 && !body.errors,
    code: body.errors?.[0]?.extensions?.code,
    retryAfter: header('retry-after'),
    remaining: header('ratelimit-remaining'),
  };
}

/**
 * Retry-After taken at its word, once the hammer has stopped: the hammering viewer asks again until refused
 * (its bucket is nearly empty, so at once), waits exactly Retry-After and asks again, which must be answered.
 * A 16-point refusal always says 1 s, so the same is done with a 301-point page, whose wait is several seconds.
 */
async function probeRetryAfter(url: string, authorization: string): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  for (const [query, cost] of [
    [POSTS_5, POSTS_5_COST],
    [POSTS_100, 301],
  ] as const) {
    let answeredFirst = 0;
    let refusal: Awaited<ReturnType<typeof ask>> | undefined;
    while (!refusal && answeredFirst < 100) {
      const answer = await ask(url, authorization, query);
      if (answer.status === 429) refusal = answer;
      else answeredFirst += 1;
    }
    const what = `the hammering viewer's ${cost}-point request after the hammer stopped`;
    if (!refusal || refusal.retryAfter === undefined || !(refusal.retryAfter >= 1)) {
      verdicts.push({ description: `${what}: ${refusal ? `refused without a Retry-After ≥ 1 (${String(refusal.retryAfter)})` : 'never refused in 100 tries'}`, holds: false });
      continue;
    }
    await sleep(refusal.retryAfter * 1000);
    const retry = await ask(url, authorization, query);
    verdicts.push({
      description: `${what}: ${answeredFirst > 0 ? `answered ${answeredFirst} times, then ` : ''}refused (${refusal.code ?? 'no code'}, RateLimit-Remaining ${String(refusal.remaining)}) with Retry-After ${refusal.retryAfter} s; exactly ${refusal.retryAfter} s later the same request was answered ${retry.status}${retry.ok ? '' : ` (${retry.code ?? 'with errors'})`}`,
      holds: retry.ok,
    });
  }
  return verdicts;
}

const hammerOf = (results: ReadonlyMap<string, Measurement>) => results.get(OTHERS_WITH_HAMMER)?.background;
const share = (part: number, whole: number) => `${((100 * part) / Math.max(1, whole)).toFixed(1)}%`;

function rateLimit(sizeName: 'demo' | 'load'): Scenario {
  const size = SEED_SIZES[sizeName];
  return {
    name: 'rate-limit',
    description: `Tally in production with the default cost budgets (a viewer: 1,000 points, ${RESTORE_PER_SECOND} restored a second) shared in Redis. The well-behaved clients are one signed-in viewer per connection, each sending ${CLIENT_REQUESTS_PER_SECOND} requests a second of \`${POSTS_5}\` (${POSTS_5_COST} points: ${CLIENT_REQUESTS_PER_SECOND * POSTS_5_COST} a second). They are measured alone, then again while one more viewer hammers the same query unpaced from ${HAMMER_CONNECTIONS} connections, from before the warm-up to the end of the measured run.`,
    size,
    sizeName,
    throughPgBouncer: false,
    needsRedis: true,
    connections: 100,
    // 30 s, not 10: at 200 requests/s a p99 of 10 s rests on its 20 slowest answers, and on these VMs a few
    // scheduling stalls of the machine's own swing that by ×0.2 to ×1.2 between two runs of the same thing.
    durationSeconds: 30,
    warmupSeconds: 4,
    async targets(_db, { connections }) {
      // The last user hammers; every other client needs a viewer of its own, or two would share one budget.
      if (connections >= size.users) throw new Error(`rate-limit: ${connections} clients need ${connections + 1} users; the ${sizeName} data has ${size.users}`);
      const tokens = await Promise.all(Array.from({ length: connections }, (_, client) => tokenFor(client + 1)));
      const hammer = `Bearer ${await tokenFor(size.users)}`;
      const paced = {
        perSecond: CLIENT_REQUESTS_PER_SECOND,
        requestsOf: (client: number) => [post({ query: POSTS_5 }, { authorization: `Bearer ${tokens[client]!}` })],
      };
      const others = { server: 'tally' as const, requests: paced.requestsOf(0), paced, env: { ...WITH_REDIS, ...REAL_BUDGETS } };
      return [
        { label: OTHERS_ALONE, ...others },
        {
          label: OTHERS_WITH_HAMMER,
          ...others,
          background: { label: 'the hammering viewer', connections: HAMMER_CONNECTIONS, requests: [post({ query: POSTS_5 }, { authorization: hammer })] },
          afterLoad: (url: string) => probeRetryAfter(url, hammer),
        },
      ];
    },
    goals: [
      {
        description: 'the hammering viewer is refused: 429 RATE_LIMITED',
        holds: (r) => {
          const hammer = hammerOf(r);
          if (!hammer) return undefined;
          const refused = hammer.refusals.filter((refusal) => refusal.status === 429);
          return refused.length > 0 && refused.every((refusal) => refusal.code === 'RATE_LIMITED');
        },
        detail: (r) => {
          const hammer = hammerOf(r);
          if (!hammer) return undefined;
          const refused = hammer.statusCounts['429'] ?? 0;
          return `${refused} of its ${hammer.totalRequests} requests in ${hammer.seconds.toFixed(1)} s (${share(refused, hammer.totalRequests)}), ${hammer.requestsPerSecond.toFixed(0)} requests/s; ${hammer.statusCounts['200'] ?? 0} answered 200`;
        },
      },
      {
        description: `every 429 says Retry-After ≥ 1 s and ≥ ⌈(${POSTS_5_COST} − RateLimit-Remaining) / ${RESTORE_PER_SECOND}⌉, for the ${POSTS_5_COST} points it asked`,
        holds: (r) => {
          const refused = hammerOf(r)?.refusals.filter((refusal) => refusal.status === 429);
          if (!refused || refused.length === 0) return undefined;
          return refused.every(
            ({ retryAfter, remaining, requestedCost }) =>
              retryAfter !== undefined &&
              remaining !== undefined &&
              requestedCost === POSTS_5_COST &&
              retryAfter >= Math.max(1, Math.ceil((POSTS_5_COST - remaining) / RESTORE_PER_SECOND)),
          );
        },
        detail: (r) => {
          const refused = hammerOf(r)?.refusals.filter((refusal) => refusal.status === 429) ?? [];
          const byRetryAfter = new Map<string, { count: number; remaining: number[] }>();
          for (const { retryAfter, remaining, count } of refused) {
            const entry = byRetryAfter.get(String(retryAfter)) ?? { count: 0, remaining: [] };
            entry.count += count;
            if (remaining !== undefined) entry.remaining.push(remaining);
            byRetryAfter.set(String(retryAfter), entry);
          }
          return [...byRetryAfter]
            .map(([retryAfter, { count, remaining }]) => `Retry-After ${retryAfter} s × ${count}, RateLimit-Remaining ${Math.min(...remaining)}–${Math.max(...remaining)}`)
            .join('; ');
        },
      },
      {
        description: "others' p99 with the hammer ≤ 1.1 × others' p99 alone",
        holds: (r) => {
          const [alone, hammered] = [r.get(OTHERS_ALONE)?.latencyMs.p99, r.get(OTHERS_WITH_HAMMER)?.latencyMs.p99];
          return alone === undefined || hammered === undefined ? undefined : hammered <= 1.1 * alone;
        },
        detail: (r) => {
          const [alone, hammered] = [r.get(OTHERS_ALONE)?.latencyMs, r.get(OTHERS_WITH_HAMMER)?.latencyMs];
          if (!alone || !hammered) return undefined;
          return `p99 ${alone.p99} ms alone, ${hammered.p99} ms with the hammer: ×${(hammered.p99 / alone.p99).toFixed(2)}; p50 ${alone.p50} → ${hammered.p50} ms`;
        },
      },
      {
        description: 'zero 5xx responses, to anyone',
        holds: (r) =>
          [...r.values()].every((m) => [m.statusCounts, m.background?.statusCounts ?? {}].every((counts) => Object.keys(counts).every((status) => !status.startsWith('5')))),
      },
      {
        description: 'the well-behaved clients get no 429, and no connection errors or timeouts',
        holds: (r) => {
          const rows = [r.get(OTHERS_ALONE), r.get(OTHERS_WITH_HAMMER)];
          return rows.every((m) => m !== undefined && (m.statusCounts['429'] ?? 0) === 0 && m.connectionErrors + m.timeouts === 0);
        },
        detail: (r) =>
          [OTHERS_ALONE, OTHERS_WITH_HAMMER]
            .map((label) => {
              const m = r.get(label);
              return m ? `${label}: ${m.statusCounts['429'] ?? 0} of ${m.totalRequests}` : undefined;
            })
            .filter(Boolean)
            .join('; '),
      },
    ],
    notes(r) {
      const [alone, hammered] = [r.get(OTHERS_ALONE), r.get(OTHERS_WITH_HAMMER)];
      const hammer = hammered?.background;
      if (!alone || !hammered || !hammer) return [];
      // requests/s is requests over the measured seconds.
      const hammerPerSecond = (hammer.duringMeasured * hammered.requestsPerSecond) / Math.max(1, hammered.totalRequests);
      const extraCores = hammered.cpu.serverCores - alone.cpu.serverCores;
      return [
        `During the measured run the hammer got ${hammerPerSecond.toFixed(0)} responses a second, nearly all 429s; the server used ${alone.cpu.serverCores.toFixed(2)} cores without it and ${hammered.cpu.serverCores.toFixed(2)} with it, ${extraCores > 0.01 ? `so one refusal costs the server about ${((extraCores * 1e6) / Math.max(1, hammerPerSecond)).toFixed(0)} µs of CPU` : 'so the refusals cost no CPU this run can tell from noise'} (the well-behaved requests alone cost ${alone.cpuMicrosPerRequest.toFixed(0)} µs each). The machine's ${cpus().length} cores were ${(alone.cpu.machineBusy * 100).toFixed(0)}% busy without the hammer and ${(hammered.cpu.machineBusy * 100).toFixed(0)}% with it; the load generator (both loads, this process) used ${alone.cpu.loadGeneratorCores.toFixed(2)} and ${hammered.cpu.loadGeneratorCores.toFixed(2)} cores.`,
      ];
    },
  };
}

/** Tally as production runs it: trusted mode (only the manifests' documents, sent by id) and Redis for the cache. */
const CACHED_GET_ENV = { ...WITH_REDIS, PERSISTED_OPERATIONS: 'trusted' };
const FEED_ID = documentIdOf('LoadFeed');
/** The persisted feed by GET, as a client built with the manifest asks for it: the URL is the cache's key. */
const FEED_BY_GET: autocannon.Request = { method: 'GET', path: `/graphql?documentId=${FEED_ID}`, headers: { accept: 'application/json' } };

const BARE_HTTP = 'bare node:http (1 KB JSON)';
const CACHED = 'Tally, cached GET by documentId';
const CACHED_GZIP = 'Tally, cached GET by documentId, Accept-Encoding: gzip';
/** The same GET from a client that takes gzip (every browser, every mobile HTTP stack). */
const FEED_BY_GET_GZIP: autocannon.Request = { ...FEED_BY_GET, headers: { ...FEED_BY_GET.headers, 'accept-encoding': 'gzip' } };
const UNCACHED = 'Tally, uncached POST by documentId';
const STAMPEDE_ROW = 'Tally, cached GET, stampede';

/**
 * The stampede: 500 connections on the one cached key, which the runner drops 3 times with a write (a post, which
 * drops every cached newest-posts answer) and counts, over a window after each, the answers GraphQL ran and the SQL
 * it sent for the feed. Each drop is what a hot key's expiry is, made to happen at a known moment.
 */
const STAMPEDE = { connections: 500, drops: 3, gapSeconds: 1, windowSeconds: 3 } as const;
/** The drops' gaps and windows, and 2 s more: the last window's figures are read while the load still runs. */
const STAMPEDE_SECONDS = STAMPEDE.drops * (STAMPEDE.gapSeconds + STAMPEDE.windowSeconds) + 2;

/** How the stampede's posts begin, so the run removes them again (verify). */
const STAMPEDE_POSTS = 'cached-get stampede: ';

async function dropUnderLoad(url: string, endsAt: number, authorization: string): Promise<CacheDrop[]> {
  const started = performance.now();
  const feedUrl = new URL(FEED_BY_GET.path!, url);
  const drops: CacheDrop[] = [];
  for (let drop = 1; drop <= STAMPEDE.drops; drop += 1) {
    await sleep(STAMPEDE.gapSeconds * 1000);
    const before = await tallyMetrics(url);
    const sentAt = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ documentId: documentIdOf('LoadCreatePost'), variables: { input: { body: `${STAMPEDE_POSTS}drop ${drop} of ${STAMPEDE.drops}` } } }),
    });
    const written = (await response.json()) as { data?: { createPost?: { post?: { id: string } | null } } };
    const postId = written.data?.createPost?.post?.id;
    if (!postId) throw new Error(`the stampede's createPost answered ${response.status}: ${JSON.stringify(written).slice(0, 300)}`);
    const writeMs = performance.now() - sentAt;
    await sleep(sentAt + STAMPEDE.windowSeconds * 1000 - performance.now());
    const after = await tallyMetrics(url);
    const windowEnd = performance.now();
    const delta = (name: string, labels: Record<string, string> = {}) => sumOf(after, name, labels) - sumOf(before, name, labels);
    const next = await (await fetch(feedUrl, { headers: { accept: 'application/json' } })).text();
    drops.push({
      atSecond: (sentAt - started) / 1000,
      writeMs,
      entriesDropped: delta('tally_response_cache_invalidations_total'),
      windowSeconds: (windowEnd - sentAt) / 1000,
      misses: delta('tally_response_cache_requests_total', { result: 'miss' }),
      hits: delta('tally_response_cache_requests_total', { result: 'hit' }),
      sqlStatements: delta('tally_sql_statements_per_request_sum', { operation: 'LoadFeed' }),
      underLoad: windowEnd < endsAt,
      answerHoldsWrite: next.includes(JSON.stringify(postId)),
    });
  }
  return drops;
}

/** Where Tally keeps cached answers in Redis (tests use prefixes of their own). */
const RESPONSE_CACHE_PREFIX = keyPrefixes().responses;

/**
 * Every Tally on one Redis shares its response cache, whatever database it serves: a run on the demo data would
 * be handed the load data's kept feed for up to its 60 s. Each run starts with none, so the first GET of each row's
 * answer check is a miss that really runs against this run's data.
 */
async function emptyResponseCache(): Promise<string> {
  const redis = new Redis(WITH_REDIS.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const removed = await unlinkByPrefix(redis, RESPONSE_CACHE_PREFIX);
    return `emptied the response cache in Redis (${removed} keys of ${RESPONSE_CACHE_PREFIX}*)`;
  } finally {
    redis.disconnect();
  }
}

const cacheOf = (results: ReadonlyMap<string, Measurement>, label: string) => results.get(label)?.responseCache;
const percent = (fraction: number | undefined, digits = 1) => (fraction === undefined ? '–' : `${(100 * fraction).toFixed(digits)}%`);

function cachedGet(sizeName: 'demo' | 'load'): Scenario {
  return {
    name: 'cached-get',
    description: `The 20 newest posts with their author, as a persisted operation (LoadFeed, loadtest/operations.ts) run by id in trusted mode, Redis on, as production: by GET, answered from the response cache, against the ceiling of bare node:http (sent the same GET) and against the same operation by POST, which is never cached. Then the stampede: ${STAMPEDE.connections} connections on the one cached GET for ${STAMPEDE_SECONDS} s while the runner drops its answer ${STAMPEDE.drops} times (a createPost by a signed-in user), counting after each drop, over ${STAMPEDE.windowSeconds} s, the answers GraphQL ran (misses) and the SQL statements it sent for LoadFeed.`,
    size: SEED_SIZES[sizeName],
    sizeName,
    throughPgBouncer: false,
    needsRedis: true,
    ...DESIGN_LOAD,
    prepare: emptyResponseCache,
    async verify(databaseUrl) {
      // The stampede's posts go again: every scenario measures the data set as seeded (the feed's newest 20 posts
      // and the N+1 baseline's 20 authors among them), however many runs came before.
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const { rowCount } = await client.query('delete from posts where body like $1', [`${STAMPEDE_POSTS}%`]);
        return [{ description: `the stampede's posts are removed again (${rowCount ?? 0}), leaving the data set as seeded`, holds: (rowCount ?? 0) >= STAMPEDE.drops }];
      } finally {
        await client.end();
      }
    },
    async targets() {
      const authorization = `Bearer ${await tokenFor(2)}`;
      const tally = { server: 'tally' as const, expectsNewestPosts: true, env: CACHED_GET_ENV };
      return [
        { label: BARE_HTTP, server: 'bare-http', requests: [FEED_BY_GET] },
        { label: CACHED, ...tally, requests: [FEED_BY_GET] },
        { label: CACHED_GZIP, ...tally, requests: [FEED_BY_GET_GZIP] },
        { label: UNCACHED, ...tally, requests: [post({ documentId: FEED_ID })] },
        {
          label: STAMPEDE_ROW,
          ...tally,
          requests: [FEED_BY_GET],
          connections: STAMPEDE.connections,
          durationSeconds: STAMPEDE_SECONDS,
          duringLoad: (url: string, endsAt: number) => dropUnderLoad(url, endsAt, authorization),
        },
      ];
    },
    goals: [
      {
        description: "the cached GET's requests/s ≥ 0.40 × bare node:http's",
        holds: (r) => {
          const share = ratio(rps(r, CACHED), rps(r, BARE_HTTP));
          return share === undefined ? undefined : share >= 0.4;
        },
        detail: (r) => {
          const [cached, bare, uncached] = [rps(r, CACHED), rps(r, BARE_HTTP), rps(r, UNCACHED)];
          if (cached === undefined || bare === undefined) return undefined;
          return `${cached.toFixed(0)} ÷ ${bare.toFixed(0)} = ${(cached / bare).toFixed(2)}${uncached ? `; ×${(cached / uncached).toFixed(1)} the uncached POST's ${uncached.toFixed(0)}` : ''}`;
        },
      },
      {
        description: "with Accept-Encoding: gzip, a hit is served from kept coded bytes at the uncoded hit's rate (≥ 0.9×, rows one after another)",
        holds: (r) => {
          const share = ratio(rps(r, CACHED_GZIP), rps(r, CACHED));
          return share === undefined ? undefined : share >= 0.9;
        },
        detail: (r) => {
          const [gzip, plain] = [r.get(CACHED_GZIP), r.get(CACHED)];
          if (!gzip || !plain) return undefined;
          return `${gzip.requestsPerSecond.toFixed(0)} ÷ ${plain.requestsPerSecond.toFixed(0)} = ${(gzip.requestsPerSecond / plain.requestsPerSecond).toFixed(2)}×; ${gzip.bytesPerResponse.toFixed(0)} against ${plain.bytesPerResponse.toFixed(0)} bytes a response on the wire`;
        },
      },
      {
        description: "the cached GET's hit rate > 95% (hits and 304s over every cacheable GET, from /metrics over the measured run)",
        holds: (r) => {
          const rate = hitRate(cacheOf(r, CACHED));
          return rate === undefined ? undefined : rate > 0.95;
        },
        detail: (r) => {
          const cache = cacheOf(r, CACHED);
          return cache && `${percent(hitRate(cache), 2)}: ${cache.hits} hits, ${cache.notModified} 304s, ${cache.misses} misses`;
        },
      },
      {
        description: `each drop of the hot key under ${STAMPEDE.connections} connections sends one query to PostgreSQL: one miss, one SQL statement for LoadFeed`,
        holds: (r) => {
          const drops = r.get(STAMPEDE_ROW)?.drops;
          if (!drops) return undefined;
          return drops.length === STAMPEDE.drops && drops.every((drop) => drop.underLoad && drop.entriesDropped > 0 && drop.misses === 1 && drop.sqlStatements === 1);
        },
        detail: (r) =>
          r
            .get(STAMPEDE_ROW)
            ?.drops?.map((drop, i) => `drop ${i + 1}: ${drop.misses} miss${drop.misses === 1 ? '' : 'es'}, ${drop.sqlStatements} statement${drop.sqlStatements === 1 ? '' : 's'}${drop.underLoad ? '' : ' (window outlasted the load)'}`)
            .join('; '),
      },
      {
        description: 'after each drop the cached answer holds the new post',
        holds: (r) => {
          const drops = r.get(STAMPEDE_ROW)?.drops;
          return drops ? drops.length > 0 && drops.every((drop) => drop.answerHoldsWrite) : undefined;
        },
      },
      {
        description: 'zero connection errors, timeouts and non-2xx on every Tally row',
        holds: (r) => [CACHED, CACHED_GZIP, UNCACHED, STAMPEDE_ROW].every((label) => {
          const m = r.get(label);
          return m !== undefined && m.connectionErrors + m.timeouts + m.non2xx === 0;
        }),
      },
    ],
    notes(r) {
      const [cached, gzip, uncached] = [r.get(CACHED), r.get(CACHED_GZIP), r.get(UNCACHED)];
      if (!cached || !uncached) return [];
      return [
        ...(gzip
          ? [
              `Bytes on the wire per response (head and body): the cached GET ${cached.bytesPerResponse.toFixed(0)} uncoded, ${gzip.bytesPerResponse.toFixed(0)} with Accept-Encoding: gzip (×${(cached.bytesPerResponse / Math.max(1, gzip.bytesPerResponse)).toFixed(1)} smaller), at ${gzip.cpuMicrosPerRequest.toFixed(0)} against ${cached.cpuMicrosPerRequest.toFixed(0)} µs of CPU a request: the coded bytes are kept per answer (src/cache/coded-answers.ts), not coded per hit.`,
            ]
          : []),
        `The cache spared the feed's work: the cached GET cost the server ${cached.cpuMicrosPerRequest.toFixed(0)} µs of CPU a request, the uncached POST ${uncached.cpuMicrosPerRequest.toFixed(0)} µs (×${(uncached.cpuMicrosPerRequest / Math.max(1, cached.cpuMicrosPerRequest)).toFixed(1)}); the load generator (this process) used ${cached.cpu.loadGeneratorCores.toFixed(2)} of the machine's ${cpus().length} cores beside the cached GET, ${(cached.cpu.machineBusy * 100).toFixed(0)}% of the machine busy.`,
      ];
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
    case 'rate-limit':
      return rateLimit(sizeName);
    case 'cached-get':
      return cachedGet(sizeName);
    case 'faults':
      return faults(sizeName);
    default:
      throw new Error(`unknown scenario "${name}": choose feed, deep-page, seed-challenge, rate-limit, cached-get or faults`);
  }
}

/**
 * The money mutations under concurrency, through the server: many requests in flight at once, each money operation
 * under its own idempotency key, retried, raced and reused, and then the database is read back to prove every
 * accepted key moved money exactly once and every balance is what the accepted responses imply, to the cent.
 *
 * On PGlite the requests are serialized by its single connection (nothing truly races there, so
 * IDEMPOTENCY_KEY_IN_PROGRESS never shows); run with DATABASE_URL (PostgreSQL, or PgBouncer in transaction mode)
 * for real contention on the pool's 10 connections.
 *
 * Random choices come from a seeded PRNG: LEDGER_SEED=<n> replays a failing run's operations (the order in which
 * concurrent requests reach the database still varies). LEDGER_STATS=1 prints a line of counts per test.
 */
import { isDeepStrictEqual } from 'node:util';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { and, inArray, isNotNull, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accounts, idempotencyKeys, transactions, type TransactionRow, type UserRow } from '../../src/db/schema.js';
import { checkLedger } from '../../src/ledger/check-ledger.js';
import { requestHash } from '../../src/ledger/idempotency.js';
import { globalId, withCost } from '../helpers/assertions.js';
import { createUsers } from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SEED = Number(process.env['LEDGER_SEED'] ?? 0x7a11e5);
const STATS = Boolean(process.env['LEDGER_STATS']);
const WORKERS = 50;

/** Every typed error these tests may see; anything else (or a GraphQL error) is a failure. */
const KEY_CODES = new Set(['IDEMPOTENCY_KEY_IN_PROGRESS', 'IDEMPOTENCY_KEY_REUSED']);
const EXPECTED_CODES = new Set(['INSUFFICIENT_FUNDS', ...KEY_CODES]);

// ------------------------------------------------------------------------------------------------ randomness

/** mulberry32: a tiny seeded PRNG, so a failing run's operations can be replayed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomness(salt: number) {
  const next = mulberry32(SEED ^ salt);
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!,
  };
}
type Random = ReturnType<typeof randomness>;

// ------------------------------------------------------------------------------------------------ money text

/** Minor units (cents) as the API writes them: "12.34", "-0.05". */
function centsText(cents: bigint): string {
  const abs = cents < 0n ? -cents : cents;
  return `${cents < 0n ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** The API's "12.34" / "-0.05" back into cents, exactly. */
function parseCents(text: string): bigint {
  const match = /^(-?)(\d+)\.(\d{2})$/.exec(text);
  if (!match) throw new Error(`not a USD amount: ${text}`);
  const value = BigInt(match[2]!) * 100n + BigInt(match[3]!);
  return match[1] ? -value : value;
}

/** Every way a client may spell a positive amount of cents ("5.00", "5.0", "5"): all the same parameters. */
function spellings(cents: bigint): string[] {
  const text = centsText(cents);
  const forms = [text];
  if (text.endsWith('0')) forms.push(text.slice(0, -1));
  if (text.endsWith('.00')) forms.push(text.slice(0, -3));
  return forms;
}

// ------------------------------------------------------------------------------------------------ the client

type Kind = 'deposit' | 'withdraw' | 'transfer';

interface Movement {
  readonly kind: Kind;
  /** The viewer, who owns the key. */
  readonly userId: number;
  readonly toUserId?: number;
  readonly cents: bigint;
  readonly description: string;
}

interface MoneyPayload {
  entry: { id: string; kind: string; amount: { amount: string }; balanceAfter: { amount: string } } | null;
  viewer: { balance: { amount: string } | null } | null;
  errors: { code: string; message: string; field: string[] | null }[];
}

interface Reply {
  readonly status: number;
  readonly payload: MoneyPayload | null;
  /** Top-level GraphQL errors: never expected here. */
  readonly graphqlErrors: readonly unknown[];
  /** The request threw instead of answering. */
  readonly thrown?: string;
}

const PAYLOAD = 'entry { id kind amount { amount } balanceAfter { amount } } viewer { balance { amount } } errors { code message field }';
const DOCUMENTS: Record<Kind, string> = {
  deposit: `mutation Deposit($input: DepositInput!) { deposit(input: $input) { ${PAYLOAD} } }`,
  withdraw: `mutation Withdraw($input: WithdrawInput!) { withdraw(input: $input) { ${PAYLOAD} } }`,
  transfer: `mutation Transfer($input: TransferInput!) { transfer(input: $input) { ${PAYLOAD} } }`,
};

/** The parameters the server hashes for a key (src/schema/money-mutations.ts), to check what it stored. */
function hashOf(movement: Movement): string {
  return requestHash(movement.kind, {
    amount: movement.cents.toString(),
    currency: 'USD',
    description: movement.description,
    ...(movement.kind === 'transfer' ? { to: String(movement.toUserId) } : {}),
  });
}

/** The first typed error code of a reply, or undefined when it moved money (or has no payload). */
const codeOf = (reply: Reply): string | undefined => reply.payload?.errors[0]?.code;

/** What a retry must replay identically: the entry and the errors (`viewer` is "as it is now", by design). */
const outcomeOf = (reply: Reply) => ({ entry: reply.payload?.entry ?? null, errors: reply.payload?.errors ?? null });

function decodeEntryId(id: string): number {
  const decoded = decodeGlobalID(id);
  if (decoded.typename !== 'Transaction') throw new Error(`not a Transaction ID: ${id}`);
  return Number(decoded.id);
}

let server: TestServer;
/** Error log lines of the server: the causes (SQLSTATE included) of any masked internal error. */
const errorLog: string[] = [];
const tokens = new Map<number, string>();

beforeAll(async () => {
  server = await startTestServer({}, pino({ level: 'error' }, { write: (line: string) => void errorLog.push(line) }));
});
afterAll(() => server?.close());
// Each test's failure message shows only the causes logged during that test.
beforeEach(() => {
  errorLog.length = 0;
});

async function tokensFor(users: readonly UserRow[]): Promise<void> {
  for (const user of users) tokens.set(user.id, `Bearer ${await server.tokenFor(user.id, '1h')}`);
}

/** Sends one money mutation; the key goes in the input or, with via 'header', only in the Idempotency-Key header. */
async function send(movement: Movement, key: string, options: { amount?: string; via?: 'input' | 'header' } = {}): Promise<Reply> {
  const input: Record<string, unknown> = {
    amount: options.amount ?? centsText(movement.cents),
    currency: 'USD',
    description: movement.description,
    ...(options.via === 'header' ? {} : { idempotencyKey: key }),
    ...(movement.kind === 'transfer' ? { to: globalId('User', movement.toUserId!) } : {}),
  };
  try {
    const response = await server.graphql<Record<Kind, MoneyPayload>>(DOCUMENTS[movement.kind], {
      variables: { input },
      authorization: tokens.get(movement.userId)!,
      ...(options.via === 'header' ? { headers: { 'idempotency-key': key } } : {}),
    });
    return { status: response.status, payload: response.body.data?.[movement.kind] ?? null, graphqlErrors: response.body.errors ?? [] };
  } catch (error) {
    return { status: 0, payload: null, graphqlErrors: [], thrown: String(error) };
  }
}

/** Runs tasks on `workers` concurrent workers, each taking the next task as soon as it is done with one. */
async function runPool(tasks: readonly (() => Promise<unknown>)[], workers = WORKERS): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next]!;
      next += 1;
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, tasks.length) }, worker));
}

/**
 * What is wrong with a reply on its own: an HTTP status of 500 or more (or anything but 200), a GraphQL error, a
 * thrown request, a code outside `allowed`, an entry and errors together or neither.
 */
function replyProblems(reply: Reply, allowed: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  if (reply.thrown !== undefined) problems.push(`request threw: ${reply.thrown}`);
  if (reply.status >= 500) problems.push(`HTTP ${reply.status}`);
  else if (reply.status !== 200 && reply.thrown === undefined) problems.push(`HTTP ${reply.status} (expected 200)`);
  if (reply.graphqlErrors.length > 0) problems.push(`GraphQL errors: ${JSON.stringify(reply.graphqlErrors)}`);
  if (!reply.payload) {
    if (reply.thrown === undefined && reply.graphqlErrors.length === 0) problems.push('no payload');
    return problems;
  }
  const { entry, errors } = reply.payload;
  for (const error of errors) if (!allowed.has(error.code)) problems.push(`unexpected error ${error.code}: ${error.message}`);
  if (errors.length > 1) problems.push(`${errors.length} errors: ${JSON.stringify(errors)}`);
  if ((entry === null) === (errors.length === 0)) problems.push(`entry and errors disagree: ${JSON.stringify(reply.payload)}`);
  return problems;
}

/** The causes of the masked internal errors the server logged, each once with its SQLSTATE and how often. */
function errorCauses(): string {
  const causes = new Map<string, number>();
  for (const line of errorLog) {
    let cause = line.trim();
    try {
      const { err } = JSON.parse(line) as { err?: { type?: string; message?: string; code?: string; sql?: string } };
      const message = (err?.message ?? '').split('\n')[0]!.slice(0, 200);
      if (err) cause = `${err.type ?? 'Error'}${err.code ? ` SQLSTATE ${err.code}` : ''}: ${message}${err.sql ? ` [${err.sql.slice(0, 120)}]` : ''}`;
    } catch {
      // Not JSON: shown as it is.
    }
    causes.set(cause, (causes.get(cause) ?? 0) + 1);
  }
  return [...causes].map(([cause, count]) => `  ${count}× ${cause}`).join('\n');
}

/** Fails with every problem listed, the seed and the causes the server logged (a masked error's SQLSTATE). */
function expectNoProblems(problems: readonly string[], what: string): void {
  const shown = problems.slice(0, 30);
  const more = problems.length > shown.length ? `\n…and ${problems.length - shown.length} more` : '';
  const log = errorLog.length > 0 ? `\nserver error log (${errorLog.length} lines), by cause:\n${errorCauses()}` : '';
  expect(problems, `${what} (LEDGER_SEED=${SEED}):\n${shown.join('\n')}${more}${log}`).toEqual([]);
}

/**
 * Database transactions the money mutations began since the last `server.statements.reset()`: each attempt takes the
 * key's advisory lock first (src/ledger/idempotency.ts), and a deadlock or serialization failure is retried there
 * without the client seeing it. More attempts than requests means some were retried.
 */
const attempts = () => server.statements.log.filter((statement) => statement.includes('pg_try_advisory_xact_lock')).length;

async function expectSoundLedger(): Promise<void> {
  expect(await checkLedger(server.database.db)).toEqual([]);
}

async function balancesOf(userIds: readonly number[]): Promise<Map<number, bigint>> {
  const rows = await server.database.db
    .select({ userId: accounts.userId, balance: accounts.balance })
    .from(accounts)
    .where(inArray(accounts.userId, [...userIds]));
  return new Map(rows.map((row) => [row.userId, row.balance]));
}

async function entriesOf(userIds: readonly number[]): Promise<TransactionRow[]> {
  return server.database.db
    .select()
    .from(transactions)
    .where(inArray(transactions.userId, [...userIds]))
    .orderBy(transactions.id);
}

/** New users, each with an opening deposit of `openings[i]` cents made through the API (the ledger stays sound). */
async function fundedUsers(openings: readonly bigint[], label: string): Promise<UserRow[]> {
  const users = await createUsers(server.database.db, openings.length);
  await tokensFor(users);
  const replies = await Promise.all(
    users.map((user, i) => send({ kind: 'deposit', userId: user.id, cents: openings[i]!, description: 'opening' }, `${label}-open-${user.id}`)),
  );
  expectNoProblems(
    replies.flatMap((reply) => [...replyProblems(reply, new Set()), ...(reply.payload?.entry ? [] : ['opening deposit failed'])]),
    'opening deposits',
  );
  return users;
}

// ------------------------------------------------------------------------------------------------ 1. retry storm

/** One idempotency key of the storm: its first parameters, and for a reused key, the other ones sent with it. */
interface KeyPlan {
  readonly key: string;
  /** variants[0] is the operation; variants[1], if any, reuses its key with other parameters. */
  readonly variants: readonly Movement[];
  /** How many requests carry this key (all variants). */
  sends: number;
}

interface Sent {
  readonly key: string;
  readonly variant: number;
  /** Logical clock when the request left and when its answer arrived. */
  readonly start: number;
  readonly end: number;
  readonly reply: Reply;
}

/** A key's requests as `variant@start..end:answer`, in the order they were sent; `marked` gets a star. */
function timeline(sends: readonly Sent[], marked?: Sent): string {
  return [...sends]
    .sort((x, y) => x.start - y.start)
    .map((one) => `${one === marked ? '*' : ''}v${one.variant}@${one.start}..${one.end}:${codeOf(one.reply) ?? 'entry'}`)
    .join(' ');
}

/** Requests of the storm sent after their key's outcome had been answered, and what was wrong with their answers. */
let stormAfterSettled: { requests: number; problems: string[] } | undefined;

const STORM_USERS = 20;
const STORM_OPERATIONS = 2_000;
/** How far (in queue positions) a retry sent on its own may trail its first request. */
const SPREAD = 150;

/** Another set of parameters for the same key: a different amount, description, kind or recipient. */
function otherParameters(random: Random, movement: Movement, userIds: readonly number[]): Movement {
  const changes = ['amount', 'description', 'kind', ...(movement.kind === 'transfer' ? ['to'] : [])];
  switch (random.pick(changes)) {
    case 'amount':
      return { ...movement, cents: movement.cents + BigInt(random.int(1, 500)) };
    case 'description':
      return { ...movement, description: `${movement.description} (edited)` };
    case 'to': {
      const others = userIds.filter((id) => id !== movement.userId && id !== movement.toUserId);
      return { ...movement, toUserId: random.pick(others) };
    }
    default:
      // The same amount and description under another operation (a transfer's key reused for a deposit).
      return { kind: movement.kind === 'deposit' ? 'withdraw' : 'deposit', userId: movement.userId, cents: movement.cents, description: movement.description };
  }
}

describe('money mutations under concurrency', () => {
  it(
    `retry storm: ${STORM_OPERATIONS} random operations from ${WORKERS} concurrent clients, each key sent 1 to 3 times, ~5% reused with other parameters`,
    async () => {
      const random = randomness(1);
      const started = performance.now();
      const openings = Array.from({ length: STORM_USERS }, () => BigInt(random.int(20_000, 100_000)));
      const users = await fundedUsers(openings, 'storm');
      const userIds = users.map((user) => user.id);

      // Drawn while requests run, in whatever order they run: a PRNG of its own keeps the plan's draws replayable.
      const spelling = randomness(11);
      let clock = 0;
      const sent: Sent[] = [];
      const plans: KeyPlan[] = [];
      const fire = (plan: KeyPlan, variant: number) => async () => {
        const movement = plan.variants[variant]!;
        const start = ++clock;
        // A retry may spell the amount differently ("5" for "5.00"): the same parameters all the same.
        const reply = await send(movement, plan.key, { amount: spelling.pick(spellings(movement.cents)) });
        sent.push({ key: plan.key, variant, start, end: ++clock, reply });
      };

      // The operations, and the tasks that send them: `order` places a task in the queue (retries sent on their
      // own trail their first request by a random distance); `late` tasks run after the whole storm.
      const queued: { order: number; run: () => Promise<unknown> }[] = [];
      const late: (() => Promise<unknown>)[] = [];
      const modes = { burst: 0, sequential: 0, spread: 0, late: 0, reused: 0 };
      for (let i = 0; i < STORM_OPERATIONS; i += 1) {
        const userId = random.pick(userIds);
        const roll = random.next();
        const kind: Kind = roll < 0.5 ? 'transfer' : roll < 0.75 ? 'deposit' : 'withdraw';
        const movement: Movement = {
          kind,
          userId,
          cents: BigInt(random.int(1, kind === 'deposit' ? 50_000 : 30_000)),
          description: `storm ${i}`,
          ...(kind === 'transfer' ? { toUserId: random.pick(userIds.filter((id) => id !== userId)) } : {}),
        };
        const reused = random.chance(0.05);
        const plan: KeyPlan = {
          key: `storm-${i}`,
          variants: reused ? [movement, otherParameters(random, movement, userIds)] : [movement],
          sends: 0,
        };
        plans.push(plan);

        const copies = random.int(1, 3);
        plan.sends = copies + (reused ? 1 : 0);
        const mode = copies === 1 ? 'single' : random.pick(['burst', 'sequential', 'spread', 'late'] as const);
        if (mode !== 'single') modes[mode] += 1;
        let first: () => Promise<unknown> = fire(plan, 0);
        if (mode === 'burst') {
          first = () => Promise.all(Array.from({ length: copies }, () => fire(plan, 0)()));
        } else if (mode === 'sequential') {
          first = async () => {
            for (let copy = 0; copy < copies; copy += 1) await fire(plan, 0)();
          };
        } else {
          for (let copy = 1; copy < copies; copy += 1) {
            if (mode === 'spread') queued.push({ order: i + random.next() * SPREAD, run: fire(plan, 0) });
            else late.push(fire(plan, 0));
          }
        }
        if (reused) {
          modes.reused += 1;
          const when = random.pick(['after', 'together', 'spread', 'late'] as const);
          const original = first;
          if (when === 'after') {
            first = async () => {
              await original();
              await fire(plan, 1)();
            };
          } else if (when === 'together') {
            first = () => Promise.all([original(), fire(plan, 1)()]);
          } else if (when === 'spread') {
            queued.push({ order: i + random.next() * SPREAD, run: fire(plan, 1) });
          } else {
            late.push(fire(plan, 1));
          }
        }
        queued.push({ order: i, run: first });
      }
      queued.sort((a, b) => a.order - b.order);
      // The late retries in a shuffled order (Fisher-Yates).
      for (let i = late.length - 1; i > 0; i -= 1) {
        const j = random.int(0, i);
        [late[i], late[j]] = [late[j]!, late[i]!];
      }

      const stormStarted = performance.now();
      server.statements.reset();
      await runPool(queued.map((task) => task.run));
      await runPool(late);
      const stormMs = performance.now() - stormStarted;
      const transactionsBegun = attempts();

      // ---- every reply on its own
      const problems: string[] = [];
      for (const { key, variant, reply } of sent) {
        for (const problem of replyProblems(reply, EXPECTED_CODES)) problems.push(`${key} (variant ${variant}): ${problem}`);
      }
      expectNoProblems(problems, 'replies with errors other than the expected typed ones');

      // ---- every key: one outcome, replayed identically; other parameters refused
      const afterSettled = { requests: 0, problems: [] as string[] };
      stormAfterSettled = afterSettled;
      const byKey = new Map<string, Sent[]>();
      for (const one of sent) byKey.set(one.key, [...(byKey.get(one.key) ?? []), one]);
      /** The outcome each key settled on: the variant that won it and its (first) definitive reply. */
      const settled = new Map<string, { variant: number; reply: Reply }>();
      for (const plan of plans) {
        const sends = byKey.get(plan.key) ?? [];
        if (sends.length !== plan.sends) problems.push(`${plan.key}: ${sends.length} replies for ${plan.sends} requests`);
        const definitive = sends.filter((one) => !KEY_CODES.has(codeOf(one.reply) ?? ''));
        if (definitive.length === 0) {
          problems.push(`${plan.key}: no request got an outcome: ${JSON.stringify(sends.map((one) => codeOf(one.reply)))}`);
          continue;
        }
        const winner = definitive[0]!;
        settled.set(plan.key, { variant: winner.variant, reply: winner.reply });
        for (const one of definitive) {
          if (one.variant !== winner.variant) {
            problems.push(`${plan.key}: both parameter sets got an outcome (variants ${winner.variant} and ${one.variant})`);
          } else if (!isDeepStrictEqual(outcomeOf(one.reply), outcomeOf(winner.reply))) {
            problems.push(`${plan.key}: a retry did not replay the outcome: ${JSON.stringify(outcomeOf(winner.reply))} then ${JSON.stringify(outcomeOf(one.reply))}`);
          }
        }
        const firstAnswered = Math.min(...definitive.map((one) => one.end));
        for (const one of sends) {
          const code = codeOf(one.reply);
          if (one.variant !== winner.variant && !KEY_CODES.has(code ?? '')) {
            problems.push(`${plan.key}: other parameters (variant ${one.variant}) got ${code ?? 'an entry'}, not IDEMPOTENCY_KEY_REUSED`);
          }
          if (one.variant === winner.variant && code === 'IDEMPOTENCY_KEY_REUSED') {
            problems.push(`${plan.key}: the key's own parameters (variant ${one.variant}) got IDEMPOTENCY_KEY_REUSED`);
          }
          // A request sent after an outcome was answered finds that outcome committed: its replay, or REUSED for
          // other parameters, never "in progress" (checked by the next test, so this one's verdict stands alone).
          if (one.start > firstAnswered) {
            afterSettled.requests += 1;
            const want = one.variant === winner.variant ? 'a replay' : 'IDEMPOTENCY_KEY_REUSED';
            if (code === 'IDEMPOTENCY_KEY_IN_PROGRESS') afterSettled.problems.push(`${plan.key}: ${want} expected, got IDEMPOTENCY_KEY_IN_PROGRESS; ${timeline(sends, one)}`);
          }
        }
        // A movement into the account cannot be refused: only withdrawals and transfers may lack the funds.
        const movement = plan.variants[winner.variant]!;
        if (movement.kind === 'deposit' && !winner.reply.payload?.entry) problems.push(`${plan.key}: a deposit was refused: ${codeOf(winner.reply)}`);
      }
      expectNoProblems(problems, 'idempotency keys answered inconsistently');

      // ---- the database: exactly one effect per accepted key, none for a refused one
      const db = server.database.db;
      const entries = await entriesOf(userIds);
      // A transfer's key is on the sender's entry; the recipient's side is found by the transfer id it shares.
      const keyOfTransfer = new Map(entries.filter((entry) => entry.transferId !== null && entry.idempotencyKey !== null).map((entry) => [entry.transferId, entry.idempotencyKey]));
      const entriesByKey = new Map<string, TransactionRow[]>();
      for (const entry of entries) {
        const key = entry.idempotencyKey ?? keyOfTransfer.get(entry.transferId) ?? '(no key)';
        entriesByKey.set(key, [...(entriesByKey.get(key) ?? []), entry]);
      }
      const expected = new Map<number, bigint>(users.map((user, i) => [user.id, openings[i]!]));
      let impliedNet = openings.reduce((sum, cents) => sum + cents, 0n);
      const accepted = { deposit: 0, withdraw: 0, transfer: 0 };
      let insufficient = 0;
      for (const plan of plans) {
        const outcome = settled.get(plan.key);
        if (!outcome) continue;
        const movement = plan.variants[outcome.variant]!;
        const rows = entriesByKey.get(plan.key) ?? [];
        entriesByKey.delete(plan.key);
        const entry = outcome.reply.payload?.entry;
        if (!entry) {
          insufficient += 1;
          if (rows.length > 0) problems.push(`${plan.key}: refused (${codeOf(outcome.reply)}) yet wrote ${rows.length} entries`);
          continue;
        }
        accepted[movement.kind] += 1;
        const shape = rows.map((row) => `${row.userId}:${row.kind}:${row.amount}`).sort();
        const { userId, cents } = movement;
        const want =
          movement.kind === 'deposit'
            ? [`${userId}:DEPOSIT:${cents}`]
            : movement.kind === 'withdraw'
              ? [`${userId}:WITHDRAWAL:${-cents}`]
              : [`${userId}:TRANSFER_OUT:${-cents}`, `${movement.toUserId}:TRANSFER_IN:${cents}`].sort();
        if (!isDeepStrictEqual(shape, want)) {
          problems.push(`${plan.key}: entries ${JSON.stringify(shape)}, expected ${JSON.stringify(want)}`);
          continue;
        }
        if (movement.kind === 'transfer' && rows[0]!.transferId !== rows[1]!.transferId) problems.push(`${plan.key}: the two sides have different transfer ids`);
        // The reply names the viewer's own entry, as written.
        const own = rows.find((row) => row.userId === userId)!;
        if (decodeEntryId(entry.id) !== own.id) problems.push(`${plan.key}: the reply's entry ${entry.id} is not entry ${own.id}`);
        if (parseCents(entry.amount.amount) !== own.amount) problems.push(`${plan.key}: the reply's amount ${entry.amount.amount} is not ${own.amount}`);
        if (parseCents(entry.balanceAfter.amount) !== own.balanceAfter) {
          problems.push(`${plan.key}: the reply's balanceAfter ${entry.balanceAfter.amount} is not the entry's ${own.balanceAfter}`);
        }
        const signed = movement.kind === 'deposit' ? cents : -cents;
        expected.set(userId, expected.get(userId)! + signed);
        if (movement.kind === 'transfer') expected.set(movement.toUserId!, expected.get(movement.toUserId!)! + cents);
        else impliedNet += signed;
      }
      for (const user of users) entriesByKey.delete(`storm-open-${user.id}`);
      for (const [key, rows] of entriesByKey) problems.push(`entries under a key no request was accepted with: ${key} (${rows.length})`);

      // Grouped as the ledger check groups them: one entry per (user, key); a transfer's key is on its sender's entry.
      const duplicated = await db
        .select({ userId: transactions.userId, key: transactions.idempotencyKey, entries: sql<string>`count(*)` })
        .from(transactions)
        .where(and(isNotNull(transactions.idempotencyKey), inArray(transactions.userId, userIds)))
        .groupBy(transactions.userId, transactions.idempotencyKey)
        .having(sql`count(*) <> 1`);
      for (const row of duplicated) problems.push(`user ${row.userId} has ${row.entries} entries under key ${row.key}`);

      // The stored key: the parameters that won it, and its outcome.
      const stored = await db.select().from(idempotencyKeys).where(inArray(idempotencyKeys.userId, userIds));
      const storedByKey = new Map(stored.map((row) => [row.key, row]));
      for (const plan of plans) {
        const outcome = settled.get(plan.key);
        const row = storedByKey.get(plan.key);
        if (!outcome) continue;
        if (!row) {
          problems.push(`${plan.key}: no stored key`);
          continue;
        }
        const movement = plan.variants[outcome.variant]!;
        if (row.userId !== movement.userId) problems.push(`${plan.key}: stored for user ${row.userId}, not ${movement.userId}`);
        if (row.requestHash !== hashOf(movement)) problems.push(`${plan.key}: stored with another request's parameters`);
        const entry = outcome.reply.payload?.entry;
        const want = entry
          ? { ok: true, value: { entryId: decodeEntryId(entry.id) } }
          : { ok: false, problems: outcome.reply.payload?.errors };
        if (!isDeepStrictEqual(row.outcome, want)) {
          problems.push(`${plan.key}: stored outcome ${JSON.stringify(row.outcome)}, answered ${JSON.stringify(want)}`);
        }
      }
      if (stored.length !== plans.length + users.length) problems.push(`${stored.length} stored keys for ${plans.length + users.length} keys`);
      expectNoProblems(problems, 'ledger effects that do not match the accepted replies');

      // ---- balances: what the accepted replies imply, what the ledger rows say, to the cent
      const balances = await balancesOf(userIds);
      for (const user of users) {
        expect(balances.get(user.id), `balance of user ${user.id} (LEDGER_SEED=${SEED})`).toBe(expected.get(user.id));
        expect(balances.get(user.id)! >= 0n).toBe(true);
      }
      const total = [...balances.values()].reduce((sum, balance) => sum + balance, 0n);
      const ledgerNet = entries
        .filter((entry) => entry.kind === 'DEPOSIT' || entry.kind === 'WITHDRAWAL')
        .reduce((sum, entry) => sum + entry.amount, 0n);
      expect(total).toBe(ledgerNet);
      expect(total).toBe(impliedNet);
      await expectSoundLedger();
      // One database transaction per request: no deadlock (or serialization failure) was retried behind the scenes.
      expect(transactionsBegun, 'database transactions for the storm\'s requests').toBe(sent.length);

      const count = (code: string) => sent.filter((one) => codeOf(one.reply) === code).length;
      if (STATS) {
        console.log(
          `[ledger-concurrency] storm seed=${SEED} ${sent.length} requests in ${Math.round(stormMs)} ms ` +
            `(${Math.round(performance.now() - started)} ms with setup and checks); retries ${JSON.stringify(modes)}; ` +
            `accepted ${JSON.stringify(accepted)}; refused for funds ${insufficient} keys; replies: ` +
            `INSUFFICIENT_FUNDS ${count('INSUFFICIENT_FUNDS')}, IN_PROGRESS ${count('IDEMPOTENCY_KEY_IN_PROGRESS')}, REUSED ${count('IDEMPOTENCY_KEY_REUSED')}; ` +
            `sent after their key settled ${afterSettled.requests}, of them told IN_PROGRESS ${afterSettled.problems.length}`,
        );
      }
    },
    120_000,
  );

  it('retry storm: a request sent after its key\'s outcome was answered gets that outcome (or REUSED), never IDEMPOTENCY_KEY_IN_PROGRESS', () => {
    expect(stormAfterSettled, 'the retry storm did not get as far as its key checks').toBeDefined();
    const { requests, problems } = stormAfterSettled!;
    expect(requests, 'no request of the storm was sent after its key settled: nothing was checked').toBeGreaterThan(0);
    expectNoProblems(problems, `${problems.length} of ${requests} requests sent after their key's outcome was answered were told it is still in progress`);
  });

  // ------------------------------------------------------------------------------------------------ 2. opposite transfers

  it('opposite transfers racing between two users lose no update and never deadlock', { timeout: 60_000 }, async () => {
    const random = randomness(2);
    const start = [10_000n, 10_000n];
    const [a, b] = await fundedUsers(start, 'race');
    const moves: Movement[] = Array.from({ length: 200 }, (_, i) => {
      const [from, to] = random.chance(0.5) ? [a!, b!] : [b!, a!];
      return { kind: 'transfer', userId: from.id, toUserId: to.id, cents: BigInt(random.int(1, 1_500)), description: `race ${i}` };
    });
    server.statements.reset();
    const replies = await Promise.all(moves.map((move, i) => send(move, `race-${i}`)));
    const begun = attempts();

    expectNoProblems(
      replies.flatMap((reply, i) => replyProblems(reply, new Set(['INSUFFICIENT_FUNDS'])).map((problem) => `race-${i}: ${problem}`)),
      'opposite transfers',
    );
    // One database transaction each: no deadlock was hit and retried behind the scenes.
    expect(begun, 'database transactions for 200 transfers').toBe(moves.length);
    const balance = new Map([
      [a!.id, start[0]!],
      [b!.id, start[1]!],
    ]);
    moves.forEach((move, i) => {
      if (!replies[i]!.payload?.entry) return;
      balance.set(move.userId, balance.get(move.userId)! - move.cents);
      balance.set(move.toUserId!, balance.get(move.toUserId!)! + move.cents);
    });
    const balances = await balancesOf([a!.id, b!.id]);
    expect(balances.get(a!.id)).toBe(balance.get(a!.id));
    expect(balances.get(b!.id)).toBe(balance.get(b!.id));
    expect(balances.get(a!.id)! + balances.get(b!.id)!).toBe(start[0]! + start[1]!);
    // One entry per side of each accepted transfer, nothing for a refused one.
    const accepted = replies.filter((reply) => reply.payload?.entry).length;
    expect((await entriesOf([a!.id, b!.id])).filter((entry) => entry.transferId !== null)).toHaveLength(2 * accepted);
    await expectSoundLedger();
    if (STATS) console.log(`[ledger-concurrency] opposite transfers: ${accepted} accepted, ${replies.length - accepted} INSUFFICIENT_FUNDS`);
  });

  // ------------------------------------------------------------------------------------------------ 3. one key, 20 at once

  it('one key sent 20 times at once moves money once; every reply is that outcome or IDEMPOTENCY_KEY_IN_PROGRESS', { timeout: 30_000 }, async () => {
    const [sender, recipient] = await fundedUsers([10_000n, 100n], 'once');
    const move: Movement = { kind: 'transfer', userId: sender!.id, toUserId: recipient!.id, cents: 1_230n, description: 'once' };
    // The key in the input or only in the Idempotency-Key header, the amount as "12.30" or "12.3": one request.
    const at = (i: number) => send(move, 'once', { via: i % 2 === 0 ? 'input' : 'header', amount: i % 3 === 0 ? '12.3' : '12.30' });
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => at(i)));
    // Retries once all have settled find the outcome committed: a replay each, never "in progress".
    const retries: Reply[] = [];
    for (let i = 0; i < 3; i += 1) retries.push(await at(i));

    const allowed = new Set(['IDEMPOTENCY_KEY_IN_PROGRESS']);
    expectNoProblems(
      [...replies, ...retries].flatMap((reply, i) => replyProblems(reply, allowed).map((problem) => `send ${i}: ${problem}`)),
      'one key at once',
    );
    const moved = replies.filter((reply) => reply.payload?.entry);
    expect(moved.length).toBeGreaterThanOrEqual(1);
    expect(moved.length + replies.filter((reply) => codeOf(reply) === 'IDEMPOTENCY_KEY_IN_PROGRESS').length).toBe(20);
    const outcome = outcomeOf(moved[0]!);
    for (const reply of [...moved, ...retries]) expect(outcomeOf(reply)).toEqual(outcome);
    expect(outcome.entry).toMatchObject({ kind: 'TRANSFER_OUT', amount: { amount: '-12.30' }, balanceAfter: { amount: '87.70' } });

    const all = await entriesOf([sender!.id, recipient!.id]);
    const out = all.filter((entry) => entry.idempotencyKey === 'once');
    // The key is on the sender's entry; the recipient's side shares its transfer id.
    const entries = all.filter((entry) => out.some((keyed) => keyed.transferId === entry.transferId));
    expect(entries.map((entry) => [entry.userId, entry.kind, entry.amount])).toEqual([
      [sender!.id, 'TRANSFER_OUT', -1_230n],
      [recipient!.id, 'TRANSFER_IN', 1_230n],
    ]);
    expect(decodeEntryId(outcome.entry!.id)).toBe(entries[0]!.id);
    const balances = await balancesOf([sender!.id, recipient!.id]);
    expect([balances.get(sender!.id), balances.get(recipient!.id)]).toEqual([8_770n, 1_330n]);
    await expectSoundLedger();
    if (STATS) console.log(`[ledger-concurrency] one key: ${moved.length} outcomes, ${20 - moved.length} IDEMPOTENCY_KEY_IN_PROGRESS`);
  });

  it('retries of a settled key sent at once all replay it, and other parameters all get IDEMPOTENCY_KEY_REUSED', { timeout: 30_000 }, async () => {
    const [depositor] = await fundedUsers([100n], 'settled');
    const move: Movement = { kind: 'deposit', userId: depositor!.id, cents: 500n, description: 'settled' };
    const first = await send(move, 'settled');
    expectNoProblems(replyProblems(first, new Set()), 'the first deposit');

    // The key is settled (its outcome committed and answered) before any of these leaves.
    const other: Movement = { ...move, cents: 600n };
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => send(i % 4 === 3 ? other : move, 'settled')));
    const problems = replies.flatMap((reply, i) => {
      const want = i % 4 === 3 ? 'IDEMPOTENCY_KEY_REUSED' : 'a replay';
      const got = codeOf(reply) ?? 'an entry';
      const wrong = i % 4 === 3 ? got !== 'IDEMPOTENCY_KEY_REUSED' : !isDeepStrictEqual(outcomeOf(reply), outcomeOf(first));
      return [...replyProblems(reply, KEY_CODES), ...(wrong ? [`retry ${i}: ${want} expected, got ${got}`] : [])];
    });
    // Whatever the answers, the deposit moved money once.
    expect((await balancesOf([depositor!.id])).get(depositor!.id)).toBe(600n);
    await expectSoundLedger();
    expectNoProblems(problems, 'retries of a settled key');
  });

  // ------------------------------------------------------------------------------------------------ 4. overdraw race

  it('30 withdrawals of 1.00 racing for a balance of 10.00: exactly 10 succeed, 20 get INSUFFICIENT_FUNDS', { timeout: 30_000 }, async () => {
    const [saver] = await fundedUsers([1_000n], 'overdraw');
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        send({ kind: 'withdraw', userId: saver!.id, cents: 100n, description: `overdraw ${i}` }, `overdraw-${i}`, { amount: spellings(100n)[i % 3]! }),
      ),
    );
    expectNoProblems(
      replies.flatMap((reply, i) => replyProblems(reply, new Set(['INSUFFICIENT_FUNDS'])).map((problem) => `overdraw-${i}: ${problem}`)),
      'racing withdrawals',
    );
    const succeeded = replies.filter((reply) => reply.payload?.entry);
    expect(succeeded).toHaveLength(10);
    expect(replies.filter((reply) => codeOf(reply) === 'INSUFFICIENT_FUNDS')).toHaveLength(20);
    // Each success saw the balance the one before it left: 9.00, 8.00, … 0.00, each once.
    const after = succeeded.map((reply) => reply.payload!.entry!.balanceAfter.amount).sort((x, y) => Number(parseCents(y) - parseCents(x)));
    expect(after).toEqual(['9.00', '8.00', '7.00', '6.00', '5.00', '4.00', '3.00', '2.00', '1.00', '0.00']);

    expect((await balancesOf([saver!.id])).get(saver!.id)).toBe(0n);
    const viewer = await server.graphql<{ viewer: { balance: { amount: string } } }>('{ viewer { balance { amount } } }', {
      authorization: tokens.get(saver!.id)!,
    });
    expect(viewer.body).toEqual(withCost({ data: { viewer: { balance: { amount: '0.00' } } } }));
    expect((await entriesOf([saver!.id])).filter((entry) => entry.kind === 'WITHDRAWAL')).toHaveLength(10);
    await expectSoundLedger();
  });
});

/**
 * The mutations through the real server: every typed error with the field it names and nothing written, the
 * happy paths returning what changed, idempotency keys with Stripe's semantics, who may call what, the events
 * told after each committed write (and only then), and SQL injection payloads kept as plain data. Tests watch
 * the whole database (row counts of every table, every balance) and the event bus around the request they make
 * (helpers/mutations.ts, observe), so "nothing written" means nothing anywhere.
 */
import { decodeGlobalID } from '@pothos/plugin-relay';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Db } from '../../src/db/client.js';
import { idempotencyKeys, posts, transactions, users, type UserRow } from '../../src/db/schema.js';
import type { DomainEvent } from '../../src/events.js';
import { checkLedger } from '../../src/ledger/check-ledger.js';
import { removeExpiredKeys } from '../../src/ledger/idempotency.js';
import { codesOf, expectNoInternals, globalId, withCost } from '../helpers/assertions.js';
import { addEntry, createUser } from '../helpers/factories.js';
import {
  CREATE_POST,
  DEPOSIT,
  FOLLOW,
  NOTHING,
  observe,
  only,
  sendRaw,
  SIGN_UP,
  TRANSFER,
  UNFOLLOW,
  WITHDRAW,
  type MoneyPayload,
  type MutationError,
} from '../helpers/mutations.js';
import { startTestServer, type RequestOptions, type TestServer } from '../helpers/server.js';
import { INJECTION_PAYLOADS } from '../helpers/injection.js';

let server: TestServer;
let db: Db;

beforeAll(async () => {
  server = await startTestServer();
  db = server.database.db;
});
afterAll(() => server.close());


let keySequence = 0;
/** A fresh idempotency key. */
const newKey = () => `key-${(keySequence += 1)}-${Math.random().toString(36).slice(2, 10)}`;

const userId = (user: UserRow) => globalId('User', user.id);
const rowIdOf = (id: string) => Number(decodeGlobalID(id).id);

interface PostPayload {
  post: { id: string; body: string; createdAt: string; author: { id: string; username: string } } | null;
  errors: MutationError[];
}
interface FollowPayload {
  user: { id: string; username: string } | null;
  viewer: { id: string; following: { edges: { node: { id: string } }[] } } | null;
  errors: MutationError[];
}
interface SignUpPayload {
  user: { id: string; username: string; name: string } | null;
  errors: MutationError[];
}

/** Sends one mutation with `input` as its variable and returns its payload; the request itself must not fail. */
async function run<P = MoneyPayload>(document: string, input: Record<string, unknown>, options: Omit<RequestOptions, 'variables'> = {}): Promise<P> {
  const response = await server.graphql<Record<string, P>>(document, { ...options, variables: { input } });
  expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
  expect(response.status).toBe(200);
  const payloads = Object.values(response.body.data ?? {});
  expect(payloads).toHaveLength(1);
  return payloads[0]!;
}

/** Every error of the payload has this code and names this field (one bad field may break several rules). */
function expectErrors(payload: { errors: MutationError[] }, code: string, field: string[] | null) {
  expect(payload.errors.length, JSON.stringify(payload.errors)).toBeGreaterThan(0);
  for (const error of payload.errors) expect(error).toEqual({ code, field, message: expect.stringMatching(/\S/) as string });
  expectNoInternals(JSON.stringify(payload.errors));
}

/** The last test of a describe block: whatever its tests did, every ledger invariant still holds. */
function ledgerStaysSound() {
  it('leaves every ledger invariant holding (checkLedger finds nothing)', async () => {
    expect(await checkLedger(db)).toEqual([]);
  });
}

/** Money for a test user, written as a ledger entry (balance = sum of entries stays true). */
const fund = (user: UserRow, minor: bigint) => addEntry(db, user.id, { kind: 'DEPOSIT', amount: minor });

async function balanceOf(user: UserRow): Promise<bigint> {
  const [row] = rowsOf<{ balance: string }>(await db.execute(sql`select balance::text as balance from accounts where user_id = ${user.id}`));
  return BigInt(row!.balance);
}

type MoneyKind = 'deposit' | 'withdraw' | 'transfer';
const MONEY_DOCUMENTS: Record<MoneyKind, string> = { deposit: DEPOSIT, withdraw: WITHDRAW, transfer: TRANSFER };
const MONEY_KINDS: MoneyKind[] = ['deposit', 'withdraw', 'transfer'];

describe('typed errors: each names its code and field, and nothing is written', () => {
  let alice: UserRow;
  let bob: UserRow;
  let erin: UserRow;
  let yuki: UserRow;

  beforeAll(async () => {
    alice = await createUser(db, { username: 'alice', email: 'alice@example.test' });
    bob = await createUser(db, { username: 'bob' });
    erin = await createUser(db, { username: 'erin', currency: 'EUR' });
    yuki = await createUser(db, { username: 'yuki', currency: 'JPY' });
    await fund(alice, 100_00n);
    await fund(erin, 100_00n);
    await fund(yuki, 10_000n);
  });

  /** A valid input of each money mutation from alice (to bob), with `fields` changed. */
  const moneyInput = (kind: MoneyKind, fields: Record<string, unknown> = {}) => ({
    amount: '1.00',
    currency: 'USD',
    description: 'a note',
    idempotencyKey: newKey(),
    ...(kind === 'transfer' ? { to: userId(bob) } : {}),
    ...fields,
  });

  describe('INVALID_INPUT', () => {
    const SIGN_UPS: [string, string, Record<string, unknown>][] = [
      ['a username of 2 characters', 'username', { username: 'ab' }],
      ['a username of 51 characters', 'username', { username: 'u'.repeat(51) }],
      ['a username with a tab', 'username', { username: 'tab\tname' }],
      ['a username with a line break', 'username', { username: 'two\nlines' }],
      ['a username with a leading space', 'username', { username: ' leading' }],
      ['a username with a trailing space', 'username', { username: 'trailing ' }],
      ['a username with a NUL character', 'username', { username: 'nul\u0000name' }],
      ['a username with a lone surrogate', 'username', { username: 'lone\ud800half' }],
      ['an empty name', 'name', { name: '' }],
      ['a blank name', 'name', { name: '   ' }],
      ['a name of 101 characters', 'name', { name: 'n'.repeat(101) }],
      ['a name with a lone surrogate', 'name', { name: 'Lone \udc00' }],
      ['an email without @', 'email', { email: 'not-an-email' }],
      ['an email without a domain', 'email', { email: 'someone@' }],
      ['an email with a NUL character', 'email', { email: 'nul\u0000@example.test' }],
      ['an email of 255 characters', 'email', { email: `${'a'.repeat(60)}@${'b'.repeat(189)}.test` }],
    ];

    it.each(SIGN_UPS)('signUp with %s: field ["input", %j]', async (_label, field, fields) => {
      const input = { username: `newcomer${(keySequence += 1)}`, name: 'New Comer', email: `newcomer${keySequence}@example.test`, ...fields };
      const { result, changes, events } = await observe(server, () => run<SignUpPayload>(SIGN_UP, input));
      expect(result.user).toBeNull();
      expectErrors(result, 'INVALID_INPUT', ['input', field]);
      expect(changes).toEqual(NOTHING);
      expect(events).toEqual([]);
    });

    it.each([
      ['an empty body', ''],
      ['a blank body', ' \n\t  \n'],
      ['a body of 2001 characters', 'b'.repeat(2001)],
      ['a body of 2001 characters outside the BMP (4002 UTF-16 units)', '😀'.repeat(2001)],
      ['a body with a NUL character', 'before\u0000after'],
      ['a body with a lone surrogate', 'half \ud83d of an emoji'],
    ])('createPost with %s: field ["input", "body"]', async (_label, body) => {
      const { result, changes, events } = await observe(server, () => run<PostPayload>(CREATE_POST, { body }, { as: alice.id }));
      expect(result.post).toBeNull();
      expectErrors(result, 'INVALID_INPUT', ['input', 'body']);
      expect(changes).toEqual(NOTHING);
      expect(events).toEqual([]);
    });

    const AMOUNTS: [string, string, string][] = [
      ['letters', 'abc', 'USD'],
      ['a negative amount', '-5', 'USD'],
      ['an explicit plus sign', '+5', 'USD'],
      ['an exponent', '1e3', 'USD'],
      ['three decimals in USD', '1.234', 'USD'],
      ['a decimal in JPY', '1.5', 'JPY'],
      ['zero', '0', 'USD'],
      ['zero with decimals', '0.00', 'USD'],
      ['one cent above the maximum (1,000,000 USD)', '1000000.01', 'USD'],
      ['one yen above the maximum (1,000,000 JPY)', '1000001', 'JPY'],
      ['an empty string', '', 'USD'],
      ['surrounding spaces', ' 5 ', 'USD'],
      ['a thousands separator', '1,000', 'USD'],
      ['a trailing dot', '5.', 'USD'],
      ['a leading dot', '.5', 'USD'],
      ['non-ASCII digits', '٥', 'USD'],
      ['19 digits', '1'.repeat(19), 'JPY'],
    ];
    const AMOUNT_CASES = MONEY_KINDS.flatMap((kind) => AMOUNTS.map(([label, amount, currency]) => [kind, label, amount, currency] as const));

    it.each(AMOUNT_CASES)('%s with %s (%j %s): field ["input", "amount"]', async (kind, _label, amount, currency) => {
      // JPY amounts come from yuki's JPY account (a transfer goes to bob's USD one: the amount is refused first).
      const viewer = currency === 'JPY' ? yuki : alice;
      const { result, changes, events } = await observe(server, () =>
        run(MONEY_DOCUMENTS[kind], moneyInput(kind, { amount, currency }), { as: viewer.id }),
      );
      expect(result.entry).toBeNull();
      expectErrors(result, 'INVALID_INPUT', ['input', 'amount']);
      expect(changes).toEqual(NOTHING);
      expect(events).toEqual([]);
    });

    const OTHER_FIELDS: [string, string, Record<string, unknown>, Record<string, string>][] = [
      ['a description of 201 characters', 'description', { description: 'd'.repeat(201) }, {}],
      ['a description with a NUL character', 'description', { description: 'pay\u0000day' }, {}],
      ['a description with a lone surrogate', 'description', { description: 'pay \udfff day' }, {}],
      ['a key of 256 characters', 'idempotencyKey', { idempotencyKey: 'k'.repeat(256) }, {}],
      ['an empty key', 'idempotencyKey', { idempotencyKey: '' }, {}],
      ['a key with a NUL character', 'idempotencyKey', { idempotencyKey: 'key\u0000one' }, {}],
      ['a key with a lone surrogate', 'idempotencyKey', { idempotencyKey: 'key\ud800one' }, {}],
      ['no key in the input (absent) and no header', 'idempotencyKey', { idempotencyKey: undefined }, {}],
      ['no key in the input (null) and no header', 'idempotencyKey', { idempotencyKey: null }, {}],
      ['a header key of 256 characters', 'idempotencyKey', { idempotencyKey: undefined }, { 'idempotency-key': 'h'.repeat(256) }],
      ['an input key and a different header key', 'idempotencyKey', { idempotencyKey: 'input-key-1' }, { 'idempotency-key': 'header-key-1' }],
      ['a header key with a space', 'idempotencyKey', { idempotencyKey: undefined }, { 'idempotency-key': 'two words' }],
      ['a header key beyond ASCII', 'idempotencyKey', { idempotencyKey: undefined }, { 'idempotency-key': 'schl\u00fcssel' }],
    ];
    const OTHER_CASES = MONEY_KINDS.flatMap((kind) => OTHER_FIELDS.map(([label, field, fields, headers]) => [kind, label, field, fields, headers] as const));

    it.each(OTHER_CASES)('%s with %s: field ["input", %j]', async (kind, _label, field, fields, headers) => {
      const { result, changes, events } = await observe(server, () =>
        run(MONEY_DOCUMENTS[kind], moneyInput(kind, fields), { as: alice.id, headers }),
      );
      expect(result.entry).toBeNull();
      expectErrors(result, 'INVALID_INPUT', ['input', field]);
      expect(changes).toEqual(NOTHING);
      expect(events).toEqual([]);
    });

    it.each([
      ['not base64 at all', '!!not an id!!'],
      ['the ID of a Post', globalId('Post', 1)],
      ['a User ID holding no row id', globalId('User', 'abc')],
      ['a User ID beyond 2^53', globalId('User', '9007199254740993')],
    ])('transfer to %s: field ["input", "to"]', async (_label, to) => {
      const { result, changes, events } = await observe(server, () => run(TRANSFER, moneyInput('transfer', { to }), { as: alice.id }));
      expectErrors(result, 'INVALID_INPUT', ['input', 'to']);
      expect(changes).toEqual(NOTHING);
      expect(events).toEqual([]);
    });

    it.each([
      ['followUser', FOLLOW],
      ['unfollowUser', UNFOLLOW],
    ])('%s with a userId that is not a User ID: field ["input", "userId"]', async (_name, document) => {
      for (const bad of ['!!not an id!!', globalId('Post', bob.id), globalId('User', '-1')]) {
        const { result, changes, events } = await observe(server, () => run<FollowPayload>(document, { userId: bad }, { as: alice.id }));
        expect(result.user).toBeNull();
        expectErrors(result, 'INVALID_INPUT', ['input', 'userId']);
        expect(changes).toEqual(NOTHING);
        expect(events).toEqual([]);
      }
    });

    it('reports every bad field of one input at once, each with its own path', async () => {
      const input = moneyInput('transfer', { amount: 'abc', description: 'd'.repeat(201), idempotencyKey: '', to: 'nope' });
      const { result, changes } = await observe(server, () => run(TRANSFER, input, { as: alice.id }));
      expect(result.errors.every((error) => error.code === 'INVALID_INPUT')).toBe(true);
      expect(new Set(result.errors.map((error) => error.field!.join('.')))).toEqual(
        new Set(['input.amount', 'input.description', 'input.idempotencyKey', 'input.to']),
      );
      expect(changes).toEqual(NOTHING);
    });

    it('(control: the limits themselves are accepted: 50-character username, 2000-character body, 200-character description, 255-character key)', async () => {
      const signedUp = await run<SignUpPayload>(SIGN_UP, { username: 'u'.repeat(50), name: 'n'.repeat(100), email: 'limits@example.test' });
      expect(signedUp.errors).toEqual([]);
      const posted = await run<PostPayload>(CREATE_POST, { body: '😀'.repeat(2000) }, { as: alice.id });
      expect(posted.errors).toEqual([]);
      expect(posted.post?.body).toBe('😀'.repeat(2000));
      const deposited = await run(DEPOSIT, moneyInput('deposit', { description: 'd'.repeat(200), idempotencyKey: 'k'.repeat(255) }), { as: alice.id });
      expect(deposited.errors).toEqual([]);
      const viaHeader = await run(DEPOSIT, moneyInput('deposit', { idempotencyKey: undefined }), { as: alice.id, headers: { 'idempotency-key': 'h'.repeat(255) } });
      expect(viaHeader.errors).toEqual([]);
    });
  });

  describe('NOT_FOUND', () => {
    const NOWHERE = () => globalId('User', 987_654_321);

    it('transfer to a user that does not exist: field ["input", "to"]; no money moves, the outcome is kept with its key', async () => {
      const before = await balanceOf(alice);
      const { result, changes, events } = await observe(server, () => run(TRANSFER, moneyInput('transfer', { to: NOWHERE() }), { as: alice.id }));
      expect(result.entry).toBeNull();
      expectErrors(result, 'NOT_FOUND', ['input', 'to']);
      // A typed outcome of the domain is stored with its key (Stripe semantics), nothing else.
      expect(changes).toEqual(only({ idempotency_keys: 1 }));
      expect(events).toEqual([]);
      expect(await balanceOf(alice)).toBe(before);
    });

    it.each([
      ['followUser', FOLLOW],
      ['unfollowUser', UNFOLLOW],
    ])('%s of a user that does not exist: field ["input", "userId"]', async (_name, document) => {
      const { result, changes, events } = await observe(server, () => run<FollowPayload>(document, { userId: NOWHERE() }, { as: alice.id }));
      expect(result.user).toBeNull();
      expectErrors(result, 'NOT_FOUND', ['input', 'userId']);
      expect(changes).toEqual(NOTHING);
      expect(events).toEqual([]);
    });
  });

  describe('INSUFFICIENT_FUNDS', () => {
    it.each(['withdraw', 'transfer'] as const)('%s of one cent more than the balance: field ["input", "amount"], balances unchanged', async (kind) => {
      const balance = await balanceOf(alice);
      const amount = ((Number(balance) + 1) / 100).toFixed(2);
      const { result, changes, events } = await observe(server, () => run(MONEY_DOCUMENTS[kind], moneyInput(kind, { amount }), { as: alice.id }));
      expect(result.entry).toBeNull();
      expectErrors(result, 'INSUFFICIENT_FUNDS', ['input', 'amount']);
      expect(result.viewer?.balance?.amount).toBe((Number(balance) / 100).toFixed(2));
      expect(changes).toEqual(only({ idempotency_keys: 1 }));
      expect(events).toEqual([]);
    });

    it.each(['withdraw', 'transfer'] as const)('%s from an empty account', async (kind) => {
      const empty = await createUser(db, {});
      const { result, changes } = await observe(server, () => run(MONEY_DOCUMENTS[kind], moneyInput(kind, { amount: '0.01' }), { as: empty.id }));
      expectErrors(result, 'INSUFFICIENT_FUNDS', ['input', 'amount']);
      expect(changes).toEqual(only({ idempotency_keys: 1 }));
    });
  });

  describe('BALANCE_LIMIT: an account that would pass PostgreSQL\'s bigint', () => {
    // A balance one cent short of 2^63 - 1 minor units, kept consistent with its ledger.
    const nearlyFull = async () => {
      const user = await createUser(db, {});
      await fund(user, 2n ** 63n - 2n);
      return user;
    };

    it('deposit: field ["input", "amount"], nothing moved, and the account still takes the last cent', async () => {
      const full = await nearlyFull();
      const { result, changes } = await observe(server, () => run(DEPOSIT, moneyInput('deposit', { amount: '0.02' }), { as: full.id }));
      expectErrors(result, 'BALANCE_LIMIT', ['input', 'amount']);
      expect(changes).toEqual(only({ idempotency_keys: 1 }));
      const last = await run(DEPOSIT, moneyInput('deposit', { amount: '0.01' }), { as: full.id });
      expect(last.errors).toEqual([]);
      expect(await balanceOf(full)).toBe(2n ** 63n - 1n);
    });

    it('transfer into it: field ["input", "amount"], neither balance moved', async () => {
      const full = await nearlyFull();
      const sender = await createUser(db, {});
      await fund(sender, 100n);
      const { result, changes } = await observe(server, () =>
        run(TRANSFER, moneyInput('transfer', { to: userId(full), amount: '0.02' }), { as: sender.id }),
      );
      expectErrors(result, 'BALANCE_LIMIT', ['input', 'amount']);
      expect(changes).toEqual(only({ idempotency_keys: 1 }));
      expect(await balanceOf(sender)).toBe(100n);
    });
  });

  it('SELF_TRANSFER: a transfer to the viewer: field ["input", "to"]', async () => {
    const { result, changes, events } = await observe(server, () => run(TRANSFER, moneyInput('transfer', { to: userId(alice) }), { as: alice.id }));
    expect(result.entry).toBeNull();
    expectErrors(result, 'SELF_TRANSFER', ['input', 'to']);
    expect(changes).toEqual(NOTHING);
    expect(events).toEqual([]);
  });

  it.each([
    ['followUser', FOLLOW],
    ['unfollowUser', UNFOLLOW],
  ])('SELF_FOLLOW: %s of the viewer: field ["input", "userId"]', async (_name, document) => {
    const { result, changes, events } = await observe(server, () => run<FollowPayload>(document, { userId: userId(alice) }, { as: alice.id }));
    expect(result.user).toBeNull();
    expectErrors(result, 'SELF_FOLLOW', ['input', 'userId']);
    expect(changes).toEqual(NOTHING);
    expect(events).toEqual([]);
  });

  describe('CURRENCY_MISMATCH: field ["input", "currency"]', () => {
    it.each(['deposit', 'withdraw'] as const)('%s in EUR to a USD account', async (kind) => {
      const { result, changes, events } = await observe(server, () => run(MONEY_DOCUMENTS[kind], moneyInput(kind, { currency: 'EUR' }), { as: alice.id }));
      expect(result.entry).toBeNull();
      expectErrors(result, 'CURRENCY_MISMATCH', ['input', 'currency']);
      expect(result.errors[0]!.message).toMatch(/USD/);
      expect(changes).toEqual(only({ idempotency_keys: 1 }));
      expect(events).toEqual([]);
    });

    it('transfer in USD from a USD account to a EUR account', async () => {
      const { result, changes, events } = await observe(server, () => run(TRANSFER, moneyInput('transfer', { to: userId(erin) }), { as: alice.id }));
      expectErrors(result, 'CURRENCY_MISMATCH', ['input', 'currency']);
      expect(result.errors[0]!.message).toMatch(/EUR/);
      expect(changes).toEqual(only({ idempotency_keys: 1 }));
      expect(events).toEqual([]);
    });

    it('transfer in EUR from a USD account to a EUR account (the sender\'s own currency is wrong)', async () => {
      const { result, changes } = await observe(server, () => run(TRANSFER, moneyInput('transfer', { to: userId(erin), currency: 'EUR' }), { as: alice.id }));
      expectErrors(result, 'CURRENCY_MISMATCH', ['input', 'currency']);
      expect(changes).toEqual(only({ idempotency_keys: 1 }));
    });

    it('transfer in EUR from a EUR account to a USD account', async () => {
      const { result, changes } = await observe(server, () =>
        run(TRANSFER, moneyInput('transfer', { to: userId(bob), currency: 'EUR' }), { as: erin.id }),
      );
      expectErrors(result, 'CURRENCY_MISMATCH', ['input', 'currency']);
      expect(changes).toEqual(only({ idempotency_keys: 1 }));
    });
  });

  describe('IDEMPOTENCY_KEY_REUSED: field ["input", "idempotencyKey"]', () => {
    it.each([
      ['another amount', 'deposit', {}, 'deposit', { amount: '2.00' }],
      ['another description', 'deposit', {}, 'deposit', { description: 'another note' }],
      ['another currency', 'deposit', {}, 'deposit', { currency: 'EUR' }],
      ['another operation (deposit, then withdraw)', 'deposit', {}, 'withdraw', {}],
      ['another operation (withdraw, then deposit)', 'withdraw', {}, 'deposit', {}],
      ['another operation (deposit, then transfer)', 'deposit', {}, 'transfer', {}],
      ['another recipient', 'transfer', {}, 'transfer', { to: 'erin' }],
      ['another amount of a transfer', 'transfer', {}, 'transfer', { amount: '1.01' }],
    ] as const)('the same key with %s', async (_label, firstKind, firstFields, secondKind, secondFields) => {
      const idempotencyKey = newKey();
      // `to` in a case stands for erin (bob is moneyInput's recipient): a reused key is refused before her EUR account is read.
      const fix = (fields: Record<string, unknown>) => ('to' in fields ? { ...fields, to: userId(erin) } : fields);
      const first = await run(MONEY_DOCUMENTS[firstKind], moneyInput(firstKind, { ...fix(firstFields), idempotencyKey }), { as: alice.id });
      expect(first.errors).toEqual([]);
      const { result, changes, events } = await observe(server, () =>
        run(MONEY_DOCUMENTS[secondKind], moneyInput(secondKind, { ...fix(secondFields), idempotencyKey }), { as: alice.id }),
      );
      expect(result.entry).toBeNull();
      expectErrors(result, 'IDEMPOTENCY_KEY_REUSED', ['input', 'idempotencyKey']);
      expect(changes).toEqual(NOTHING);
      expect(events).toEqual([]);
    });

    it('the same key with other parameters after a typed error was stored for it', async () => {
      const idempotencyKey = newKey();
      const failed = await run(WITHDRAW, moneyInput('withdraw', { amount: '999999.00', idempotencyKey }), { as: alice.id });
      expectErrors(failed, 'INSUFFICIENT_FUNDS', ['input', 'amount']);
      const { result, changes } = await observe(server, () => run(WITHDRAW, moneyInput('withdraw', { amount: '1.00', idempotencyKey }), { as: alice.id }));
      expectErrors(result, 'IDEMPOTENCY_KEY_REUSED', ['input', 'idempotencyKey']);
      expect(changes).toEqual(NOTHING);
    });
  });

  describe('USERNAME_TAKEN and EMAIL_TAKEN', () => {
    beforeAll(async () => {
      await createUser(db, { username: 'zoë-ünïcødé' });
    });

    it.each([
      ['the same username', 'alice'],
      ['the username in another case', 'ALICE'],
      ['the username in mixed case', 'aLiCe'],
      ['a non-ASCII username in another case', 'ZOË-ÜNÏCØDÉ'],
    ])('USERNAME_TAKEN: %s: field ["input", "username"]', async (_label, username) => {
      const { result, changes, events } = await observe(server, () =>
        run<SignUpPayload>(SIGN_UP, { username, name: 'Another Alice', email: `other-${(keySequence += 1)}@example.test` }),
      );
      expect(result.user).toBeNull();
      expectErrors(result, 'USERNAME_TAKEN', ['input', 'username']);
      expect(changes).toEqual(NOTHING);
      expect(events).toEqual([]);
    });

    it.each([
      ['the same email', 'alice@example.test'],
      ['the email in another case', 'Alice@EXAMPLE.test'],
    ])('EMAIL_TAKEN: %s: field ["input", "email"]', async (_label, email) => {
      const { result, changes, events } = await observe(server, () =>
        run<SignUpPayload>(SIGN_UP, { username: `someone${(keySequence += 1)}`, name: 'Someone', email }),
      );
      expect(result.user).toBeNull();
      expectErrors(result, 'EMAIL_TAKEN', ['input', 'email']);
      expect(changes).toEqual(NOTHING);
      expect(events).toEqual([]);
    });
  });

  it('(control: every code of the MutationErrorCode enum but IDEMPOTENCY_KEY_IN_PROGRESS is produced above; that one is in "idempotency keys")', async () => {
    const response = await server.graphql<{ __type: { enumValues: { name: string }[] } }>('{ __type(name: "MutationErrorCode") { enumValues { name } } }');
    expect(response.body.data!.__type.enumValues.map((value) => value.name).sort()).toEqual(
      [
        'CURRENCY_MISMATCH',
        'EMAIL_TAKEN',
        'IDEMPOTENCY_KEY_IN_PROGRESS',
        'IDEMPOTENCY_KEY_REUSED',
        'INSUFFICIENT_FUNDS',
        'INVALID_INPUT',
        'NOT_FOUND',
        'SELF_FOLLOW',
        'SELF_TRANSFER',
        'USERNAME_TAKEN',
        'BALANCE_LIMIT',
      ].sort(),
    );
  });

  ledgerStaysSound();
});

describe('happy paths: the payload returns what changed', () => {
  let carol: UserRow;
  let dave: UserRow;
  let yen: UserRow;

  beforeAll(async () => {
    carol = await createUser(db, { username: 'carol' });
    dave = await createUser(db, { username: 'dave' });
    yen = await createUser(db, { username: 'yen', currency: 'JPY' });
  });

  const VIEWER_QUERY = '{ viewer { username email balance { amount currency } transactions(first: 10) { edges { node { id kind amount { amount } counterparty { id } description } } } } }';
  interface ViewerData {
    viewer: {
      username: string;
      email: string;
      balance: { amount: string; currency: string };
      transactions: { edges: { node: { id: string; kind: string; amount: { amount: string }; counterparty: { id: string } | null; description: string } }[] };
    };
  }

  it('signUp makes a user with an empty account in the currency asked for', async () => {
    const input = { username: 'Newbie', name: '  Newbie Smith ', email: 'Newbie@Example.test', currency: 'JPY' };
    const { result, changes, events } = await observe(server, () => run<SignUpPayload>(SIGN_UP, input));
    expect(result.errors).toEqual([]);
    expect(result.user).toMatchObject({ username: 'Newbie', name: '  Newbie Smith ' });
    const id = rowIdOf(result.user!.id);
    expect(changes).toEqual(only({ users: 1, accounts: 1 }));
    expect(events).toEqual([{ type: 'user.signedUp', userId: id }]);
    const me = await server.graphql<ViewerData>(VIEWER_QUERY, { as: id });
    expect(me.body.data!.viewer).toEqual({
      username: 'Newbie',
      email: 'Newbie@Example.test',
      balance: { amount: '0', currency: 'JPY' },
      transactions: { edges: [] },
    });
  });

  it('signUp without a currency opens a USD account', async () => {
    const result = await run<SignUpPayload>(SIGN_UP, { username: 'plain', name: 'Plain', email: 'plain@example.test' });
    expect(result.errors).toEqual([]);
    const me = await server.graphql<ViewerData>(VIEWER_QUERY, { as: rowIdOf(result.user!.id) });
    expect(me.body.data!.viewer.balance).toEqual({ amount: '0.00', currency: 'USD' });
  });

  it('createPost returns the post with its author, stored exactly as written', async () => {
    const body = '  Line one\n\tline two, with "quotes" and émoji 😀  ';
    const { result, changes, events } = await observe(server, () => run<PostPayload>(CREATE_POST, { body }, { as: carol.id }));
    expect(result.errors).toEqual([]);
    expect(result.post).toMatchObject({ body, author: { id: userId(carol), username: 'carol' } });
    expect(new Date(result.post!.createdAt).toISOString()).toBe(result.post!.createdAt);
    expect(changes).toEqual(only({ posts: 1 }));
    const postId = rowIdOf(result.post!.id);
    expect(events).toEqual([{ type: 'post.created', postId, authorId: carol.id }]);
    const [row] = await db.select().from(posts).where(eq(posts.id, postId));
    expect(row).toMatchObject({ body, authorId: carol.id });
    const newest = await server.graphql<{ posts: { edges: { node: { id: string } }[] } }>('{ posts(first: 1) { edges { node { id } } } }');
    expect(newest.body.data!.posts.edges[0]!.node.id).toBe(result.post!.id);
  });

  it('followUser returns the user and the viewer now following them; following again changes nothing', async () => {
    const first = await observe(server, () => run<FollowPayload>(FOLLOW, { userId: userId(dave) }, { as: carol.id }));
    expect(first.result.errors).toEqual([]);
    expect(first.result.user).toEqual({ id: userId(dave), username: 'dave' });
    expect(first.result.viewer).toEqual({ id: userId(carol), following: { edges: [{ node: { id: userId(dave) } }] } });
    expect(first.changes).toEqual(only({ follows: 1 }));
    expect(first.events).toEqual([{ type: 'follow.created', followerId: carol.id, followeeId: dave.id }]);

    const again = await observe(server, () => run<FollowPayload>(FOLLOW, { userId: userId(dave) }, { as: carol.id }));
    expect(again.result).toEqual(first.result);
    expect(again.changes).toEqual(NOTHING);
    expect(again.events).toEqual([]);
  });

  it('unfollowUser returns the user and the viewer no longer following them; unfollowing again changes nothing', async () => {
    const first = await observe(server, () => run<FollowPayload>(UNFOLLOW, { userId: userId(dave) }, { as: carol.id }));
    expect(first.result).toEqual({ user: { id: userId(dave), username: 'dave' }, viewer: { id: userId(carol), following: { edges: [] } }, errors: [] });
    expect(first.changes).toEqual(only({ follows: -1 }));
    expect(first.events).toEqual([{ type: 'follow.removed', followerId: carol.id, followeeId: dave.id }]);

    const again = await observe(server, () => run<FollowPayload>(UNFOLLOW, { userId: userId(dave) }, { as: carol.id }));
    expect(again.result).toEqual(first.result);
    expect(again.changes).toEqual(NOTHING);
    expect(again.events).toEqual([]);
  });

  it('unfollowUser of someone never followed is fine', async () => {
    const { result, changes, events } = await observe(server, () => run<FollowPayload>(UNFOLLOW, { userId: userId(yen) }, { as: dave.id }));
    expect(result.errors).toEqual([]);
    expect(result.user?.id).toBe(userId(yen));
    expect(changes).toEqual(NOTHING);
    expect(events).toEqual([]);
  });

  it.each([
    ['one cent', '0.01', '0.01', 1n],
    ['the largest amount below the maximum', '999999.99', '999999.99', 999_999_99n],
    ['a whole number', '12', '12.00', 12_00n],
    ['one decimal', '0.5', '0.50', 50n],
    ['leading zeros', '007.10', '7.10', 7_10n],
    ['exactly the maximum', '1000000.00', '1000000.00', 1_000_000_00n],
  ])('deposit of %s (%j) round-trips exactly as %j', async (_label, amount, shown, minor) => {
    const before = await balanceOf(carol);
    const idempotencyKey = newKey();
    const { result, changes, events } = await observe(server, () =>
      run(DEPOSIT, { amount, currency: 'USD', description: `deposit ${amount}`, idempotencyKey }, { as: carol.id }),
    );
    expect(result.errors).toEqual([]);
    const after = before + minor;
    const money = (value: bigint) => ({ amount: (Number(value) / 100).toFixed(2), currency: 'USD' });
    expect(result.entry).toMatchObject({
      kind: 'DEPOSIT',
      amount: { amount: shown, currency: 'USD' },
      balanceAfter: money(after),
      description: `deposit ${amount}`,
      counterparty: null,
    });
    expect(result.viewer).toEqual({ id: userId(carol), balance: money(after) });
    expect(changes).toEqual(only({ transactions: 1, idempotency_keys: 1 }, { [carol.id]: minor }));
    const entryId = rowIdOf(result.entry!.id);
    expect(events).toEqual([{ type: 'ledger.moved', entryIds: [entryId], userIds: [carol.id] }]);
    const [row] = await db.select().from(transactions).where(eq(transactions.id, entryId));
    expect(row).toMatchObject({ userId: carol.id, amount: minor, balanceAfter: after, idempotencyKey });
  });

  it('withdraw returns a negative WITHDRAWAL entry and the balance it left', async () => {
    const before = await balanceOf(carol);
    const { result, changes } = await observe(server, () =>
      run(WITHDRAW, { amount: '0.01', currency: 'USD', idempotencyKey: newKey() }, { as: carol.id }),
    );
    expect(result.errors).toEqual([]);
    const after = ((Number(before) - 1) / 100).toFixed(2);
    expect(result.entry).toMatchObject({ kind: 'WITHDRAWAL', amount: { amount: '-0.01', currency: 'USD' }, balanceAfter: { amount: after }, description: '' });
    expect(result.viewer?.balance).toEqual({ amount: after, currency: 'USD' });
    expect(changes).toEqual(only({ transactions: 1, idempotency_keys: 1 }, { [carol.id]: -1n }));
  });

  it('withdraw of the whole balance leaves exactly zero', async () => {
    const saver = await createUser(db, {});
    await fund(saver, 123_45n);
    const result = await run(WITHDRAW, { amount: '123.45', currency: 'USD', idempotencyKey: newKey() }, { as: saver.id });
    expect(result.errors).toEqual([]);
    expect(result.entry?.balanceAfter.amount).toBe('0.00');
    expect(result.viewer?.balance?.amount).toBe('0.00');
    expect(await balanceOf(saver)).toBe(0n);
  });

  it('JPY has no decimal places: "5" is 5 yen', async () => {
    const { result, changes } = await observe(server, () => run(DEPOSIT, { amount: '5', currency: 'JPY', idempotencyKey: newKey() }, { as: yen.id }));
    expect(result.errors).toEqual([]);
    expect(result.entry).toMatchObject({ amount: { amount: '5', currency: 'JPY' }, balanceAfter: { amount: '5', currency: 'JPY' } });
    expect(result.viewer?.balance).toEqual({ amount: '5', currency: 'JPY' });
    expect(changes.balances).toEqual({ [yen.id]: 5n });
  });

  it('transfer returns the TRANSFER_OUT entry with its counterparty; the recipient gets the TRANSFER_IN entry', async () => {
    const sender = await createUser(db, { username: 'sender' });
    await fund(sender, 50_00n);
    await fund(dave, 1_00n);
    const { result, changes, events } = await observe(server, () =>
      run(TRANSFER, { to: userId(dave), amount: '12.34', currency: 'USD', description: 'lunch', idempotencyKey: newKey() }, { as: sender.id }),
    );
    expect(result.errors).toEqual([]);
    expect(result.entry).toMatchObject({
      kind: 'TRANSFER_OUT',
      amount: { amount: '-12.34', currency: 'USD' },
      balanceAfter: { amount: '37.66', currency: 'USD' },
      description: 'lunch',
      counterparty: { id: userId(dave), username: 'dave' },
    });
    expect(result.viewer).toEqual({ id: userId(sender), balance: { amount: '37.66', currency: 'USD' } });
    expect(changes).toEqual(only({ transactions: 2, idempotency_keys: 1 }, { [sender.id]: -12_34n, [dave.id]: 12_34n }));
    expect(events).toEqual([{ type: 'ledger.moved', entryIds: [rowIdOf(result.entry!.id)], userIds: [sender.id, dave.id] }]);

    const recipient = await server.graphql<ViewerData>(VIEWER_QUERY, { as: dave.id });
    expect(recipient.body.data!.viewer.balance).toEqual({ amount: '13.34', currency: 'USD' });
    expect(recipient.body.data!.viewer.transactions.edges[0]!.node).toMatchObject({
      kind: 'TRANSFER_IN',
      amount: { amount: '12.34' },
      counterparty: { id: userId(sender) },
      description: 'lunch',
    });
  });

  it('two mutations in one document: each payload\'s viewer has the balance as it was after that mutation', async () => {
    const before = await balanceOf(dave);
    const response = await server.graphql<{ a: MoneyPayload; b: MoneyPayload; c: MoneyPayload }>(
      `mutation Two($a: DepositInput!, $b: WithdrawInput!, $c: TransferInput!) {
        a: deposit(input: $a) { entry { balanceAfter { amount } } viewer { balance { amount } } errors { code } }
        b: withdraw(input: $b) { entry { balanceAfter { amount } } viewer { balance { amount } } errors { code } }
        c: transfer(input: $c) { entry { balanceAfter { amount } } viewer { balance { amount } } errors { code } }
      }`,
      {
        as: dave.id,
        variables: {
          a: { amount: '10.00', currency: 'USD', idempotencyKey: newKey() },
          b: { amount: '3.00', currency: 'USD', idempotencyKey: newKey() },
          c: { to: userId(carol), amount: '2.00', currency: 'USD', idempotencyKey: newKey() },
        },
      },
    );
    expect(response.body.errors).toBeUndefined();
    const shown = (delta: number) => ((Number(before) + delta) / 100).toFixed(2);
    const data = response.body.data!;
    expect(data.a).toEqual({ entry: { balanceAfter: { amount: shown(10_00) } }, viewer: { balance: { amount: shown(10_00) } }, errors: [] });
    expect(data.b).toEqual({ entry: { balanceAfter: { amount: shown(7_00) } }, viewer: { balance: { amount: shown(7_00) } }, errors: [] });
    expect(data.c).toEqual({ entry: { balanceAfter: { amount: shown(5_00) } }, viewer: { balance: { amount: shown(5_00) } }, errors: [] });
  });

  ledgerStaysSound();
});

describe('idempotency keys', () => {
  let frank: UserRow;
  let grace: UserRow;

  beforeAll(async () => {
    frank = await createUser(db, { username: 'frank' });
    grace = await createUser(db, { username: 'grace' });
    await fund(frank, 1_000_00n);
  });

  it.each([
    ['deposit', DEPOSIT, () => ({ amount: '10.00', currency: 'USD', description: 'retry me' })],
    ['withdraw', WITHDRAW, () => ({ amount: '1.00', currency: 'USD' })],
    ['transfer', TRANSFER, () => ({ to: userId(grace), amount: '2.50', currency: 'USD' })],
  ] as const)('%s: the same key and parameters answer the same bytes and move nothing again', async (_kind, document, fields) => {
    const input = { ...fields(), idempotencyKey: newKey() };
    const isWrite = (statement: string) => /^\s*(insert|update|delete)\b/i.test(statement);
    server.statements.reset();
    const first = await observe(server, () => sendRaw<Record<string, MoneyPayload>>(server, document, { as: frank.id, variables: { input } }));
    expect(first.result.body.errors).toBeUndefined();
    expect(Object.values(first.result.body.data!)[0]!.errors).toEqual([]);
    expect(first.changes.rows.transactions).toBeGreaterThan(0);
    expect(first.events).toHaveLength(1);
    // (control: the statement log sees the first request's writes, so an empty one below means none were sent)
    expect(server.statements.log.filter(isWrite).length).toBeGreaterThan(0);

    for (let retry = 0; retry < 2; retry += 1) {
      const again = await observe(server, async () => {
        server.statements.reset();
        const response = await sendRaw(server, document, { as: frank.id, variables: { input } });
        return { response, writes: server.statements.log.filter(isWrite) };
      });
      expect(again.result.response.status).toBe(first.result.status);
      expect(again.result.response.text).toBe(first.result.text);
      expect(again.result.writes).toEqual([]);
      expect(again.changes).toEqual(NOTHING);
      expect(again.events).toEqual([]);
    }
  });

  it('"10.5" and "10.50" are the same amount, so the same parameters', async () => {
    const idempotencyKey = newKey();
    const first = await run(DEPOSIT, { amount: '10.5', currency: 'USD', idempotencyKey }, { as: frank.id });
    expect(first.errors).toEqual([]);
    const { result, changes, events } = await observe(server, () => run(DEPOSIT, { amount: '10.50', currency: 'USD', idempotencyKey }, { as: frank.id }));
    expect(result).toEqual(first);
    expect(changes).toEqual(NOTHING);
    expect(events).toEqual([]);
    const again = await run(DEPOSIT, { amount: '010.500', currency: 'USD', idempotencyKey }, { as: frank.id });
    // "010.500" has three decimals: refused as input before the key is even looked at.
    expectErrors(again, 'INVALID_INPUT', ['input', 'amount']);
  });

  it('no description and an empty description are the same parameters', async () => {
    const idempotencyKey = newKey();
    const first = await run(DEPOSIT, { amount: '1.00', currency: 'USD', idempotencyKey }, { as: frank.id });
    const { result, changes } = await observe(server, () => run(DEPOSIT, { amount: '1.00', currency: 'USD', description: '', idempotencyKey }, { as: frank.id }));
    expect(result).toEqual(first);
    expect(changes).toEqual(NOTHING);
  });

  it('a typed error is stored and replayed even once the balance would allow the operation (Stripe semantics)', async () => {
    const broke = await createUser(db, {});
    const idempotencyKey = newKey();
    const input = { amount: '5.00', currency: 'USD', idempotencyKey };
    const refused = await observe(server, () => sendRaw<{ withdraw: MoneyPayload }>(server, WITHDRAW, { as: broke.id, variables: { input } }));
    expectErrors(refused.result.body.data!.withdraw, 'INSUFFICIENT_FUNDS', ['input', 'amount']);
    expect(refused.changes).toEqual(only({ idempotency_keys: 1 }));

    const deposited = await run(DEPOSIT, { amount: '20.00', currency: 'USD', idempotencyKey: newKey() }, { as: broke.id });
    expect(deposited.viewer?.balance?.amount).toBe('20.00');

    const retried = await observe(server, () => sendRaw<{ withdraw: MoneyPayload }>(server, WITHDRAW, { as: broke.id, variables: { input } }));
    const payload = retried.result.body.data!.withdraw;
    expect(payload.entry).toBeNull();
    expect(payload.errors).toEqual(refused.result.body.data!.withdraw.errors);
    // The errors are the stored ones; the viewer is read now (20.00), so only that part of the body differs.
    expect(payload.viewer?.balance?.amount).toBe('20.00');
    expect(retried.changes).toEqual(NOTHING);
    expect(retried.events).toEqual([]);

    const withNewKey = await run(WITHDRAW, { ...input, idempotencyKey: newKey() }, { as: broke.id });
    expect(withNewKey.errors).toEqual([]);
    expect(withNewKey.viewer?.balance?.amount).toBe('15.00');
  });

  it('a stored NOT_FOUND is replayed too', async () => {
    const input = { to: globalId('User', 987_654_320), amount: '1.00', currency: 'USD', idempotencyKey: newKey() };
    const first = await run(TRANSFER, input, { as: frank.id });
    expectErrors(first, 'NOT_FOUND', ['input', 'to']);
    const { result, changes } = await observe(server, () => run(TRANSFER, input, { as: frank.id }));
    expect(result).toEqual(first);
    expect(changes).toEqual(NOTHING);
  });

  it('keys are per user: two users use one key independently', async () => {
    await fund(grace, 10_00n);
    const idempotencyKey = newKey();
    const byFrank = await observe(server, () => run(DEPOSIT, { amount: '3.00', currency: 'USD', idempotencyKey }, { as: frank.id }));
    const byGrace = await observe(server, () => run(WITHDRAW, { amount: '4.00', currency: 'USD', idempotencyKey }, { as: grace.id }));
    expect(byFrank.result.errors).toEqual([]);
    expect(byGrace.result.errors).toEqual([]);
    expect(byFrank.changes).toEqual(only({ transactions: 1, idempotency_keys: 1 }, { [frank.id]: 3_00n }));
    expect(byGrace.changes).toEqual(only({ transactions: 1, idempotency_keys: 1 }, { [grace.id]: -4_00n }));
    expect(byGrace.result.entry!.id).not.toBe(byFrank.result.entry!.id);
    const stored = await db.select({ userId: idempotencyKeys.userId }).from(idempotencyKeys).where(eq(idempotencyKeys.key, idempotencyKey));
    expect(stored.map((row) => row.userId).sort((a, b) => a - b)).toEqual([frank.id, grace.id].sort((a, b) => a - b));
  });

  it('one Idempotency-Key header for two money mutations in one request is refused for both: nothing moves', async () => {
    const before = await balanceOf(frank);
    const response = await server.graphql<{ a: MoneyPayload; b: MoneyPayload }>(
      'mutation { a: deposit(input: { amount: "1.00", currency: USD }) { entry { id } errors { code field } } b: deposit(input: { amount: "1.00", currency: USD }) { entry { id } errors { code field } } }',
      { as: frank.id, headers: { 'idempotency-key': newKey() } },
    );
    for (const payload of [response.body.data!.a, response.body.data!.b]) {
      expect(payload.entry).toBeNull();
      expect(payload.errors).toEqual([{ code: 'INVALID_INPUT', field: ['input', 'idempotencyKey'] }]);
    }
    expect(await balanceOf(frank)).toBe(before);
  });

  it('the Idempotency-Key header works in place of the input, and names the same key', async () => {
    const key = newKey();
    const input = { amount: '4.00', currency: 'USD' };
    const viaHeader = await observe(server, () => run(DEPOSIT, input, { as: frank.id, headers: { 'idempotency-key': key } }));
    expect(viaHeader.result.errors).toEqual([]);
    expect(viaHeader.changes.rows.transactions).toBe(1);
    const [row] = await db.select().from(transactions).where(eq(transactions.id, rowIdOf(viaHeader.result.entry!.id)));
    expect(row!.idempotencyKey).toBe(key);

    for (const retry of [
      () => run(DEPOSIT, input, { as: frank.id, headers: { 'idempotency-key': key } }),
      () => run(DEPOSIT, { ...input, idempotencyKey: key }, { as: frank.id }),
      () => run(DEPOSIT, { ...input, idempotencyKey: key }, { as: frank.id, headers: { 'idempotency-key': key } }),
    ]) {
      const again = await observe(server, retry);
      expect(again.result).toEqual(viaHeader.result);
      expect(again.changes).toEqual(NOTHING);
    }
  });

  it('concurrent requests with one key move money once; the others replay or are told IDEMPOTENCY_KEY_IN_PROGRESS', async () => {
    const input = { amount: '1.11', currency: 'USD', idempotencyKey: newKey() };
    const { result, changes, events } = await observe(server, () =>
      Promise.all(Array.from({ length: 6 }, () => run(DEPOSIT, input, { as: frank.id }))),
    );
    expect(changes).toEqual(only({ transactions: 1, idempotency_keys: 1 }, { [frank.id]: 1_11n }));
    expect(events).toHaveLength(1);
    const entryIds = new Set(result.filter((payload) => payload.errors.length === 0).map((payload) => payload.entry!.id));
    expect(entryIds.size).toBe(1);
    for (const payload of result.filter((each) => each.errors.length > 0)) {
      expectErrors(payload, 'IDEMPOTENCY_KEY_IN_PROGRESS', ['input', 'idempotencyKey']);
    }
  });

  it('IDEMPOTENCY_KEY_IN_PROGRESS while another connection holds the key (PostgreSQL); PGlite, with one connection, runs requests one after the other', async () => {
    const idempotencyKey = newKey();
    const input = { amount: '2.22', currency: 'USD', idempotencyKey };
    if (server.database.kind === 'postgres') {
      // Hold the key's lock as a running request would, on another pooled connection.
      await db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`${frank.id}:${idempotencyKey}`}, 0))`);
        const { result, changes, events } = await observe(server, () => run(DEPOSIT, input, { as: frank.id }));
        expect(result.entry).toBeNull();
        expectErrors(result, 'IDEMPOTENCY_KEY_IN_PROGRESS', ['input', 'idempotencyKey']);
        expect(changes).toEqual(NOTHING);
        expect(events).toEqual([]);
      });
    } else {
      const [first, second] = await Promise.all([run(DEPOSIT, input, { as: frank.id }), run(DEPOSIT, input, { as: frank.id })]);
      expect(second).toEqual(first);
    }
    // Once the holder is gone the key works, and was not burnt by the refusal.
    const after = await run(DEPOSIT, input, { as: frank.id });
    expect(after.errors).toEqual([]);
  });

  it('a key used again after it expired is a new operation, and the ledger check agrees', async () => {
    const input = { amount: '1.00', currency: 'USD', idempotencyKey: 'reborn' };
    const first = await run(DEPOSIT, input, { as: grace.id });
    await db
      .update(idempotencyKeys)
      .set({ createdAt: new Date(Date.now() - 25 * 3_600_000) })
      .where(and(eq(idempotencyKeys.userId, grace.id), eq(idempotencyKeys.key, 'reborn')));
    expect(await removeExpiredKeys(db)).toBeGreaterThanOrEqual(1);
    const second = await run(DEPOSIT, input, { as: grace.id });
    expect(second.errors).toEqual([]);
    expect(second.entry!.id).not.toBe(first.entry!.id);
    expect(await checkLedger(db)).toEqual([]);
  });

  it('removeExpiredKeys removes keys older than 24 hours and keeps a key of 23h59m', async () => {
    const now = new Date();
    const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000);
    const outcome = { ok: false, problems: [{ code: 'INSUFFICIENT_FUNDS', message: 'stored', field: ['input', 'amount'] }] };
    await db.insert(idempotencyKeys).values([
      { userId: grace.id, key: 'young-key', requestHash: 'not-a-real-hash', outcome, createdAt: minutesAgo(23 * 60 + 59) },
      { userId: grace.id, key: 'old-key', requestHash: 'not-a-real-hash', outcome, createdAt: minutesAgo(24 * 60 + 1) },
    ]);
    const total = (await db.select({ key: idempotencyKeys.key }).from(idempotencyKeys)).length;

    expect(await removeExpiredKeys(db, now)).toBe(1);

    const left = await db.select({ key: idempotencyKeys.key }).from(idempotencyKeys).where(eq(idempotencyKeys.userId, grace.id));
    expect(left.map((row) => row.key)).toContain('young-key');
    expect(left.map((row) => row.key)).not.toContain('old-key');
    expect((await db.select({ key: idempotencyKeys.key }).from(idempotencyKeys)).length).toBe(total - 1);

    // The kept key still guards its operation; the removed one is free for a new one, and the ledger check
    // does not count the old key's entries against the new use (checkLedger runs after this describe).
    const young = await run(DEPOSIT, { amount: '1.00', currency: 'USD', idempotencyKey: 'young-key' }, { as: grace.id });
    expectErrors(young, 'IDEMPOTENCY_KEY_REUSED', ['input', 'idempotencyKey']);
    const old = await run(DEPOSIT, { amount: '1.00', currency: 'USD', idempotencyKey: 'old-key' }, { as: grace.id });
    expect(old.errors).toEqual([]);
    expect(await removeExpiredKeys(db, now)).toBe(0);
  });

  ledgerStaysSound();
});

describe('authorization', () => {
  let heidi: UserRow;
  let mallory: UserRow;

  beforeAll(async () => {
    heidi = await createUser(db, { username: 'heidi' });
    mallory = await createUser(db, { username: 'mallory' });
    await fund(heidi, 500_00n);
  });

  const ANONYMOUS: [string, string, () => Record<string, unknown>][] = [
    ['createPost', CREATE_POST, () => ({ body: 'hello' })],
    ['followUser', FOLLOW, () => ({ userId: userId(heidi) })],
    ['unfollowUser', UNFOLLOW, () => ({ userId: userId(heidi) })],
    ['deposit', DEPOSIT, () => ({ amount: '1.00', currency: 'USD', idempotencyKey: newKey() })],
    ['withdraw', WITHDRAW, () => ({ amount: '1.00', currency: 'USD', idempotencyKey: newKey() })],
    ['transfer', TRANSFER, () => ({ to: userId(heidi), amount: '1.00', currency: 'USD', idempotencyKey: newKey() })],
  ];

  it.each(ANONYMOUS)('%s without a token: a top-level UNAUTHENTICATED error, no data, nothing written', async (name, document, input) => {
    const { result, changes, events } = await observe(server, () =>
      sendRaw(server, document, { variables: { input: input() }, headers: { 'idempotency-key': newKey() } }),
    );
    expect(result.body.data ?? null).toBeNull();
    expect(codesOf(result.body)).toEqual(['UNAUTHENTICATED']);
    expect(result.body.errors![0]!.path).toEqual([name]);
    expect(result.body.errors![0]!.message).toMatch(/signed-in viewer/);
    expectNoInternals(result.text);
    expect(changes).toEqual(NOTHING);
    expect(events).toEqual([]);
  });

  it('(control: signUp needs no token)', async () => {
    const result = await run<SignUpPayload>(SIGN_UP, { username: 'anonymous-ok', name: 'Anon', email: 'anon@example.test' });
    expect(result.errors).toEqual([]);
  });

  it.each([
    ['transfer', 'TransferInput', `{ from: "${Buffer.from('User:1').toString('base64')}", to: "x", amount: "1.00", currency: USD, idempotencyKey: "k" }`],
    ['withdraw', 'WithdrawInput', `{ userId: "${Buffer.from('User:1').toString('base64')}", amount: "1.00", currency: USD, idempotencyKey: "k" }`],
    ['deposit', 'DepositInput', `{ accountId: "1", amount: "1.00", currency: USD, idempotencyKey: "k" }`],
  ])('%s has no field naming the account to debit: %s refuses one, nothing written', async (name, typename, literal) => {
    const { result, changes } = await observe(server, () =>
      sendRaw(server, `mutation { ${name}(input: ${literal}) { errors { code } } }`, { as: mallory.id }),
    );
    expect(result.body.data ?? null).toBeNull();
    expect(result.body.errors?.[0]?.message).toMatch(new RegExp(`not defined by type "${typename}"`));
    expect(changes).toEqual(NOTHING);
  });

  it('a transfer always debits the viewer: mallory sending heidi\'s ID as the recipient pays heidi, never takes from her', async () => {
    await fund(mallory, 5_00n);
    const { result, changes } = await observe(server, () =>
      run(TRANSFER, { to: userId(heidi), amount: '5.00', currency: 'USD', idempotencyKey: newKey() }, { as: mallory.id }),
    );
    expect(result.errors).toEqual([]);
    expect(result.entry).toMatchObject({ kind: 'TRANSFER_OUT', amount: { amount: '-5.00' }, counterparty: { id: userId(heidi) } });
    expect(result.viewer).toEqual({ id: userId(mallory), balance: { amount: '0.00', currency: 'USD' } });
    expect(changes.balances).toEqual({ [mallory.id]: -5_00n, [heidi.id]: 5_00n });
  });

  it('with an empty account, mallory\'s withdraw and transfer are INSUFFICIENT_FUNDS whatever others hold', async () => {
    expect(await balanceOf(mallory)).toBe(0n);
    for (const [document, input] of [
      [WITHDRAW, { amount: '1.00', currency: 'USD', idempotencyKey: newKey() }],
      [TRANSFER, { to: userId(heidi), amount: '1.00', currency: 'USD', idempotencyKey: newKey() }],
    ] as const) {
      const { result, changes } = await observe(server, () => run(document, input, { as: mallory.id }));
      expectErrors(result, 'INSUFFICIENT_FUNDS', ['input', 'amount']);
      expect(changes.balances).toEqual({});
    }
  });

  it('a replay of heidi\'s key by mallory is mallory\'s own new operation, not heidi\'s stored outcome', async () => {
    const idempotencyKey = newKey();
    const heidis = await run(WITHDRAW, { amount: '1.00', currency: 'USD', idempotencyKey }, { as: heidi.id });
    expect(heidis.errors).toEqual([]);
    const { result, changes } = await observe(server, () => run(WITHDRAW, { amount: '1.00', currency: 'USD', idempotencyKey }, { as: mallory.id }));
    expectErrors(result, 'INSUFFICIENT_FUNDS', ['input', 'amount']);
    expect(result.viewer?.id).toBe(userId(mallory));
    expect(changes).toEqual(only({ idempotency_keys: 1 }));
  });

  it('the payload\'s viewer is the viewer: a deposit by mallory credits mallory only', async () => {
    const { result, changes } = await observe(server, () => run(DEPOSIT, { amount: '2.00', currency: 'USD', idempotencyKey: newKey() }, { as: mallory.id }));
    expect(result.viewer).toEqual({ id: userId(mallory), balance: { amount: '2.00', currency: 'USD' } });
    expect(changes.balances).toEqual({ [mallory.id]: 2_00n });
  });

  it('a transfer to the viewer under another spelling of their ID moves nothing (an ID decoder that were lenient would need SELF_TRANSFER)', async () => {
    const canonical = userId(mallory);
    const spellings = [
      canonical.replace(/=+$/, ''),
      Buffer.from(`User:${mallory.id}`).toString('base64url'),
      Buffer.from(`User:0${mallory.id}`).toString('base64'),
      Buffer.from(`User:${mallory.id}.0`).toString('base64'),
      Buffer.from(`User: ${mallory.id}`).toString('base64'),
    ].filter((id) => id !== canonical);
    for (const to of spellings) {
      const { result, changes } = await observe(server, () =>
        run(TRANSFER, { to, amount: '1.00', currency: 'USD', idempotencyKey: newKey() }, { as: mallory.id }),
      );
      expect(result.entry).toBeNull();
      expect(result.errors.map((error) => error.field)).toEqual([['input', 'to']]);
      expect(['SELF_TRANSFER', 'INVALID_INPUT']).toContain(result.errors[0]!.code);
      expect(changes).toEqual(NOTHING);
    }
  });

  it('mutations over GET are refused, so a link cannot write: nothing written', async () => {
    const query = `mutation { deposit(input: { amount: "1.00", currency: USD, idempotencyKey: "${newKey()}" }) { errors { code } } }`;
    const token = await server.tokenFor(mallory.id);
    const { result, changes } = await observe(server, () =>
      server.fetch(`/graphql?query=${encodeURIComponent(query)}`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } }),
    );
    expect(result.status).toBe(405);
    expectNoInternals(await result.text());
    expect(changes).toEqual(NOTHING);
  });

  describe('a signed, unexpired token of a user who no longer exists', () => {
    // Tokens are checked by signature alone and live 30 days, while the schema lets a user row be deleted
    // (ON DELETE CASCADE). `{ viewer }` answers null for such a token; each mutation must refuse it as cleanly.
    let ghost: UserRow;
    let target: UserRow;
    beforeAll(async () => {
      ghost = await createUser(db, { username: 'ghost' });
      target = await createUser(db, { username: 'target' });
      await db.delete(users).where(eq(users.id, ghost.id));
    });

    it('(control: the token is valid, and viewer is null)', async () => {
      const response = await server.graphql('{ viewer { id } }', { as: ghost.id });
      expect(response.status).toBe(200);
      expect(response.body).toEqual(withCost({ data: { viewer: null } }));
    });

    const WRITES: [string, string, () => Record<string, unknown>][] = [
      ['createPost', CREATE_POST, () => ({ body: 'from beyond' })],
      ['followUser', FOLLOW, () => ({ userId: userId(target) })],
      ['unfollowUser', UNFOLLOW, () => ({ userId: userId(target) })],
      ['deposit', DEPOSIT, () => ({ amount: '1.00', currency: 'USD', idempotencyKey: newKey() })],
      ['withdraw', WITHDRAW, () => ({ amount: '1.00', currency: 'USD', idempotencyKey: newKey() })],
      ['transfer', TRANSFER, () => ({ to: userId(target), amount: '1.00', currency: 'USD', idempotencyKey: newKey() })],
    ];

    it.each(WRITES)('%s is refused as UNAUTHENTICATED, and nothing is written', async (_name, document, input) => {
      const { result, changes, events } = await observe(server, () => sendRaw(server, document, { as: ghost.id, variables: { input: input() } }));
      expect(codesOf(result.body), result.text).toEqual(['UNAUTHENTICATED']);
      expect(changes).toEqual(NOTHING);
      expect(events).toEqual([]);
    });
  });

  ledgerStaysSound();
});

describe('concurrent writes keep every rule', () => {
  it('withdrawals racing for one balance: as many succeed as it covers, the rest are INSUFFICIENT_FUNDS', async () => {
    const racer = await createUser(db, {});
    await fund(racer, 10_00n);
    const { result, changes } = await observe(server, () =>
      Promise.all(Array.from({ length: 6 }, () => run(WITHDRAW, { amount: '3.00', currency: 'USD', idempotencyKey: newKey() }, { as: racer.id }))),
    );
    const succeeded = result.filter((payload) => payload.errors.length === 0);
    expect(succeeded).toHaveLength(3);
    for (const payload of result.filter((each) => each.errors.length > 0)) expectErrors(payload, 'INSUFFICIENT_FUNDS', ['input', 'amount']);
    expect(succeeded.map((payload) => payload.entry!.balanceAfter.amount).sort()).toEqual(['1.00', '4.00', '7.00']);
    expect(changes).toEqual(only({ transactions: 3, idempotency_keys: 6 }, { [racer.id]: -9_00n }));
  });

  it('transfers in both directions between two users at once: no deadlock, every one moves money', async () => {
    const left = await createUser(db, {});
    const right = await createUser(db, {});
    await fund(left, 100_00n);
    await fund(right, 100_00n);
    const send = (from: UserRow, to: UserRow) => run(TRANSFER, { to: userId(to), amount: '1.00', currency: 'USD', idempotencyKey: newKey() }, { as: from.id });
    const { result, changes } = await observe(server, () =>
      Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? send(left, right) : send(right, left)))),
    );
    for (const payload of result) expect(payload.errors).toEqual([]);
    expect(changes).toEqual(only({ transactions: 20, idempotency_keys: 10 }));
    expect(await balanceOf(left)).toBe(100_00n);
    expect(await balanceOf(right)).toBe(100_00n);
  });

  it('sign-ups racing for one username (in different cases): one wins, the others are USERNAME_TAKEN', async () => {
    const names = ['racer', 'RACER', 'Racer', 'rAcEr'];
    const { result, changes } = await observe(server, () =>
      Promise.all(names.map((username, i) => run<SignUpPayload>(SIGN_UP, { username, name: 'Racer', email: `racer${i}@example.test` }))),
    );
    expect(result.filter((payload) => payload.errors.length === 0)).toHaveLength(1);
    for (const payload of result.filter((each) => each.errors.length > 0)) expectErrors(payload, 'USERNAME_TAKEN', ['input', 'username']);
    expect(changes).toEqual(only({ users: 1, accounts: 1 }));
  });

  ledgerStaysSound();
});

describe('events: one per committed write, with its ids; none for failures or replays', () => {
  it('tells each write as it commits, in order, and nothing else', async () => {
    const seen: DomainEvent[] = [];
    const stop = server.events.subscribe((event) => void seen.push(event));
    try {
      const ivan = await run<SignUpPayload>(SIGN_UP, { username: 'ivan', name: 'Ivan', email: 'ivan@example.test' });
      const judy = await run<SignUpPayload>(SIGN_UP, { username: 'judy', name: 'Judy', email: 'judy@example.test' });
      await run<SignUpPayload>(SIGN_UP, { username: 'IVAN', name: 'Ivan again', email: 'ivan2@example.test' });
      const ivanId = rowIdOf(ivan.user!.id);
      const judyId = rowIdOf(judy.user!.id);

      const post = await run<PostPayload>(CREATE_POST, { body: 'first!' }, { as: ivanId });
      await run<PostPayload>(CREATE_POST, { body: '   ' }, { as: ivanId });

      await run<FollowPayload>(FOLLOW, { userId: judy.user!.id }, { as: ivanId });
      await run<FollowPayload>(FOLLOW, { userId: globalId('User', judyId) }, { as: ivanId });
      await run<FollowPayload>(FOLLOW, { userId: globalId('User', ivanId) }, { as: ivanId });
      await run<FollowPayload>(UNFOLLOW, { userId: globalId('User', judyId) }, { as: ivanId });
      await run<FollowPayload>(UNFOLLOW, { userId: globalId('User', judyId) }, { as: ivanId });

      const depositInput = { amount: '30.00', currency: 'USD', idempotencyKey: 'events-1' };
      const deposit = await run(DEPOSIT, depositInput, { as: ivanId });
      await run(DEPOSIT, depositInput, { as: ivanId });
      await run(WITHDRAW, { amount: '100.00', currency: 'USD', idempotencyKey: 'events-2' }, { as: ivanId });
      await run(DEPOSIT, { amount: '30.00', currency: 'EUR', idempotencyKey: 'events-3' }, { as: ivanId });
      const transferInput = { to: globalId('User', judyId), amount: '10.00', currency: 'USD', idempotencyKey: 'events-4' };
      const transfer = await run(TRANSFER, transferInput, { as: ivanId });
      await run(TRANSFER, transferInput, { as: ivanId });
      await run(TRANSFER, { ...transferInput, amount: '11.00' }, { as: ivanId });
      const withdraw = await run(WITHDRAW, { amount: '0.01', currency: 'USD', idempotencyKey: 'events-5' }, { as: judyId });

      expect(seen).toEqual([
        { type: 'user.signedUp', userId: ivanId },
        { type: 'user.signedUp', userId: judyId },
        { type: 'post.created', postId: rowIdOf(post.post!.id), authorId: ivanId },
        { type: 'follow.created', followerId: ivanId, followeeId: judyId },
        { type: 'follow.removed', followerId: ivanId, followeeId: judyId },
        { type: 'ledger.moved', entryIds: [rowIdOf(deposit.entry!.id)], userIds: [ivanId] },
        { type: 'ledger.moved', entryIds: [rowIdOf(transfer.entry!.id)], userIds: [ivanId, judyId] },
        { type: 'ledger.moved', entryIds: [rowIdOf(withdraw.entry!.id)], userIds: [judyId] },
      ]);
    } finally {
      stop();
    }
  });

  it('a listener that throws does not fail the committed write it was told of', async () => {
    const stop = server.events.subscribe(() => {
      throw new Error('listener down');
    });
    try {
      const kim = await createUser(db, {});
      const { result, changes } = await observe(server, () => run<PostPayload>(CREATE_POST, { body: 'still posted' }, { as: kim.id }));
      expect(result.errors).toEqual([]);
      expect(result.post?.body).toBe('still posted');
      expect(changes).toEqual(only({ posts: 1 }));
    } finally {
      stop();
    }
  });

  ledgerStaysSound();
});

describe('SQL injection payloads are plain data in every mutation', () => {
  let writer: UserRow;
  let tablesBefore: string[];

  const publicTables = async () =>
    rowsOf<{ table_name: string }>(
      await db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`),
    ).map((row) => row.table_name);

  beforeAll(async () => {
    writer = await createUser(db, { username: 'writer' });
    tablesBefore = await publicTables();
  });

  it.each(INJECTION_PAYLOADS)('%j as a post body', async (payload) => {
    const { result, changes } = await observe(server, () => run<PostPayload>(CREATE_POST, { body: payload }, { as: writer.id }));
    expect(result.errors).toEqual([]);
    expect(result.post?.body).toBe(payload);
    expect(changes).toEqual(only({ posts: 1 }));
    const [row] = await db.select({ body: posts.body }).from(posts).where(eq(posts.id, rowIdOf(result.post!.id)));
    expect(row!.body).toBe(payload);
  });

  it.each(INJECTION_PAYLOADS)('%j as a deposit description', async (payload) => {
    const { result, changes } = await observe(server, () =>
      run(DEPOSIT, { amount: '0.01', currency: 'USD', description: payload, idempotencyKey: newKey() }, { as: writer.id }),
    );
    expect(result.errors).toEqual([]);
    expect(result.entry?.description).toBe(payload);
    expect(changes).toEqual(only({ transactions: 1, idempotency_keys: 1 }, { [writer.id]: 1n }));
    const [row] = await db.select({ description: transactions.description }).from(transactions).where(eq(transactions.id, rowIdOf(result.entry!.id)));
    expect(row!.description).toBe(payload);
  });

  /** A payload made a valid username: 3 to 50 characters, no spaces at its ends. */
  const asUsername = (payload: string) => [...payload].slice(0, 50).join('').trim().padEnd(3, '_');

  it.each(INJECTION_PAYLOADS.map((payload, index) => [payload, index] as const))('%j as a signUp username', async (payload, index) => {
    const username = asUsername(payload);
    const { result, changes } = await observe(server, () =>
      run<SignUpPayload>(SIGN_UP, { username, name: username, email: `injection${index}@example.test` }),
    );
    expect(result.errors).toEqual([]);
    expect(result.user).toMatchObject({ username, name: username });
    expect(changes).toEqual(only({ users: 1, accounts: 1 }));
    const found = await server.graphql<{ user: { id: string } | null }>('query ($u: String) { user(username: $u) { id } }', { variables: { u: username } });
    expect(found.body.data!.user?.id).toBe(result.user!.id);
    const [row] = await db.select({ username: users.username }).from(users).where(eq(users.id, rowIdOf(result.user!.id)));
    expect(row!.username).toBe(username);
  });

  it.each(INJECTION_PAYLOADS)('%j as an idempotency key, stored verbatim and replayed by it', async (payload) => {
    const input = { amount: '0.02', currency: 'USD', idempotencyKey: payload };
    const { result, changes } = await observe(server, () => run(DEPOSIT, input, { as: writer.id }));
    expect(result.errors).toEqual([]);
    expect(changes).toEqual(only({ transactions: 1, idempotency_keys: 1 }, { [writer.id]: 2n }));
    const stored = await db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.userId, writer.id), eq(idempotencyKeys.key, payload)));
    expect(stored).toHaveLength(1);
    const [entry] = await db.select({ key: transactions.idempotencyKey }).from(transactions).where(eq(transactions.id, rowIdOf(result.entry!.id)));
    expect(entry!.key).toBe(payload);
    const replay = await observe(server, () => run(DEPOSIT, input, { as: writer.id }));
    expect(replay.result).toEqual(result);
    expect(replay.changes).toEqual(NOTHING);
  });

  it('leave every table in place', async () => {
    expect(await publicTables()).toEqual(tablesBefore);
    expect(tablesBefore).toEqual(expect.arrayContaining(['accounts', 'follows', 'idempotency_keys', 'posts', 'transactions', 'users']));
  });

  ledgerStaysSound();
});

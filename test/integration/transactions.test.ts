/**
 * User.transactions: the viewer's own ledger, newest first, paged both ways, narrowed by kind and by a
 * [from, to) time range; the range and the cursors combine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEntry, createUser } from '../helpers/factories.js';
import {
  at,
  insertionOrder,
  newestFirst,
  PAGE_ARGUMENTS,
  PAGE_INFO,
  PAGE_VARIABLES,
  PAGING_SLOTS,
  pagingContract,
  walkBackward,
  walkForward,
  type Page,
  type PageArgs,
  type PagingFixture,
} from '../helpers/paging.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { TransactionKind, TransactionRow, UserRow } from '../../src/db/schema.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

interface EntryNode {
  description: string;
  kind: TransactionKind;
  createdAt: string;
  amount: { amount: string; currency: string };
  counterparty: { username: string } | null;
}

interface Filter {
  kind?: TransactionKind;
  from?: string;
  to?: string;
}

const LEDGER = /* GraphQL */ `
  query Ledger($filter: TransactionFilter, ${PAGE_VARIABLES}) {
    viewer {
      transactions(filter: $filter, ${PAGE_ARGUMENTS}) {
        edges { cursor node { description kind createdAt amount { amount currency } counterparty { username } } }
        ${PAGE_INFO}
      }
    }
  }
`;

const ledgerOf =
  (viewer: UserRow, filter?: Filter) =>
  async (args: PageArgs): Promise<Page<EntryNode>> => {
    const response = await server.graphql<{ viewer: { transactions: Page<EntryNode> } }>(LEDGER, {
      variables: { filter, ...args },
      as: viewer.id,
    });
    expect(response.body.errors).toBeUndefined();
    return response.body.data!.viewer.transactions;
  };

const KINDS: TransactionKind[] = ['DEPOSIT', 'WITHDRAWAL', 'TRANSFER_IN', 'TRANSFER_OUT'];
const AMOUNTS: Record<TransactionKind, bigint> = { DEPOSIT: 500n, WITHDRAWAL: -100n, TRANSFER_IN: 200n, TRANSFER_OUT: -300n };
/** The same amounts as the API writes them (USD, 2 decimal places), the opening deposit included. */
const AMOUNT_TEXT: Record<string, string> = { '1000000': '10000.00', '500': '5.00', '-100': '-1.00', '200': '2.00', '-300': '-3.00' };

const key = (entry: EntryNode) => entry.description;

let owner: UserRow;
let peer: UserRow;
let pauper: UserRow;
/** The owner's ledger in connection order. */
let ledger: TransactionRow[];

beforeAll(async () => {
  const db = server.database.db;
  owner = await createUser(db);
  peer = await createUser(db);
  pauper = await createUser(db);
  // The first entry inserted is a large deposit, so no later one overdraws, whatever its instant.
  const order = insertionOrder(PAGING_SLOTS.length);
  const rows: TransactionRow[] = [];
  for (const [k, index] of order.entries()) {
    const kind = k === 0 ? 'DEPOSIT' : KINDS[k % 4]!;
    const transfer = kind === 'TRANSFER_IN' || kind === 'TRANSFER_OUT';
    rows.push(
      await addEntry(db, owner.id, {
        kind,
        amount: k === 0 ? 1_000_000n : AMOUNTS[kind],
        createdAt: at(PAGING_SLOTS[index]!),
        description: `entry ${index}`,
        ...(transfer ? { counterpartyId: peer.id, transferId: 1000 + k } : {}),
      }),
    );
  }
  // The peer's own ledger, at the same instants, is not the owner's.
  await addEntry(db, peer.id, { kind: 'DEPOSIT', amount: 50_000n, createdAt: at(5), description: 'peer deposit' });
  for (const slot of [0, 5, 5, 18]) {
    await addEntry(db, peer.id, { kind: 'WITHDRAWAL', amount: -10n, createdAt: at(slot), description: `peer ${slot}` });
  }
  ledger = newestFirst(rows, (entry) => ({ at: entry.createdAt, id: entry.id }));
});

describe('User.transactions', () => {
  let fixture: PagingFixture<EntryNode>;
  beforeAll(() => {
    fixture = { fetch: ledgerOf(owner), expected: ledger.map((entry) => entry.description), empty: ledgerOf(pauper) };
  });

  pagingContract(key, () => fixture);

  it('shows each entry as written: kind, signed amount, instant, counterparty for transfers only', async () => {
    const page = await ledgerOf(owner)({ first: 100 });
    expect(page.edges.map((edge) => edge.node)).toEqual(
      ledger.map((entry) => ({
        description: entry.description,
        kind: entry.kind,
        createdAt: entry.createdAt.toISOString(),
        amount: { amount: AMOUNT_TEXT[entry.amount.toString()], currency: 'USD' },
        counterparty: entry.counterpartyId === null ? null : { username: peer.username },
      })),
    );
  });

  describe('filter', () => {
    it.each(KINDS)('by kind %s: walks forward and backward over exactly the entries of that kind', async (kind) => {
      const expected = ledger.filter((entry) => entry.kind === kind).map((entry) => entry.description);
      expect(expected.length).toBeGreaterThanOrEqual(6);
      const fetch = ledgerOf(owner, { kind });
      expect(await walkForward(fetch, 2, key, expected.length)).toEqual(expected);
      expect(await walkBackward(fetch, 2, key, expected.length)).toEqual(expected);
    });

    it('by range: from is inclusive, to exclusive, and the walk stays inside it both ways', async () => {
      const from = at(15);
      const to = at(5);
      const expected = ledger.filter((entry) => entry.createdAt >= from && entry.createdAt < to).map((entry) => entry.description);
      // The bounds fall on entries: two at `from` (kept), nine at `to` (left out).
      expect(ledger.filter((entry) => entry.createdAt.getTime() === from.getTime())).toHaveLength(2);
      expect(ledger.filter((entry) => entry.createdAt.getTime() === to.getTime())).toHaveLength(9);
      expect(expected).toHaveLength(12);
      const fetch = ledgerOf(owner, { from: from.toISOString(), to: to.toISOString() });
      expect(await walkForward(fetch, 3, key, expected.length)).toEqual(expected);
      expect(await walkBackward(fetch, 5, key, expected.length)).toEqual(expected);
      expect((await fetch({})).edges.map((edge) => key(edge.node))).toEqual(expected);
    });

    it('by one bound only: from alone, to alone', async () => {
      const keysOf = (page: Page<EntryNode>) => page.edges.map((edge) => key(edge.node));
      const since = at(5);
      expect(keysOf(await ledgerOf(owner, { from: since.toISOString() })({ first: 100 }))).toEqual(
        ledger.filter((entry) => entry.createdAt >= since).map((entry) => entry.description),
      );
      expect(keysOf(await ledgerOf(owner, { to: since.toISOString() })({ first: 100 }))).toEqual(
        ledger.filter((entry) => entry.createdAt < since).map((entry) => entry.description),
      );
    });

    it('by kind and range together, with an offset in the range\'s time zone', async () => {
      const expected = ledger
        .filter((entry) => entry.kind === 'WITHDRAWAL' && entry.createdAt >= at(16) && entry.createdAt < at(1))
        .map((entry) => entry.description);
      expect(expected.length).toBeGreaterThanOrEqual(3);
      // The same instants written with a +02:00 offset.
      const local = (date: Date) => new Date(date.getTime() + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
      const fetch = ledgerOf(owner, { kind: 'WITHDRAWAL', from: local(at(16)), to: local(at(1)) });
      expect(await walkForward(fetch, 2, key, expected.length)).toEqual(expected);
    });

    it('answers a range without entries with an empty connection', async () => {
      const page = await ledgerOf(owner, { from: at(-5).toISOString(), to: at(-10).toISOString() })({ first: 10 });
      expect(page).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } });
    });

    it.each([
      ['equal to', 0],
      ['later than', 60_000],
    ])('rejects from %s to: BAD_USER_INPUT naming the filter', async (_label, gap) => {
      const from = at(5);
      const to = new Date(from.getTime() - gap);
      const response = await server.graphql(LEDGER, {
        variables: { filter: { from: from.toISOString(), to: to.toISOString() }, first: 5 },
        as: owner.id,
      });
      expect(response.status).toBe(200);
      expect(response.body.errors).toHaveLength(1);
      const [error] = response.body.errors!;
      expect(error!.extensions?.['code']).toBe('BAD_USER_INPUT');
      expect(error!.message).toMatch(/"filter\.from" must be earlier than "filter\.to"/);
      expect(error!.path).toEqual(['viewer', 'transactions']);
    });
  });

  describe('privacy', () => {
    const OTHERS_LEDGER = /* GraphQL */ `
      query Others($username: String!) { user(username: $username) { username transactions(first: 5) { edges { cursor } } } }
    `;

    it('is forbidden to another signed-in user', async () => {
      const response = await server.graphql(OTHERS_LEDGER, { variables: { username: owner.username }, as: peer.id });
      expect(response.body.data).toEqual({ user: { username: owner.username, transactions: null } });
      expect(response.body.errors?.map((error) => error.extensions?.['code'])).toEqual(['FORBIDDEN']);
    });

    it('needs a signed-in viewer', async () => {
      const response = await server.graphql(OTHERS_LEDGER, { variables: { username: owner.username } });
      expect(response.body.data).toEqual({ user: { username: owner.username, transactions: null } });
      expect(response.body.errors?.map((error) => error.extensions?.['code'])).toEqual(['UNAUTHENTICATED']);
    });
  });
});

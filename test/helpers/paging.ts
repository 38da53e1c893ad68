/**
 * The paging contract every connection keeps, written once and registered by each connection's test file:
 * newest first, ties on the timestamp broken by id descending, every row exactly once whichever way a client
 * pages, and pageInfo as src/schema/pagination.ts (toConnection) defines it: going forward, hasPreviousPage
 * says whether an `after` cursor was given; going backward, hasNextPage says whether a `before` cursor was.
 */
import { expect, it } from 'vitest';

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Page<N> {
  edges: { cursor: string; node: N }[];
  pageInfo: PageInfo;
}

export interface PageArgs {
  first?: number;
  last?: number;
  after?: string;
  before?: string;
}

/** Requests one page of a connection with these arguments (as variables) and returns it, failing on errors. */
export type FetchPage<N> = (args: PageArgs) => Promise<Page<N>>;

/** The selection every paging test reads; the variables every connection query declares. */
export const PAGE_INFO = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';
export const PAGE_VARIABLES = '$first: Int, $last: Int, $after: String, $before: String';
export const PAGE_ARGUMENTS = 'first: $first, last: $last, after: $after, before: $before';

const EPOCH = Date.UTC(2026, 0, 1);

/** The instant of a sort slot: slot 0 is the newest, each next slot a minute older; equal slots are equal instants. */
export const at = (slot: number) => new Date(EPOCH - slot * 60_000);

/**
 * Sort slots of the 30 rows of a paging fixture. Rows 6–14 share one instant, so page boundaries fall inside
 * that group for every walk size below, whichever end a walk starts from; rows 1–2, 17–18 and 25–26 tie too.
 */
export const PAGING_SLOTS = [0, 1, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 7, 8, 8, 9, 10, 11, 12, 13, 14, 15, 15, 16, 17, 18];
export const TIE_GROUP: readonly [number, number] = [6, 15];
export const WALK_SIZES = [4, 7];

/**
 * A fixed permutation of 0..n-1 (n not a multiple of 11): rows are inserted in this order, so ids do not follow
 * the timestamps and an order by id alone, or by timestamp alone, shows up as a wrong order.
 */
export const insertionOrder = (n: number) => Array.from({ length: n }, (_, i) => (i * 11) % n);

/** The connection order: newest first, ties broken by id descending. */
export function newestFirst<R>(rows: readonly R[], keyOf: (row: R) => { at: Date; id: number }): R[] {
  return [...rows].sort((a, b) => {
    const x = keyOf(a);
    const y = keyOf(b);
    return y.at.getTime() - x.at.getTime() || y.id - x.id;
  });
}

function expectCursorsOfEdges<N>(page: Page<N>) {
  expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
  expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
  expect(new Set(page.edges.map((edge) => edge.cursor)).size).toBe(page.edges.length);
}

/**
 * Pages forward with first/after from the start until hasNextPage is false, checking every page on the way,
 * and returns the keys of all the nodes seen, in order.
 */
export async function walkForward<N>(fetch: FetchPage<N>, size: number, keyOf: (node: N) => string, total: number) {
  const keys: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages <= Math.ceil(total / size) + 1; pages += 1) {
    const page = await fetch(after === undefined ? { first: size } : { first: size, after });
    expectCursorsOfEdges(page);
    expect(page.pageInfo.hasPreviousPage).toBe(after !== undefined);
    keys.push(...page.edges.map((edge) => keyOf(edge.node)));
    if (!page.pageInfo.hasNextPage) {
      expect(page.edges.length).toBeLessThanOrEqual(size);
      return keys;
    }
    expect(page.edges).toHaveLength(size);
    after = page.pageInfo.endCursor!;
  }
  throw new Error(`walkForward: hasNextPage still true after ${keys.length} of ${total} rows`);
}

/** Pages backward with last/before from the end until hasPreviousPage is false; returns the keys newest first. */
export async function walkBackward<N>(fetch: FetchPage<N>, size: number, keyOf: (node: N) => string, total: number) {
  const pages: string[][] = [];
  let before: string | undefined;
  for (let count = 0; count <= Math.ceil(total / size) + 1; count += 1) {
    const page = await fetch(before === undefined ? { last: size } : { last: size, before });
    expectCursorsOfEdges(page);
    expect(page.pageInfo.hasNextPage).toBe(before !== undefined);
    pages.unshift(page.edges.map((edge) => keyOf(edge.node)));
    if (!page.pageInfo.hasPreviousPage) {
      expect(page.edges.length).toBeLessThanOrEqual(size);
      return pages.flat();
    }
    expect(page.edges).toHaveLength(size);
    before = page.pageInfo.startCursor!;
  }
  throw new Error(`walkBackward: hasPreviousPage still true after ${pages.flat().length} of ${total} rows`);
}

/** The walk's premise: the fixture has the rows of PAGING_SLOTS, and a page boundary falls inside the tie group. */
function expectTiesAcrossBoundaries(expected: readonly string[], size: number, direction: 'forward' | 'backward') {
  expect(expected).toHaveLength(PAGING_SLOTS.length);
  const boundaries = Array.from({ length: Math.floor(expected.length / size) }, (_, i) =>
    direction === 'forward' ? (i + 1) * size : expected.length - (i + 1) * size,
  );
  expect(boundaries.some((boundary) => boundary > TIE_GROUP[0] && boundary < TIE_GROUP[1])).toBe(true);
}

export interface PagingFixture<N> {
  readonly fetch: FetchPage<N>;
  /** The keys of every row of the connection, in the order it must return them. */
  readonly expected: readonly string[];
  /** The same connection with no rows at all (a user with no posts, a viewer following no one, ...). */
  readonly empty: FetchPage<N> | null;
}

/**
 * Registers the paging contract's tests for one connection. `fixture` is read when the tests run (it is
 * typically built in a beforeAll); its rows follow PAGING_SLOTS, so ties span page boundaries. With
 * `empty: false` the file checks the connection without rows itself (Query.posts: before it has any).
 */
export function pagingContract<N>(
  keyOf: (node: N) => string,
  fixture: () => PagingFixture<N>,
  options: { empty: boolean } = { empty: true },
) {
  const keysOf = (page: Page<N>) => page.edges.map((edge) => keyOf(edge.node));

  it.each(WALK_SIZES)('walks forward with first/after (%i a page): every row once, newest first, ties by id descending', async (size) => {
    const { fetch, expected } = fixture();
    expectTiesAcrossBoundaries(expected, size, 'forward');
    expect(await walkForward(fetch, size, keyOf, expected.length)).toEqual(expected);
  });

  it.each(WALK_SIZES)('walks backward with last/before from the end (%i a page): the same rows in the same order', async (size) => {
    const { fetch, expected } = fixture();
    expectTiesAcrossBoundaries(expected, size, 'backward');
    expect(await walkBackward(fetch, size, keyOf, expected.length)).toEqual(expected);
  });

  it('returns every row in one page of 100, without a next or previous page', async () => {
    const { fetch, expected } = fixture();
    const page = await fetch({ first: 100 });
    expect(keysOf(page)).toEqual(expected);
    expect(page.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
  });

  it('turns around: last/before from a forward page, first/after from a backward page', async () => {
    const { fetch, expected } = fixture();
    const all = await fetch({ first: 100 });
    const cursor = (index: number) => all.edges[index]!.cursor;

    // The 3 rows just before row 10 (inside the tie group), then everything before it.
    const back = await fetch({ last: 3, before: cursor(10) });
    expect(keysOf(back)).toEqual(expected.slice(7, 10));
    expect(back.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const start = await fetch({ last: 50, before: cursor(10) });
    expect(keysOf(start)).toEqual(expected.slice(0, 10));
    expect(start.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });

    // Forward again from the oldest row of that backward page.
    const forward = await fetch({ first: 4, after: back.pageInfo.endCursor! });
    expect(keysOf(forward)).toEqual(expected.slice(10, 14));
    expect(forward.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
  });

  it('bounds a page by both after and before, and pages first/before from the newest row', async () => {
    const { fetch, expected } = fixture();
    const all = await fetch({ first: 100 });
    const cursor = (index: number) => all.edges[index]!.cursor;

    expect(keysOf(await fetch({ first: 100, after: cursor(3), before: cursor(12) }))).toEqual(expected.slice(4, 12));
    expect(keysOf(await fetch({ last: 2, after: cursor(3), before: cursor(12) }))).toEqual(expected.slice(10, 12));

    // `first` with `before` pages forward: the newest rows, stopping short of the cursor.
    const head = await fetch({ first: 3, before: cursor(12) });
    expect(keysOf(head)).toEqual(expected.slice(0, 3));
    expect(head.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const bounded = await fetch({ first: 20, before: cursor(5) });
    expect(keysOf(bounded)).toEqual(expected.slice(0, 5));
    expect(bounded.pageInfo.hasNextPage).toBe(false);
  });

  it('gives 20 edges when neither first nor last is given', async () => {
    const { fetch, expected } = fixture();
    const page = await fetch({});
    expect(keysOf(page)).toEqual(expected.slice(0, 20));
    expect(page.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
  });

  it('takes the oldest rows with last alone', async () => {
    const { fetch, expected } = fixture();
    const page = await fetch({ last: 5 });
    expect(keysOf(page)).toEqual(expected.slice(-5));
    expect(page.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
  });

  it('answers first: 0 with no edges and null cursors; hasNextPage says whether rows follow', async () => {
    const { fetch } = fixture();
    const all = await fetch({ first: 100 });

    const none = await fetch({ first: 0 });
    expect(none.edges).toEqual([]);
    expect(none.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: null, endCursor: null });

    const atEnd = await fetch({ first: 0, after: all.pageInfo.endCursor! });
    expect(atEnd.edges).toEqual([]);
    expect(atEnd.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });

    const lastNone = await fetch({ last: 0 });
    expect(lastNone.edges).toEqual([]);
    expect(lastNone.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });
  });

  it('answers past the last row with no edges', async () => {
    const { fetch } = fixture();
    const all = await fetch({ first: 100 });
    const page = await fetch({ first: 10, after: all.pageInfo.endCursor! });
    expect(page.edges).toEqual([]);
    expect(page.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });
    const before = await fetch({ last: 10, before: all.pageInfo.startCursor! });
    expect(before.edges).toEqual([]);
    expect(before.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: null, endCursor: null });
  });

  if (options.empty) {
    it('answers a connection without rows with no edges, no pages either way and null cursors', async () => {
      const { empty } = fixture();
      expect(empty).not.toBeNull();
      for (const args of [{}, { first: 10 }, { last: 10 }, { first: 0 }, { last: 0 }]) {
        expect(await empty!(args)).toEqual({
          edges: [],
          pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
        });
      }
    });
  }
}

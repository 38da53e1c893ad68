/**
 * Relay connection arguments → a keyset PageRequest, and fetched rows → a connection. Cursors are opaque
 * base64url of `[connection, timestamp ms, id]`: the connection name makes a cursor from another connection a
 * clear error instead of a silently wrong page.
 */
import type { DefaultConnectionArguments } from '@pothos/plugin-relay';
import { badInput } from '../errors.js';
import { storableInstant } from './instant.js';
import type { Key, PageRequest } from '../db/keyset.js';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/**
 * What a connection costs (src/cost/): its edges times the page asked for (`first` or `last`, the default page
 * size when neither is given). Spread into every `t.connection` options.
 */
export const PAGED = {
  directives: {
    listSize: { assumedSize: DEFAULT_PAGE_SIZE, slicingArguments: ['first', 'last'], sizedFields: ['edges'], requireOneSlicingArgument: false },
  },
} as const;

export function encodeCursor(connection: string, key: Key): string {
  return Buffer.from(JSON.stringify([connection, key.at.getTime(), key.id])).toString('base64url');
}

export function decodeCursor(connection: string, cursor: string, argument: 'after' | 'before'): Key {
  let parsed: unknown;
  try {
    parsed = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== 'string' ||
    !Number.isSafeInteger(parsed[1]) ||
    !Number.isSafeInteger(parsed[2]) ||
    parsed[2] < 1
  ) {
    throw badInput(`Argument "${argument}" is not a valid cursor: use a cursor returned by this connection.`, argument);
  }
  if (parsed[0] !== connection) {
    throw badInput(`Argument "${argument}" is a cursor of another connection ("${parsed[0]}"), not of "${connection}".`, argument);
  }
  const at = storableInstant(new Date(parsed[1] as number), `The time in cursor "${argument}"`, argument);
  return { at, id: parsed[2] as number };
}

function pageSize(value: number | null | undefined, argument: 'first' | 'last'): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (value < 0) throw badInput(`Argument "${argument}" must not be negative.`, argument);
  if (value > MAX_PAGE_SIZE) {
    throw badInput(`Argument "${argument}" is ${value}, above the maximum page size of ${MAX_PAGE_SIZE}: page with cursors instead.`, argument);
  }
  return value;
}

export function parsePageArgs(connection: string, args: DefaultConnectionArguments): PageRequest {
  const first = pageSize(args.first, 'first');
  const last = pageSize(args.last, 'last');
  if (first !== undefined && last !== undefined) {
    throw badInput('Pass either "first" (page forward) or "last" (page backward), not both.', 'last');
  }
  // An empty string is a malformed cursor, not an absent one: silently serving the first page would hide a bug.
  const after = args.after != null ? decodeCursor(connection, args.after, 'after') : undefined;
  const before = args.before != null ? decodeCursor(connection, args.before, 'before') : undefined;
  // `last` alone, or `before` without `first`, pages backward, as the Relay spec reads them.
  const backward = last !== undefined || (first === undefined && before !== undefined && after === undefined);
  return {
    size: first ?? last ?? DEFAULT_PAGE_SIZE,
    direction: backward ? 'backward' : 'forward',
    after,
    before,
  };
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/**
 * An edge whose cursor is encoded when a query reads it, not for every row of every page: the feed's clients ask
 * for nodes and `pageInfo.endCursor`, seldom for each edge's cursor, and encoding one is a JSON text and a base64
 * copy (1% of the feed's CPU in issue 24's profile).
 */
class Edge<R, T> {
  constructor(
    private readonly connection: string,
    private readonly row: R,
    private readonly keyOf: (row: R) => Key,
    readonly node: T,
  ) {}

  get cursor(): string {
    return encodeCursor(this.connection, this.keyOf(this.row));
  }
}

/**
 * Builds the connection from the rows a keyset query returned (up to size + 1, in query order). Going forward,
 * `hasPreviousPage` is true when an `after` cursor was given (its row, at least, lies before); going backward,
 * `hasNextPage` likewise follows `before`. Relay allows exactly this without an extra query.
 */
export function toConnection<R, T>(
  connection: string,
  page: PageRequest,
  rows: readonly R[],
  keyOf: (row: R) => Key,
  nodeOf: (row: R) => T,
): Connection<T> {
  const more = rows.length > page.size;
  const pageRows = more ? rows.slice(0, page.size) : [...rows];
  if (page.direction === 'backward') pageRows.reverse();
  const edges = pageRows.map((row) => new Edge(connection, row, keyOf, nodeOf(row)));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.direction === 'forward' ? more : page.before !== undefined,
      hasPreviousPage: page.direction === 'forward' ? page.after !== undefined : more,
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges.at(-1)?.cursor ?? null;
      },
    },
  };
}

/**
 * Keyset pagination in SQL. Every connection is ordered newest first by (sort timestamp, id); a cursor holds the
 * key of a row, never an offset, so a page 50,000 rows deep is one index range scan like the first page.
 */
import { and, asc, desc, sql, type AnyColumn, type SQL, type SQLWrapper } from 'drizzle-orm';

export interface Key {
  readonly at: Date;
  readonly id: number;
}

/** A validated page request (see schema/pagination.ts for how GraphQL arguments become one). */
export interface PageRequest {
  /** Rows wanted; the query fetches one more to learn whether another page exists. */
  readonly size: number;
  /** forward: `first`, newest first from `after`; backward: `last`, the rows just before `before`. */
  readonly direction: 'forward' | 'backward';
  readonly after: Key | undefined;
  readonly before: Key | undefined;
}

/** A table's key columns, or a subquery's (whose aliased fields are SQL, not columns). */
export interface KeyColumns {
  readonly at: AnyColumn | SQLWrapper;
  readonly id: AnyColumn | SQLWrapper;
}

/** The WHERE condition for a page: strictly older than `after`, strictly newer than `before`. */
export function keysetWhere(columns: KeyColumns, page: PageRequest): SQL | undefined {
  const row = sql`(${columns.at}, ${columns.id})`;
  return and(
    page.after ? sql`${row} < (${page.after.at.toISOString()}::timestamptz, ${page.after.id}::bigint)` : undefined,
    page.before ? sql`${row} > (${page.before.at.toISOString()}::timestamptz, ${page.before.id}::bigint)` : undefined,
  );
}

/** Newest first going forward; oldest first going backward (the page is reversed after the fetch). */
export function keysetOrder(columns: KeyColumns, page: PageRequest): SQL[] {
  return page.direction === 'forward'
    ? [desc(columns.at), desc(columns.id)]
    : [asc(columns.at), asc(columns.id)];
}

/** One more row than the page holds: its presence is `hasNextPage` (or `hasPreviousPage` going backward). */
export const keysetLimit = (page: PageRequest) => page.size + 1;

/** What a page's SQL depends on, beside its values: which way it goes and which cursors it has. */
export interface PageShape {
  readonly direction: PageRequest['direction'];
  readonly after: boolean;
  readonly before: boolean;
}

export const shapeOf = (page: PageRequest): PageShape => ({ direction: page.direction, after: page.after !== undefined, before: page.before !== undefined });
export const shapeKey = (shape: PageShape) => `${shape.direction}${shape.after ? ':after' : ''}${shape.before ? ':before' : ''}`;

/** keysetWhere with placeholders for the cursors' values, for a query prepared once per shape (src/db/prepared.ts). */
export function keysetWherePlaceholders(columns: KeyColumns, shape: PageShape): SQL | undefined {
  const row = sql`(${columns.at}, ${columns.id})`;
  return and(
    shape.after ? sql`${row} < (${sql.placeholder('afterAt')}::timestamptz, ${sql.placeholder('afterId')}::bigint)` : undefined,
    shape.before ? sql`${row} > (${sql.placeholder('beforeAt')}::timestamptz, ${sql.placeholder('beforeId')}::bigint)` : undefined,
  );
}

/** The values a prepared page query is bound to. */
export function pageValues(page: PageRequest): Record<string, unknown> {
  return {
    limit: keysetLimit(page),
    ...(page.after ? { afterAt: page.after.at.toISOString(), afterId: page.after.id } : {}),
    ...(page.before ? { beforeAt: page.before.at.toISOString(), beforeId: page.before.id } : {}),
  };
}

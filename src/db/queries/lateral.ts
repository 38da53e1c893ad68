/**
 * One page per parent in one statement: `unnest(parent ids) cross join lateral (keyset page)`. This is how a
 * list of users each showing `posts(first: 3)` or `followers(first: 5)` stays one SQL statement, not one per user.
 */
import { getTableColumns, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../client.js';
import { idArray } from '../id-array.js';
import { keysetOrder, type KeyColumns, type PageRequest } from '../keyset.js';

/** The current parent's id, for the lateral subquery's WHERE. */
export const parentId = sql`parent.id`;
/** The parent's position in the ids given: rows come out grouped by parent, in that order. */
const parentOrdinal = sql`parent.ord`;

export type WithParent<Row> = Row & { parentId: number };

/**
 * The columns of `table` (plus `extra` ones) as `subquery` exposes them, for an outer select over it. Derived
 * from the table, not listed by hand, so a column added to the table cannot be left out of one query's rows.
 */
export function subqueryColumns<T extends PgTable>(
  subquery: object,
  table: T,
  extra: readonly string[] = [],
): T['_']['columns'] {
  const names = [...Object.keys(getTableColumns(table)), ...extra];
  return Object.fromEntries(names.map((name) => [name, (subquery as Record<string, unknown>)[name]])) as T['_']['columns'];
}

export interface LateralPage {
  /** The subquery's own key columns (`subquery.createdAt`, not `posts.createdAt`): the outer order repeats its order. */
  readonly key: KeyColumns;
  readonly page: PageRequest;
  /** Selected columns beyond the table's own (aliased in the subquery). */
  readonly extra?: readonly string[];
}

/**
 * Runs `subquery` (aliased, selecting `table`'s columns plus `extra` ones, filtered on `parentId`, ordered and
 * limited as `page` says) once per id. The lateral subquery's ORDER BY only decides which rows make the page;
 * the order they come out in is the outer ORDER BY's: parent by parent, each page in the page's order.
 */
export function selectLateral<Row>(
  db: Db,
  ids: readonly number[],
  table: PgTable,
  subquery: object,
  { key, page, extra = [] }: LateralPage,
): Promise<WithParent<Row>[]> {
  const selection = {
    parentId: sql<number>`${parentId}`.mapWith(Number),
    ...subqueryColumns(subquery, table, extra),
  };
  return db
    .select(selection as never)
    .from(sql`unnest(${idArray(ids)}) with ordinality as parent(id, ord)`)
    .crossJoinLateral(subquery as never)
    .orderBy(parentOrdinal, ...keysetOrder(key, page));
}

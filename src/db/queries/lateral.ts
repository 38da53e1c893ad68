/**
 * One page per parent in one statement: `unnest(parent ids) cross join lateral (keyset page)`. This is how a
 * list of users each showing `posts(first: 3)` or `followers(first: 5)` stays one SQL statement, not one per user.
 */
import { getTableColumns, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../client.js';
import { idArray } from '../id-array.js';

/** The current parent's id, for the lateral subquery's WHERE. */
export const parentId = sql`parent.id`;

export type WithParent<Row> = Row & { parentId: number };

/**
 * Runs `subquery` (aliased, selecting `table`'s columns plus `extra` ones, filtered on `parentId`) once per id.
 */
export function selectLateral<Row>(
  db: Db,
  ids: readonly number[],
  table: PgTable,
  subquery: object,
  extra: readonly string[] = [],
): Promise<WithParent<Row>[]> {
  const names = [...Object.keys(getTableColumns(table)), ...extra];
  const selection = {
    parentId: sql<number>`parent.id`.mapWith(Number),
    ...Object.fromEntries(names.map((name) => [name, (subquery as Record<string, unknown>)[name]])),
  };
  return db
    .select(selection as never)
    .from(sql`unnest(${idArray(ids)}) as parent(id)`)
    .crossJoinLateral(subquery as never);
}

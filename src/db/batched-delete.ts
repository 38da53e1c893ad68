/**
 * Deleting what has aged out of a table in batches, so a large backlog is many short statements, each well inside
 * the statement timeout, not one long one that holds its locks and its WAL until the end.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { rowsOf, type Db } from './client.js';

const BATCH = 5_000;

/** Deletes the rows of `table` where `condition` holds, `batch` at a time until none is left; how many went. */
export async function deleteInBatches(db: Db, table: PgTable, condition: SQL, batch = BATCH): Promise<number> {
  let removed = 0;
  for (;;) {
    const deleted = rowsOf(await db.execute(sql`delete from ${table} where ctid in (select ctid from ${table} where ${condition} limit ${batch}) returning 1`));
    removed += deleted.length;
    if (deleted.length < batch) return removed;
  }
}

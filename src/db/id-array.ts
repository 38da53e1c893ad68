/**
 * Id lists as one bigint[] parameter, however long: the statement text stays the same for every count (one
 * pg_stat_statements entry), and no list can reach the protocol's limit of 65,535 bind parameters (`inArray`
 * sends one parameter per id). Both pg and PGlite send a JavaScript array as a PostgreSQL array literal.
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

export const idArray = (ids: readonly number[]): SQL => sql`${sql.param([...ids])}::bigint[]`;

/** `column = any($1::bigint[])`: the rows of a whole DataLoader batch in one statement. */
export const inIds = (column: AnyColumn, ids: readonly number[]): SQL => sql`${column} = any(${idArray(ids)})`;

/** `column = any($ids::bigint[])` with the ids a placeholder, for a query prepared once (src/db/prepared.ts). */
export const inIdsPlaceholder = (column: AnyColumn): SQL => sql`${column} = any(${sql.placeholder('ids')}::bigint[])`;

/**
 * Queries built once and bound per request. drizzle builds a query's SQL text from its builder every time it
 * runs (the `is()` checks, the selection, the column mapping: 28% of the feed's CPU in issue 12's profile); a
 * prepared query keeps the text and the row mapping, and a request only hands it its values
 * (`sql.placeholder`). Each distinct shape of a query (a page going forward or backward, from a cursor or not)
 * is its own prepared query, built the first time it is asked for, on the process's handle.
 *
 * They are unnamed: each run still sends Parse/Bind/Execute in one round trip, so PgBouncer in transaction mode
 * can run it on any server connection (a named statement lives on one connection only). The text is what is
 * kept, not a server-side plan.
 *
 * Its rows are mapped by a mapper compiled when it is prepared (src/db/row-mapper.ts), not drizzle's per-column one.
 *
 * A prepared query runs on the process's handle, outside any transaction; called with a transaction's handle,
 * the query is built on it and run inside it instead. Its statement is counted for the request that ran it
 * (requestOf), and for the database-wide hook like any other.
 */
import { is } from 'drizzle-orm';
import { PgTransaction } from 'drizzle-orm/pg-core';
import { requestOf, type Db } from './client.js';
import { withCompiledMapper } from './row-mapper.js';

/** What drizzle's `.prepare()` returns, as far as this needs it. */
interface Prepared<V, R> {
  execute(values: V): Promise<R>;
}

/**
 * A query of several shapes: `keyOf` names the shape of an input, `build` prepares a query for that shape on the
 * process's handle (once per shape and handle), and `valuesOf` binds an input to it.
 */
export function preparedShapes<I, V extends Record<string, unknown>, R>(
  keyOf: (input: I) => string,
  build: (db: Db, input: I) => { prepare(name?: string): Prepared<V, R> },
  valuesOf: (input: I) => V,
): (db: Db, input: I) => Promise<R> {
  const byHandle = new WeakMap<Db, Map<string, Prepared<V, R>>>();
  return (db, input) => {
    // A transaction lives for one request: its query is built on it and not kept.
    if (is(db, PgTransaction)) return build(db, input).prepare().execute(valuesOf(input));
    const request = requestOf(db);
    const shared = request?.shared ?? db;
    let shapes = byHandle.get(shared);
    if (!shapes) byHandle.set(shared, (shapes = new Map<string, Prepared<V, R>>()));
    const key = keyOf(input);
    let query = shapes.get(key);
    // No name: an unnamed statement (see above).
    if (!query) shapes.set(key, (query = withCompiledMapper(build(shared, input).prepare())));
    request?.onStatement();
    return query.execute(valuesOf(input));
  };
}

/** A query of one shape, prepared once (see preparedShapes). */
export function preparedQuery<V extends Record<string, unknown>, R>(build: (db: Db) => { prepare(name?: string): Prepared<V, R> }): (db: Db, values: V) => Promise<R> {
  return preparedShapes(
    () => '',
    (db) => build(db),
    (values: V) => values,
  );
}

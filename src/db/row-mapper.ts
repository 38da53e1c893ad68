/**
 * A prepared query's row mapping, worked out once when it is prepared instead of for every column of every row.
 * drizzle maps each row of a select with `mapResultRow`: for every column it asks what the field is (`is()`, a
 * prototype walk), walks the column's path with an iterator and builds the result with a reduce. For a page of
 * posts with their authors that is 220 columns a request, 8% of the feed's CPU in issue 24's profile. The mapper
 * here resolves each column's decoder and place once and does the same per row: the same objects, decoded by the
 * same `mapFromDriverValue`, left-joined tables whose columns are all null made null as drizzle makes them
 * (test/unit/row-mapper.test.ts holds it to drizzle's own mapping).
 */
import { Column, getTableName, is, SQL, Subquery } from 'drizzle-orm';

interface Decoder {
  mapFromDriverValue(value: unknown): unknown;
}

/** A selected field as drizzle orders them (its `orderSelectedFields`): where it goes and what it is. */
export interface SelectedField {
  readonly path: readonly string[];
  readonly field: unknown;
}

type Row = Record<string, unknown>;

function decoderOf(field: unknown): Decoder {
  if (is(field, Column)) return field;
  if (is(field, SQL)) return (field as unknown as { decoder: Decoder }).decoder;
  if (is(field, Subquery)) return (field as unknown as { _: { sql: { decoder: Decoder } } })._.sql.decoder;
  return (field as { sql: { decoder: Decoder } }).sql.decoder;
}

export function compileRowMapper(fields: readonly SelectedField[], joinsNotNullable: Record<string, boolean> | undefined): (row: unknown[]) => Row {
  const columns = fields.map(({ path, field }) => ({
    parents: path.slice(0, -1),
    key: path[path.length - 1]!,
    decoder: decoderOf(field),
    // A column of a joined table (`{ post: posts, author: users }`): a left join's table is null when all of its columns are.
    table: joinsNotNullable && is(field, Column) && path.length === 2 ? { object: path[0]!, name: getTableName(field.table) } : undefined,
  }));
  const nullable = joinsNotNullable && columns.some((column) => column.table && !joinsNotNullable[column.table.name]);
  return (row) => {
    const result: Row = {};
    // Per joined object: the table all its columns came null from so far, or false once one was not (drizzle's rule).
    const nullify: Record<string, string | false> | undefined = nullable ? {} : undefined;
    for (let index = 0; index < columns.length; index += 1) {
      const { parents, key, decoder, table } = columns[index]!;
      let node = result;
      for (const parent of parents) node = (node[parent] ??= {}) as Row;
      const raw = row[index];
      const value = raw === null ? null : decoder.mapFromDriverValue(raw);
      node[key] = value;
      if (nullify && table) {
        const seen = nullify[table.object];
        if (seen === undefined) nullify[table.object] = value === null ? table.name : false;
        else if (typeof seen === 'string' && seen !== table.name) nullify[table.object] = false;
      }
    }
    if (nullify) {
      for (const [object, name] of Object.entries(nullify)) if (typeof name === 'string' && !joinsNotNullable![name]) result[object] = null;
    }
    return result;
  };
}

/** What drizzle's node-postgres prepared select keeps (0.45): its fields, and the mapper it prefers when set. */
interface PreparedSelect {
  fields?: readonly SelectedField[];
  joinsNotNullableMap?: Record<string, boolean>;
  customResultMapper?: (rows: unknown[][]) => unknown;
}

/** Gives a prepared select its compiled mapper; anything else (a raw statement, a relational query) is left as it is. */
export function withCompiledMapper<P>(prepared: P): P {
  const query = prepared as PreparedSelect;
  if (!query.fields || query.customResultMapper) return prepared;
  const map = compileRowMapper(query.fields, query.joinsNotNullableMap);
  query.customResultMapper = (rows) => rows.map(map);
  return prepared;
}

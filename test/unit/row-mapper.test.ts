/**
 * The compiled row mapper (src/db/row-mapper.ts) against drizzle's own `mapResultRow`, on the selections Tally
 * prepares (a post with its author, inner and left joined, a table alone, computed columns) and on rows made to
 * reach every branch: nulls, a left-joined table all null (the object becomes null), partly null (it stays), and
 * timestamps and bigints through their columns' decoders. Generated rows, so no shape is missed by a hand list.
 */
import * as drizzle from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accounts, posts, users } from '../../src/db/schema.js';
import { compileRowMapper, type SelectedField } from '../../src/db/row-mapper.js';

/** drizzle's own mapping and field order: exported by its JavaScript, left out of its published types. */
const { mapResultRow, orderSelectedFields } = drizzle as unknown as {
  mapResultRow: (fields: readonly SelectedField[], row: unknown[], joins: Record<string, boolean> | undefined) => unknown;
  orderSelectedFields: (fields: unknown) => SelectedField[];
};

const SELECTIONS = {
  'a post with its author (inner join)': { fields: { post: posts, author: users }, joins: { posts: true, users: true } },
  'a post with its author (left join)': { fields: { post: posts, author: users }, joins: { posts: true, users: false } },
  'a user and an account (left join)': { fields: { user: users, account: accounts }, joins: { users: true, accounts: false } },
  'a table alone': { fields: { ...posts }, joins: undefined },
  'columns and computed values': { fields: { id: posts.id, at: posts.createdAt, total: sql<number>`count(*)`.mapWith(Number), nested: { name: users.name } }, joins: undefined },
} as const;

/** A driver value for a column, as pg hands it (text for timestamps and bigints), or null. */
const driverValue = fc.oneof(
  fc.constant(null),
  fc.integer({ min: 1, max: 1_000_000 }),
  fc.constantFrom('2026-01-01 00:05:00.123', '2025-06-02 12:00:00', '123456789012', 'text', 'USD'),
);

describe('the compiled row mapper', () => {
  for (const [name, { fields, joins }] of Object.entries(SELECTIONS)) {
    it(`maps ${name} as drizzle does`, () => {
      const ordered = orderSelectedFields(fields);
      const compiled = compileRowMapper(ordered, joins);
      fc.assert(
        fc.property(fc.array(driverValue, { minLength: ordered.length, maxLength: ordered.length }), fc.boolean(), (row, allNull) => {
          // Half the time a joined table's columns all come null, as a left join without a match sends them.
          const sent = allNull ? row.map((value, index) => (ordered[index]!.path[0] === ordered.at(-1)!.path[0] ? null : value)) : row;
          const safe = (map: () => unknown) => {
            try {
              return { value: map() };
            } catch (error) {
              return { threw: (error as Error).message };
            }
          };
          expect(safe(() => compiled(sent))).toEqual(safe(() => mapResultRow(ordered, sent, joins)));
        }),
        { seed: 2412, numRuns: 300 },
      );
    });
  }
});

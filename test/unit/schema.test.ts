import { readFileSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { NODE_TYPES } from '../../src/schema/builder.js';
import { schema, sortedSchema } from '../../src/schema/index.js';
import { printedSchema } from '../../src/schema/printed.js';

const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');

describe('schema.graphql', () => {
  it('is the printed schema (run `npm run schema:print` and commit it when this fails)', () => {
    expect(printedSchema(), 'schema.graphql is stale: run `npm run schema:print` and commit it').toBe(committed);
  });

  it('sortedSchema is the sorted form of the served schema', () => {
    expect(printSchema(sortedSchema)).toBe(printSchema(lexicographicSortSchema(schema)));
  });
});

describe('NODE_TYPES', () => {
  it('lists exactly the types that implement Node, so decodeGlobalID accepts every real ID', () => {
    const node = schema.getType('Node');
    const implementing = Object.values(schema.getTypeMap())
      .filter((type) => 'getInterfaces' in type && type.getInterfaces().some((i) => i === node))
      .map((type) => type.name)
      .sort();
    expect([...NODE_TYPES].sort()).toEqual(implementing);
  });
});

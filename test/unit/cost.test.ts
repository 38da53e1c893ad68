import { getNamedType, isLeafType, isListType, isNonNullType, isObjectType, type GraphQLField, type GraphQLOutputType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { listSizeOf, weightOf } from '../../src/cost/directives.js';
import { schema } from '../../src/schema/index.js';

type Field = GraphQLField<unknown, unknown>;
const isList = (type: GraphQLOutputType) => isListType(isNonNullType(type) ? type.ofType : type);

const fields = Object.values(schema.getTypeMap())
  .filter((type) => isObjectType(type) && !type.name.startsWith('__'))
  .flatMap((type) => Object.values((type as { getFields(): Record<string, Field> }).getFields()).map((field) => ({ owner: type.name, field })));

describe('the published cost model (schema.graphql) prices what the estimator prices', () => {
  it('a field sized by its parent\'s @listSize(sizedFields) is the only field of its type with a cost (pageInfo and the rest are free)', () => {
    const priced = [];
    for (const { field } of fields) {
      const sized = listSizeOf(field)?.sizedFields ?? [];
      if (sized.length === 0) continue;
      const returned = getNamedType(field.type) as unknown as { name: string; getFields(): Record<string, Field> };
      for (const other of Object.values(returned.getFields())) {
        if (!sized.includes(other.name) && weightOf(other) !== 0) priced.push(`${returned.name}.${other.name}`);
      }
    }
    expect(priced).toEqual([]);
  });

  it('every list of objects carries a @listSize or is sized by its parent: nothing rests on a gateway\'s default list size', () => {
    const sizedByParent = new Set(
      fields.flatMap(({ field }) => (listSizeOf(field)?.sizedFields ?? []).map((name) => `${getNamedType(field.type).name}.${name}`)),
    );
    const unsized = fields
      .filter(({ owner, field }) => isList(field.type) && !isLeafType(getNamedType(field.type)) && !listSizeOf(field) && !sizedByParent.has(`${owner}.${field.name}`))
      .map(({ owner, field }) => `${owner}.${field.name}`);
    expect(unsized).toEqual([]);
  });

  it('every connection is sized by first/last with the default page size assumed, and rateLimit is free', () => {
    const connections = fields.filter(({ field }) => getNamedType(field.type).name.endsWith('Connection'));
    expect(connections.length).toBeGreaterThanOrEqual(6);
    for (const { owner, field } of connections) {
      expect(listSizeOf(field), `${owner}.${field.name}`).toEqual({
        assumedSize: 20,
        slicingArguments: ['first', 'last'],
        sizedFields: ['edges'],
        requireOneSlicingArgument: false,
      });
    }
    expect(weightOf(schema.getQueryType()!.getFields()['rateLimit'] as Field)).toBe(0);
  });
});

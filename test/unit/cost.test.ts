import {
  getIntrospectionQuery,
  getNamedType,
  getOperationAST,
  graphqlSync,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  parse,
  type GraphQLField,
  type GraphQLOutputType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { listSizeOf, weightOf } from '../../src/cost/directives.js';
import { createCostModel } from '../../src/cost/estimate.js';
import { loadConfig } from '../../src/config.js';
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

describe('introspection is priced at what it returns, its lists sized from the schema (src/cost/introspection.ts)', () => {
  const model = createCostModel(schema);
  /** Requested cost, and the actual cost of the response introspection really gives (no SQL: the schema's own). */
  const price = (query: string) => {
    const document = parse(query);
    const operation = getOperationAST(document)!;
    const result = graphqlSync({ schema, source: query });
    expect(result.errors).toBeUndefined();
    return { requested: model.requested(document, operation, {}), actual: model.actual(document, operation, result.data) };
  };
  const graphiql = {
    'getIntrospectionQuery()': getIntrospectionQuery(),
    'with every option GraphiQL turns on': getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true }),
  };

  it.each(Object.entries(graphiql))('GraphiQL\'s query (%s) is priced within 2%% of its response, and under MAX_COST', (_, query) => {
    // With every introspection list assumed 1 long it was priced 71 for a response of 657.
    const { requested, actual } = price(query);
    expect(actual).toBeGreaterThan(500);
    expect(Math.abs(requested - actual)).toBeLessThanOrEqual(actual * 0.02);
    expect(requested).toBeLessThanOrEqual(loadConfig({ NODE_ENV: 'development' }).limits.maxCost);
  });

  it.each([
    ['every type\'s fields', '{ __schema { types { name fields { name type { name } } } } }'],
    ['fields of the types of fields', '{ __schema { types { fields { type { fields { type { name } } } } } } }'],
    ['arguments and input fields', '{ __schema { types { fields { args { type { inputFields { type { name } } } } } } directives { args { name } } } }'],
  ])('a walk over the whole schema (%s) is priced at least at what it returns', (_, query) => {
    const { requested, actual } = price(query);
    expect(requested).toBeGreaterThanOrEqual(actual);
    expect(requested).toBeLessThan(actual * 1.5);
  });

  it('one __schema is priced once per alias: ten cost ten times one (the limits refuse more than one)', () => {
    const once = '__schema { types { name fields { name type { name } } } }';
    const one = price(`{ ${once} }`);
    const ten = price(`{ ${Array.from({ length: 10 }, (_, i) => `s${i}: ${once}`).join(' ')} }`);
    expect(ten.requested).toBeGreaterThanOrEqual(ten.actual);
    expect(ten.requested).toBeGreaterThanOrEqual(10 * one.actual);
  });
});

/**
 * An operation's cost, twice: the requested cost before it runs (from the document, its variables and the
 * schema's `@cost`/`@listSize`: graphql-query-complexity walks the document, `estimate` below prices each
 * field), and the actual cost after it ran (the same prices over what the response really holds: a page asked
 * for 100 posts that returned 3 costs 3 posts). Both follow src/cost/directives.ts.
 *
 * A connection's `@listSize(sizedFields: ["edges"])` multiplies the cost of its edges by its page size. The
 * estimator multiplies the connection's whole selection instead, which is the same number because every other
 * field of a connection (`pageInfo`, `__typename`) costs 0 (test/unit/cost.test.ts holds the schema to that).
 *
 * Introspection's lists have no `@listSize`; they are sized from the schema itself (src/cost/introspection.ts).
 */
import {
  getNamedType,
  isCompositeType,
  isListType,
  isNonNullType,
  Kind,
  OperationTypeNode,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  type DocumentNode,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { fragmentsOf } from '../limits/fragments.js';
import { DEFAULT_LIST_SIZE, listSizeOf, MUTATION_COST, sizeFor, weightOf } from './directives.js';
import { introspectionSizes } from './introspection.js';

type Field = GraphQLField<unknown, unknown>;

/** Fields graphql-query-complexity evaluates (fragments once per spread) before it stops: its own default. */
const MAX_QUERY_NODES = 10_000;

/** Costs remembered per operation: one per value of its pricing variables (a page size of 1 to 100, say). */
const MAX_PRICES_PER_OPERATION = 256;

/** A variable not sent (its default applies), which no Int or Boolean value (nor null) can be. */
const UNSET = 'unset';

/** An operation's costs by the values of the variables its cost depends on (pricingVariables). */
interface Prices {
  readonly pricedBy: readonly string[];
  readonly costs: Map<string, number>;
}

/**
 * The variables an operation's cost can depend on: a page size (`first`, `last`, a `@listSize` slicing argument)
 * is an Int, and `@skip`/`@include` take a Boolean; no other variable changes what is walked. So the cost is a
 * function of these alone, and the production feed (`Feed($first, $after)`) is walked once per page size, not
 * once per request.
 */
function pricingVariables(operation: OperationDefinitionNode): string[] {
  return (operation.variableDefinitions ?? []).flatMap((definition) => {
    const type = definition.type.kind === Kind.NON_NULL_TYPE ? definition.type.type : definition.type;
    return type.kind === Kind.NAMED_TYPE && (type.name.value === 'Int' || type.name.value === 'Boolean') ? [definition.variable.name.value] : [];
  });
}

const isList = (type: GraphQLOutputType): boolean => isListType(isNonNullType(type) ? type.ofType : type);

export interface CostModel {
  /** The cost of `operation` before it runs; walked once per operation and value of the variables it depends on. */
  requested(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): number;
  /** The cost of what `data` holds, priced as `requested` prices it. */
  actual(document: DocumentNode, operation: OperationDefinitionNode, data: Record<string, unknown> | null | undefined): number;
}

export function createCostModel(schema: GraphQLSchema): CostModel {
  // The fields a parent's @listSize sizes ("PostConnection.edges"): the parent multiplies them, not they.
  const sized = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!('getFields' in type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields()) as Field[]) {
      const listSize = listSizeOf(field);
      for (const child of listSize?.sizedFields ?? []) sized.add(`${getNamedType(field.type).name}.${child}`);
    }
  }

  const introspection = introspectionSizes(schema);

  const estimate: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
    const weight = weightOf(field as Field);
    const assumed = introspection.get(`${type.name}.${field.name}`);
    if (assumed !== undefined) return assumed * (weight + childComplexity);
    const listSize = listSizeOf(field as Field);
    if (listSize?.sizedFields?.length) return weight + (sizeFor(listSize, args) ?? DEFAULT_LIST_SIZE) * childComplexity;
    if (!isList(field.type) || sized.has(`${type.name}.${field.name}`)) return weight + childComplexity;
    const size = (listSize && sizeFor(listSize, args)) ?? DEFAULT_LIST_SIZE;
    return size * (weight + childComplexity);
  };

  const prices = new WeakMap<OperationDefinitionNode, Prices>();
  const plans = new WeakMap<OperationDefinitionNode, Plan>();
  return {
    requested(document, operation, variables) {
      let known = prices.get(operation);
      if (!known) {
        known = { pricedBy: pricingVariables(operation), costs: new Map() };
        prices.set(operation, known);
      }
      const key = known.pricedBy.length === 0 ? '' : JSON.stringify(known.pricedBy.map((name) => (name in variables ? variables[name] : UNSET)));
      const cached = known.costs.get(key);
      if (cached !== undefined) return cached;
      // It walks the named operation only, and gives up (throws) past maxQueryNodes fields evaluated: a
      // fragment spread many times is walked as often, so a small document can stand for a huge tree.
      const fields = getComplexity({ schema, query: document, operationName: operation.name?.value, variables, estimators: [estimate], maxQueryNodes: MAX_QUERY_NODES });
      // Introspection's sizes are means, so its cost is fractional: a part of a point is charged as a whole one.
      const cost = Math.ceil(fields) + (operation.operation === OperationTypeNode.MUTATION ? MUTATION_COST : 0);
      if (known.costs.size < MAX_PRICES_PER_OPERATION) known.costs.set(key, cost);
      return cost;
    },
    actual(document, operation, data) {
      const base = operation.operation === OperationTypeNode.MUTATION ? MUTATION_COST : 0;
      if (!data) return base;
      let plan = plans.get(operation);
      if (!plan) {
        plan = planOf(schema, document, operation);
        plans.set(operation, plan);
      }
      return base + priceObject(plan, data);
    },
  };
}

/**
 * How to price a response object: for each response key the document selects under it, the fields that key may
 * stand for (one, unless fragments on different types use it for different fields), each with its weight and,
 * for objects, how to price what it holds. Built once per operation: pricing a response then only reads it.
 */
type Plan = readonly { readonly key: string; readonly readings: readonly Reading[] }[];

interface Reading {
  readonly weight: number;
  /** How to price the object (or each object of the list) the field returns; undefined for scalars and enums. */
  readonly within: Plan | undefined;
}

function planOf(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): Plan {
  const fragments = fragmentsOf(document);
  type Parent = ReturnType<typeof getNamedType> | undefined;

  const plan = (parent: Parent, selectionSets: readonly SelectionSetNode[]): Plan => {
    // Response key → field definition → the selection sets under it, merged as execution merges them.
    const keys = new Map<string, Map<Field, SelectionSetNode[]>>();
    const collect = (type: Parent, selectionSet: SelectionSetNode) => {
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          const name = selection.name.value;
          const field = name === '__schema' ? SchemaMetaFieldDef : name === '__type' ? TypeMetaFieldDef : fieldOf(type, name);
          if (!field) continue;
          const key = selection.alias?.value ?? name;
          const fields = keys.get(key) ?? new Map<Field, SelectionSetNode[]>();
          const selections = fields.get(field) ?? [];
          if (selection.selectionSet) selections.push(selection.selectionSet);
          keys.set(key, fields.set(field, selections));
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          collect(selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type, selection.selectionSet);
        } else {
          const fragment = fragments.get(selection.name.value);
          if (fragment) collect(schema.getType(fragment.typeCondition.name.value), fragment.selectionSet);
        }
      }
    };
    for (const selectionSet of selectionSets) collect(parent, selectionSet);
    return [...keys].map(([key, fields]) => ({
      key,
      readings: [...fields].map(([field, selections]) => {
        const type = getNamedType(field.type);
        return { weight: weightOf(field), within: isCompositeType(type) ? plan(type, selections) : undefined };
      }),
    }));
  };

  return plan(schema.getRootType(operation.operation) ?? undefined, [operation.selectionSet]);
}

/**
 * The cost of one response object. Keys absent from it (a fragment whose type did not match, a skipped field)
 * cost nothing. The response does not say an object's type, so a key with several readings is priced as the
 * dearest of them: a refund may fall short, never exceed what is owed.
 */
function priceObject(plan: Plan, value: Record<string, unknown>): number {
  let total = 0;
  for (const { key, readings } of plan) {
    const held = value[key];
    if (held === undefined || held === null) continue;
    let dearest = 0;
    for (const reading of readings) dearest = Math.max(dearest, priceValue(reading, held));
    total += dearest;
  }
  return total;
}

function priceValue(reading: Reading, value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (Array.isArray(value)) {
    let sum = 0;
    for (const item of value) sum += priceValue(reading, item);
    return sum;
  }
  if (!reading.within || typeof value !== 'object') return reading.weight;
  return reading.weight + priceObject(reading.within, value as Record<string, unknown>);
}

function fieldOf(type: ReturnType<typeof getNamedType> | undefined, name: string): Field | undefined {
  return type && 'getFields' in type ? (type.getFields()[name] as Field | undefined) : undefined;
}

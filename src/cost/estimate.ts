/**
 * An operation's cost, twice: the requested cost before it runs (from the document, its variables and the
 * schema's `@cost`/`@listSize`: graphql-query-complexity walks the document, `estimate` below prices each
 * field), and the actual cost after it ran (the same prices over what the response really holds: a page asked
 * for 100 posts that returned 3 costs 3 posts). Both follow src/cost/directives.ts.
 *
 * A connection's `@listSize(sizedFields: ["edges"])` multiplies the cost of its edges by its page size. The
 * estimator multiplies the connection's whole selection instead, which is the same number because every other
 * field of a connection (`pageInfo`, `__typename`) costs 0 (test/unit/cost.test.ts holds the schema to that).
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
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { DEFAULT_LIST_SIZE, listSizeOf, MUTATION_COST, sizeFor, weightOf } from './directives.js';

type Field = GraphQLField<unknown, unknown>;

/** Fields graphql-query-complexity evaluates (fragments once per spread) before it stops: its own default. */
const MAX_QUERY_NODES = 10_000;

const isList = (type: GraphQLOutputType): boolean => isListType(isNonNullType(type) ? type.ofType : type);

export interface CostModel {
  /** The cost of `operation` before it runs; cached per document when it has no variables. */
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

  const estimate: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
    const weight = weightOf(field as Field);
    const listSize = listSizeOf(field as Field);
    if (listSize?.sizedFields?.length) return weight + (sizeFor(listSize, args) ?? DEFAULT_LIST_SIZE) * childComplexity;
    if (!isList(field.type) || sized.has(`${type.name}.${field.name}`)) return weight + childComplexity;
    const size = (listSize && sizeFor(listSize, args)) ?? DEFAULT_LIST_SIZE;
    return size * (weight + childComplexity);
  };

  const cache = new WeakMap<OperationDefinitionNode, number>();

  return {
    requested(document, operation, variables) {
      const cached = cache.get(operation);
      if (cached !== undefined) return cached;
      // It walks the named operation only, and gives up (throws) past maxQueryNodes fields evaluated: a
      // fragment spread many times is walked as often, so a small document can stand for a huge tree.
      const fields = getComplexity({ schema, query: document, operationName: operation.name?.value, variables, estimators: [estimate], maxQueryNodes: MAX_QUERY_NODES });
      const cost = fields + (operation.operation === OperationTypeNode.MUTATION ? MUTATION_COST : 0);
      // With no variables the cost is the document's alone (the same for every request that sends it).
      if (!operation.variableDefinitions?.length) cache.set(operation, cost);
      return cost;
    },

    actual(document, operation, data) {
      const base = operation.operation === OperationTypeNode.MUTATION ? MUTATION_COST : 0;
      const root = schema.getRootType(operation.operation);
      if (!data || !root) return base;
      const fragments = new Map<string, FragmentDefinitionNode>();
      for (const definition of document.definitions) {
        if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
      }
      const priced = (field: Field, selections: readonly SelectionSetNode[], value: unknown): number => {
        if (value === null || value === undefined) return 0;
        if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + priced(field, selections, item), 0);
        const weight = weightOf(field);
        const type = getNamedType(field.type);
        if (!isCompositeType(type) || typeof value !== 'object') return weight;
        return weight + walk(schema, fragments, type, selections, value as Record<string, unknown>, priced);
      };
      return base + walk(schema, fragments, root, [operation.selectionSet], data, priced);
    },
  };
}

type Pricer = (field: Field, selections: readonly SelectionSetNode[], value: unknown) => number;

/**
 * The cost of one response object: each response key it holds, priced by the field the document selected
 * under that key. Fragments whose type condition did not match left no key in the response, so keys absent
 * from `value` cost nothing, and a key's field is looked up on the fragment's own type. The response does not
 * say an object's type, so where fragments on different types use one key for different fields, the key is
 * priced as the dearest of them: a refund may fall short, never exceed what is owed.
 */
function walk(
  schema: GraphQLSchema,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  parent: ReturnType<typeof getNamedType>,
  selectionSets: readonly SelectionSetNode[],
  value: Record<string, unknown>,
  priced: Pricer,
): number {
  const fields = new Map<string, Map<Field, SelectionSetNode[]>>();
  const collect = (type: ReturnType<typeof getNamedType> | undefined, selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const field = (name === '__schema' ? SchemaMetaFieldDef : name === '__type' ? TypeMetaFieldDef : fieldOf(type, name));
        if (!field) continue;
        const key = selection.alias?.value ?? name;
        const candidates = fields.get(key) ?? new Map<Field, SelectionSetNode[]>();
        const selections = candidates.get(field) ?? [];
        if (selection.selectionSet) selections.push(selection.selectionSet);
        fields.set(key, candidates.set(field, selections));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collect(selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type, selection.selectionSet);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(schema.getType(fragment.typeCondition.name.value), fragment.selectionSet);
      }
    }
  };
  for (const selectionSet of selectionSets) collect(parent, selectionSet);
  let total = 0;
  for (const [key, candidates] of fields) {
    if (!(key in value)) continue;
    let dearest = 0;
    for (const [field, selections] of candidates) dearest = Math.max(dearest, priced(field, selections, value[key]));
    total += dearest;
  }
  return total;
}

function fieldOf(type: ReturnType<typeof getNamedType> | undefined, name: string): Field | undefined {
  return type && 'getFields' in type ? (type.getFields()[name] as Field | undefined) : undefined;
}

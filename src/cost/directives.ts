/**
 * The cost model, published in the schema as the GraphQL Cost Directive specification's `@cost` and `@listSize`
 * (the forms Apollo Router's demand control and Hive's read), so a gateway or a BFF computes the same cost as
 * Tally. The defaults are the spec's and theirs: an object, interface or union field costs 1, a scalar or enum
 * field 0, a list multiplies by its size, and a mutation operation costs 10 on top of its fields.
 *
 * Pothos records a field's directives in `extensions.directives` (@pothos/plugin-directives); Tally's estimator
 * reads them from there, so the printed schema and the limit can never disagree.
 */
import {
  DirectiveLocation,
  GraphQLBoolean,
  GraphQLDirective,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLString,
  isCompositeType,
  getNamedType,
  type GraphQLField,
  type GraphQLNamedType,
} from 'graphql';

/** What a mutation operation costs before its fields (Shopify's and Apollo's 10): writes cost more than reads. */
export const MUTATION_COST = 10;

/**
 * The size assumed for a list with no `@listSize`. Every list of Tally's own carries one, and introspection's
 * lists (`types`, `fields`, …) are sized from the schema (src/cost/introspection.ts): this is the last resort.
 */
export const DEFAULT_LIST_SIZE = 1;

export const costDirective = new GraphQLDirective({
  name: 'cost',
  description: 'The cost of a field, or of every field returning this type (GraphQL Cost Directive specification).',
  args: { weight: { type: new GraphQLNonNull(GraphQLInt) } },
  locations: [
    DirectiveLocation.ARGUMENT_DEFINITION,
    DirectiveLocation.ENUM,
    DirectiveLocation.FIELD_DEFINITION,
    DirectiveLocation.INPUT_FIELD_DEFINITION,
    DirectiveLocation.OBJECT,
    DirectiveLocation.SCALAR,
  ],
});

export const listSizeDirective = new GraphQLDirective({
  name: 'listSize',
  description:
    'How many items a list field (or the `sizedFields` of the object it returns, such as a connection\'s `edges`) holds: the value of a slicing argument, else `assumedSize` (GraphQL Cost Directive specification).',
  args: {
    assumedSize: { type: GraphQLInt },
    slicingArguments: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)) },
    sizedFields: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)) },
    requireOneSlicingArgument: { type: GraphQLBoolean, defaultValue: true },
  },
  locations: [DirectiveLocation.FIELD_DEFINITION],
});

export type ListSize = {
  readonly assumedSize?: number;
  readonly slicingArguments?: readonly string[];
  readonly sizedFields?: readonly string[];
  readonly requireOneSlicingArgument?: boolean;
};

/** The directive arguments Pothos' builder accepts (see the `Directives` of src/schema/builder.ts). */
export type CostDirectives = {
  cost: { locations: 'FIELD_DEFINITION' | 'OBJECT'; args: { weight: number } };
  listSize: { locations: 'FIELD_DEFINITION'; args: ListSize };
};

/** Pothos keeps a field's directives as `{ [name]: args }` (`useGraphQLToolsUnorderedDirectives`). */
function directiveArgs(owner: { extensions?: unknown }, name: string): Record<string, unknown> | undefined {
  return (owner.extensions as { directives?: Record<string, Record<string, unknown>> } | undefined)?.directives?.[name];
}

/** A field's own weight: its `@cost`, else its type's `@cost`, else 1 for objects and 0 for scalars and enums. */
export function weightOf(field: GraphQLField<unknown, unknown>): number {
  const own = directiveArgs(field, costDirective.name)?.['weight'];
  if (typeof own === 'number') return own;
  const type: GraphQLNamedType = getNamedType(field.type);
  const ofType = directiveArgs(type, costDirective.name)?.['weight'];
  if (typeof ofType === 'number') return ofType;
  return isCompositeType(type) ? 1 : 0;
}

export function listSizeOf(field: GraphQLField<unknown, unknown>): ListSize | undefined {
  return directiveArgs(field, listSizeDirective.name);
}

/**
 * The size a `@listSize` gives a field called with these arguments: the largest slicing argument passed, else
 * the assumed size. A negative slicing argument (refused later by the resolver) counts as 0.
 */
export function sizeFor(listSize: ListSize, args: Record<string, unknown>): number | undefined {
  let size: number | undefined;
  for (const name of listSize.slicingArguments ?? []) {
    const value = args[name];
    if (typeof value === 'number') size = Math.max(size ?? 0, value, 0);
  }
  return size ?? listSize.assumedSize;
}

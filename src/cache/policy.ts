/**
 * What the response cache may do with an operation, read once per document from the schema's `@cacheControl`
 * hints (src/cache/directive.ts):
 *
 * - Only queries are cached. Every root field needs a hint with a `maxAge`; one without (introspection, a new
 *   field nobody has thought about) makes the answer uncacheable, as does a `maxAge` of 0 anywhere.
 * - The answer is kept for the smallest `maxAge` it meets, and is PRIVATE (one viewer's) when any field or
 *   type it selects is.
 *
 * And what each answer depends on, so a mutation can drop exactly the answers it changed (src/cache/tags.ts):
 * every root field (`Query.posts`) and every field a write changes (`User.posts`, `User.followers`, …) with the
 * id of the object it was read from. The plan records, per selection set, which response key holds the `id`
 * and which keys hold such fields, so aliases and fragments are followed as the client wrote them.
 */
import {
  getNamedType,
  isCompositeType,
  Kind,
  OperationTypeNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { CacheHint, CacheScope } from './directive.js';

/** Fields whose value a mutation changes, by the id of the object they belong to (src/cache/tags.ts). */
export const CHANGING_FIELDS: ReadonlySet<string> = new Set(['User.posts', 'User.followers', 'User.following', 'User.balance', 'User.transactions']);

export interface TagPlan {
  /** The response keys of this selection set that hold the object's `id`. */
  readonly idKeys: string[];
  /** The response keys of changing fields, with their schema coordinate. */
  readonly changing: Map<string, string>;
  /** The response keys to descend into. */
  readonly children: Map<string, TagPlan>;
}

export interface CachePolicy {
  readonly maxAge: number;
  readonly scope: CacheScope;
  /** `Query.<field>` of every root field selected. */
  readonly rootTags: readonly string[];
  readonly plan: TagPlan;
}

function hintOf(owner: { extensions?: unknown }): CacheHint | undefined {
  return (owner.extensions as { directives?: { cacheControl?: CacheHint } } | undefined)?.directives?.cacheControl;
}

/** The policy of the operation `operationName` names (or the only one), or undefined when it may not be cached. */
export function cachePolicyOf(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): CachePolicy | undefined {
  const operations = document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((each) => each.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  const queryType = schema.getQueryType();
  if (!operation || operation.operation !== OperationTypeNode.QUERY || !queryType) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);

  let maxAge = Infinity;
  let scope: CacheScope = 'PUBLIC';
  let cacheable = true;
  const rootTags = new Set<string>();
  const apply = (hint: CacheHint | undefined) => {
    if (!hint) return;
    if (hint.maxAge !== undefined) maxAge = Math.min(maxAge, hint.maxAge);
    if (hint.scope === 'PRIVATE') scope = 'PRIVATE';
  };

  const planOf = (type: GraphQLCompositeType, selectionSet: SelectionSetNode, root: boolean, plan: TagPlan = { idKeys: [], changing: new Map(), children: new Map() }, seen = new Set<string>()): TagPlan => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        if (condition && isCompositeType(condition)) planOf(condition, selection.selectionSet, root, plan, seen);
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || seen.has(fragment.name.value)) continue;
        const condition = schema.getType(fragment.typeCondition.name.value);
        if (condition && isCompositeType(condition)) planOf(condition, fragment.selectionSet, root, plan, new Set([...seen, fragment.name.value]));
        continue;
      }
      const name = selection.name.value;
      const key = selection.alias?.value ?? name;
      if (name === '__typename') continue;
      const field: GraphQLField<unknown, unknown> | undefined = 'getFields' in type ? type.getFields()[name] : undefined;
      if (!field) {
        // __schema, __type, or a field validation will refuse: never kept.
        cacheable = false;
        continue;
      }
      const coordinate = `${type.name}.${name}`;
      const hint = hintOf(field);
      if (root) {
        if (hint?.maxAge === undefined) cacheable = false;
        rootTags.add(coordinate);
      }
      apply(hint);
      const named = getNamedType(field.type);
      if (isCompositeType(named)) apply(hintOf(named));
      if (name === 'id') plan.idKeys.push(key);
      if (CHANGING_FIELDS.has(coordinate)) plan.changing.set(key, coordinate);
      if (selection.selectionSet && isCompositeType(named)) {
        plan.children.set(key, planOf(named, selection.selectionSet, false, plan.children.get(key), seen));
      }
    }
    return plan;
  };

  const plan = planOf(queryType, operation.selectionSet, true);
  if (!cacheable || !(maxAge > 0) || maxAge === Infinity) return undefined;
  return { maxAge, scope, rootTags: [...rootTags], plan };
}

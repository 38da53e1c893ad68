/**
 * A document's fragments by name, for the walks that expand spreads before (or without) validation: the shape
 * limits (src/limits/shape.ts) and the cost plan (src/cost/estimate.ts). graphql-js builds the same map inside
 * execution and validation but exports neither. Where a name repeats (validation refuses that), the last wins.
 */
import { Kind, type DocumentNode, type FragmentDefinitionNode } from 'graphql';

export function fragmentsOf(document: DocumentNode): ReadonlyMap<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

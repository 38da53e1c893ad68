/**
 * Lookahead: whether the client's query selects a field some levels below the one resolving, through aliases,
 * fragment spreads and inline fragments. A resolver that knows its children will be needed can fetch them in its
 * own statement (a join) instead of leaving each child to a loader's second round trip.
 */
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

type Lookahead = Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>;

export function selects(info: Lookahead, path: readonly string[]): boolean {
  let level: SelectionSetNode[] = info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  for (const name of path) {
    const below: SelectionSetNode[] = [];
    let found = false;
    const visit = (set: SelectionSetNode) => {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          if (selection.name.value !== name) continue;
          found = true;
          if (selection.selectionSet) below.push(selection.selectionSet);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          visit(selection.selectionSet);
        } else {
          const fragment = info.fragments[selection.name.value];
          if (fragment) visit(fragment.selectionSet);
        }
      }
    };
    level.forEach(visit);
    if (!found) return false;
    level = below;
  }
  return true;
}

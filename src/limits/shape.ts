/**
 * The shape of one operation, measured in one walk over its selections before the document is validated:
 * depth, aliases, directives, root fields, and how it introspects. Validation itself can be the attack
 * (thousands of overlapping fragments make OverlappingFieldsCanBeMerged quadratic), so this walk must stay
 * linear and must survive documents validation would refuse: unknown fragments count as empty, a fragment
 * cycle is walked once, and each fragment's measure is computed once however often it is spread.
 *
 * graphql-depth-limit was the first choice for depth. It was dropped: a fragment cycle makes it recurse until
 * the stack overflows and an unknown fragment makes it throw a TypeError, both before NoFragmentCycles can
 * answer (a 500), and it never counts introspection fields, which must be depth-limited too.
 */
import { Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { fragmentsOf } from './fragments.js';

export interface Shape {
  /** Deepest nesting of selection sets: `{ a }` is 1, `{ a { b } }` is 2. */
  readonly depth: number;
  /** Fields with an alias, wherever they sit (`__typename` included), fragments counted where spread. */
  readonly aliases: number;
  /** Directives on fields, fragments and spreads, fragments counted where spread; and on the operation. */
  readonly directives: number;
  /** Fields at the operation's root, fragments expanded. */
  readonly rootFields: number;
  /**
   * The most fields one selection set holds, fragments expanded: what validation's OverlappingFieldsCanBeMerged
   * compares pairwise (540 spreads of `... on PostConnection { __typename }` took it 130-190 ms).
   */
  readonly widest: number;
  /** Whether `__schema` or `__type` is selected anywhere. */
  readonly introspects: boolean;
  /**
   * How many `__schema` fields are selected, aliased or not, fragments counted where spread. Each answers the
   * whole schema again: ten aliases of one `types { fields { … } }` returned ten times its 7 KB.
   */
  readonly schemaSelections: number;
  /**
   * The deepest chain of introspection lists that fan out (`fields`, `inputFields`, `interfaces`,
   * `possibleTypes`) nested in one another, as graphql-js' MaxIntrospectionDepthRule counts them: the standard
   * introspection query needs 1, `types { fields { type { fields { type { fields … } } } } }` grows
   * exponentially with it.
   */
  readonly introspectionDepth: number;
}

interface Measure {
  depth: number;
  widest: number;
  aliases: number;
  directives: number;
  fields: number;
  introspects: boolean;
  schemaSelections: number;
  introspectionDepth: number;
}

const FAN_OUT_FIELDS = new Set(['fields', 'inputFields', 'interfaces', 'possibleTypes']);
const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);

/**
 * Measures `operation` (the one the request names, or the document's only one). Counts saturate far above any
 * limit, so a document of a million spreads of one fragment cannot overflow them.
 */
export function measureOperation(document: DocumentNode, operation: OperationDefinitionNode): Shape {
  const fragments = fragmentsOf(document);
  // A fragment's measure does not depend on where it is spread, except inside introspection (see below).
  const measured = new Map<string, Measure>();
  const walking = new Set<string>();

  const walk = (selectionSet: SelectionSetNode, inIntrospection: boolean): Measure => {
    const total: Measure = { depth: 0, widest: 0, aliases: 0, directives: 0, fields: 0, introspects: false, schemaSelections: 0, introspectionDepth: 0 };
    for (const selection of selectionSet.selections) {
      total.directives = add(total.directives, selection.directives?.length ?? 0);
      if (selection.kind === Kind.FIELD) {
        total.fields = add(total.fields, 1);
        if (selection.alias) total.aliases = add(total.aliases, 1);
        if (selection.name.value === '__schema') total.schemaSelections = add(total.schemaSelections, 1);
        if (!selection.selectionSet) {
          total.depth = Math.max(total.depth, 1);
          continue;
        }
        const name = selection.name.value;
        const opensIntrospection = INTROSPECTION_ROOTS.has(name);
        const within = walk(selection.selectionSet, inIntrospection || opensIntrospection);
        // A type reference's `ofType` chain is as long as its wrappers (a few) and then null: it cannot fan
        // out, so it adds no depth. Without this the introspection query GraphiQL sends is 15 deep.
        const level = inIntrospection && name === 'ofType' ? 0 : 1;
        total.depth = Math.max(total.depth, add(within.depth, level));
        total.widest = Math.max(total.widest, within.widest);
        total.aliases = add(total.aliases, within.aliases);
        total.directives = add(total.directives, within.directives);
        total.introspects ||= opensIntrospection || within.introspects;
        total.schemaSelections = add(total.schemaSelections, within.schemaSelections);
        const fansOut = (inIntrospection || opensIntrospection) && FAN_OUT_FIELDS.has(name);
        total.introspectionDepth = Math.max(total.introspectionDepth, within.introspectionDepth + (fansOut ? 1 : 0));
      } else {
        const within =
          selection.kind === Kind.INLINE_FRAGMENT ? walk(selection.selectionSet, inIntrospection) : spread(selection.name.value, inIntrospection);
        if (!within) continue;
        total.depth = Math.max(total.depth, within.depth);
        // A fragment's fields join this selection set; its own nested sets are as wide as they were.
        total.widest = Math.max(total.widest, within.widest);
        total.aliases = add(total.aliases, within.aliases);
        total.directives = add(total.directives, within.directives);
        total.fields = add(total.fields, within.fields);
        total.introspects ||= within.introspects;
        total.schemaSelections = add(total.schemaSelections, within.schemaSelections);
        total.introspectionDepth = Math.max(total.introspectionDepth, within.introspectionDepth);
      }
    }
    total.widest = Math.max(total.widest, total.fields);
    return total;
  };

  const spread = (name: string, inIntrospection: boolean): Measure | undefined => {
    // Inside introspection a fragment's fan-out fields count; outside they are ordinary fields. Two entries.
    const key = `${inIntrospection ? 'i' : 'o'}${name}`;
    const known = measured.get(key);
    if (known) return known;
    const fragment = fragments.get(name);
    // Unknown fragments and cycles are validation's to report; here they add nothing.
    if (!fragment || walking.has(key)) return undefined;
    walking.add(key);
    const measure = walk(fragment.selectionSet, inIntrospection);
    measure.directives = add(measure.directives, fragment.directives?.length ?? 0);
    walking.delete(key);
    measured.set(key, measure);
    return measure;
  };

  const root = walk(operation.selectionSet, false);
  return {
    depth: root.depth,
    aliases: root.aliases,
    directives: add(root.directives, operation.directives?.length ?? 0),
    rootFields: root.fields,
    widest: root.widest,
    introspects: root.introspects,
    schemaSelections: root.schemaSelections,
    introspectionDepth: root.introspectionDepth,
  };
}

/** Counts stop at a billion: enough to compare with any limit, far from overflowing a double's integers. */
const CEILING = 1_000_000_000;
const add = (a: number, b: number) => Math.min(a + b, CEILING);

/**
 * The static limits on one operation's shape (its depth, aliases, directives, root fields, widest selection, how
 * often it selects `__schema` and whether it introspects at all), and on its variables: one rule for yoga's limits
 * stage (src/plugins/use-operation-limits.ts), which measures each distinct document once, and for the trusted
 * operations prepared at start (src/persisted/prepared.ts), which must meet them or the start fails.
 */
import { GraphQLError, Kind, type DocumentNode } from 'graphql';
import type { Limits } from '../config.js';
import { limitError } from './errors.js';
import { measureOperation } from './shape.js';

export interface DocumentLimitOptions {
  readonly limits: Limits;
  /** Whether `__schema` and `__type` may be selected. */
  readonly introspection: boolean;
  /** Whether refusals say the measured value and the limit. */
  readonly details: boolean;
}

/** How deep introspection lists may nest (`fields { type { fields … } }`): graphql-js' own recommended bound. */
const MAX_INTROSPECTION_LISTS = 2;

/**
 * `__schema` fields per operation. One answers all a client can learn about the schema; each more repeats it at
 * full size. The cost model prices every one, but its introspection sizes are means, not bounds
 * (src/cost/introspection.ts): refusing the repeats keeps what the price can miss to one schema's worth.
 */
const MAX_SCHEMA_SELECTIONS = 1;

/**
 * How deeply a request's variables and extensions may nest. The deepest input the schema takes is an input object
 * in a list (`nodes(ids:)`, a mutation's `input`): 2 levels; no client needs 32. Beyond it nothing is walked
 * further, so no later stage (the response cache's key, the cost, coercion) meets a value deeper than this.
 */
const MAX_JSON_DEPTH = 32;

export function documentLimitErrors(document: DocumentNode, { limits, introspection, details }: DocumentLimitOptions): GraphQLError[] {
  const errors: GraphQLError[] = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const shape = measureOperation(document, definition);
    const over = (value: number, limit: number) => value > limit && { value, limit };
    const checks = [
      ['DEPTH_LIMIT_EXCEEDED', 'The operation nests selections too deeply', over(shape.depth, limits.maxDepth)],
      ['DEPTH_LIMIT_EXCEEDED', 'The operation nests introspection lists too deeply', over(shape.introspectionDepth, MAX_INTROSPECTION_LISTS)],
      ['ALIAS_LIMIT_EXCEEDED', 'The operation has too many aliases', over(shape.aliases, limits.maxAliases)],
      ['DIRECTIVE_LIMIT_EXCEEDED', 'The operation has too many directives', over(shape.directives, limits.maxDirectives)],
      ['ROOT_FIELD_LIMIT_EXCEEDED', 'The operation selects too many root fields', over(shape.rootFields, limits.maxRootFields)],
      ['SELECTION_LIMIT_EXCEEDED', 'A selection set holds too many fields', over(shape.widest, limits.maxSelections)],
      ['INTROSPECTION_LIMIT_EXCEEDED', 'The operation selects __schema more than once', over(shape.schemaSelections, MAX_SCHEMA_SELECTIONS)],
    ] as const;
    for (const [code, message, measured] of checks) {
      if (measured) errors.push(limitError(code, message, measured, details));
    }
    if (shape.introspects && !introspection) errors.push(limitError('INTROSPECTION_DISABLED', 'Introspection is turned off on this server'));
  }
  return errors;
}

/** Why a request's variables and extensions are refused (too long a string, too deep), or undefined. */
export function variablesRefusal(variables: unknown, extensions: unknown, limits: Limits, details: boolean): GraphQLError | undefined {
  const measured = measureJson(variables);
  if (measured.longestString > limits.maxStringVariableLength) {
    return limitError('VARIABLE_TOO_LARGE', 'A variable holds too long a string', { value: measured.longestString, limit: limits.maxStringVariableLength }, details);
  }
  const depth = Math.max(measured.depth, measureJson(extensions).depth);
  if (depth > MAX_JSON_DEPTH) {
    return limitError('VARIABLES_TOO_DEEP', 'The variables or extensions nest too deeply', { value: depth, limit: MAX_JSON_DEPTH }, details);
  }
  return undefined;
}

/**
 * The longest string anywhere in `value` and how deeply it nests (a scalar is 0 deep, `[]` 1), walked without
 * recursion: a client's JSON can nest thousands deep in a 16 KB URL.
 */
function measureJson(value: unknown): { longestString: number; depth: number } {
  let longestString = 0;
  let depth = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [next, level] = pending.pop()!;
    if (typeof next === 'string') longestString = Math.max(longestString, next.length);
    else if (next !== null && typeof next === 'object') {
      depth = Math.max(depth, level + 1);
      for (const item of Object.values(next)) pending.push([item, level + 1]);
    }
  }
  return { longestString, depth };
}

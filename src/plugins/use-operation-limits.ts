/**
 * The static limits on what one request may ask, each refused before anything runs for it (src/limits/errors.ts
 * has the codes): how many operations it batches, how long its document is and how long a string variable is
 * (before parsing), how many tokens the document has (the parser stops there), and the operation's shape, its
 * depth, aliases, directives and root fields, how often it selects `__schema` and whether it introspects at all
 * (before validation, which a document of thousands of overlapping fragments makes quadratic). Cost, which needs
 * the variables, is priced by the budget stage once the variables are coerced (src/plugins/use-cost-budget.ts).
 *
 * Every check here depends on the document alone and yoga caches parsed documents, so the shape is measured once
 * per distinct document and remembered with it.
 */
import { GraphQLError, Kind, Lexer, parse, Source, TokenKind, type DocumentNode, type ParseOptions } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import type { Limits } from '../config.js';
import { limitError } from '../limits/errors.js';
import { measureOperation } from '../limits/shape.js';

export interface OperationLimitOptions {
  readonly limits: Limits;
  /** Whether `__schema` and `__type` may be selected. */
  readonly introspection: boolean;
  /** Whether refusals say the measured value and the limit. */
  readonly details: boolean;
}

/** graphql-js 16's words when `maxTokens` stops it: "Document contains more that 5000 tokens. Parsing aborted." */
const TOKENS_ABORTED = /Document contains more th(?:at|an) \d+ tokens\. Parsing aborted\./;

/** What stands for a document the parser gave up on: never run (see onParse). */
const STAND_IN = '{ __typename }';

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

export function useOperationLimits({ limits, introspection, details }: OperationLimitOptions): Plugin {
  const refusals = new WeakMap<DocumentNode, readonly GraphQLError[]>();

  const shapeErrors = (document: DocumentNode): readonly GraphQLError[] => {
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
  };

  // Built once, not per request: these run on every request, and the feed's budget for all limits is 5% of CPU.
  const batchCheck = {
    onRequestParseDone({ requestParserResult }: { requestParserResult: GraphQLParams | GraphQLParams[] }) {
      if (Array.isArray(requestParserResult) && requestParserResult.length > limits.maxBatchOperations) {
        throw limitError(
          'BATCH_LIMIT_EXCEEDED',
          limits.maxBatchOperations === 0 ? 'Batched requests are turned off: send one operation per request' : 'The request batches too many operations',
          { value: requestParserResult.length, limit: limits.maxBatchOperations },
          details,
        );
      }
    },
  };

  const limitedParse = (source: string | Source, options?: ParseOptions): DocumentNode => {
    try {
      return parse(source, { ...options, maxTokens: limits.maxTokens });
    } catch (error) {
      if (!(error instanceof GraphQLError && TOKENS_ABORTED.test(error.message))) throw error;
      // Thrown from here, yoga would answer it as a syntax error (spec-governed: 200 for legacy JSON). A
      // stand-in document carries the refusal to validation instead, where the shape limits answer theirs;
      // yoga caches it for this text like any parsed document.
      const standIn = parse(STAND_IN);
      const value = countTokens(source);
      refusals.set(standIn, [limitError('TOKEN_LIMIT_EXCEEDED', 'The document has too many tokens', { value, limit: limits.maxTokens }, details)]);
      return standIn;
    }
  };

  return {
    onRequestParse: () => batchCheck,

    onParams({ params }) {
      if (typeof params.query === 'string' && params.query.length > limits.maxDocumentLength) {
        throw limitError('DOCUMENT_TOO_LARGE', 'The document is too long', { value: params.query.length, limit: limits.maxDocumentLength }, details);
      }
      const variables = measureJson(params.variables);
      if (variables.longestString > limits.maxStringVariableLength) {
        throw limitError('VARIABLE_TOO_LARGE', 'A variable holds too long a string', { value: variables.longestString, limit: limits.maxStringVariableLength }, details);
      }
      const depth = Math.max(variables.depth, measureJson(params.extensions).depth);
      if (depth > MAX_JSON_DEPTH) {
        throw limitError('VARIABLES_TOO_DEEP', 'The variables or extensions nest too deeply', { value: depth, limit: MAX_JSON_DEPTH }, details);
      }
    },

    onParse({ setParseFn }) {
      setParseFn(limitedParse);
    },

    onValidate({ params, setResult }) {
      const document = params.documentAST as DocumentNode;
      let errors = refusals.get(document);
      if (!errors) {
        errors = shapeErrors(document);
        refusals.set(document, errors);
      }
      if (errors.length > 0) setResult([...errors]);
    },
  };
}

/**
 * The tokens of a document the parser gave up on, for the refusal to tell. Lexing is linear and the document
 * is already within the length limit; a lexical error ends the count where it stands.
 */
function countTokens(source: string | Source): number {
  const lexer = new Lexer(typeof source === 'string' ? new Source(source) : source);
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) count += 1;
  } catch {
    // A malformed token: what was counted so far is above the limit already.
  }
  return count;
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

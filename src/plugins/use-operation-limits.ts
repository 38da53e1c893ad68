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
import { GraphQLError, Lexer, parse, Source, TokenKind, type DocumentNode, type ParseOptions } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { limitError } from '../limits/errors.js';
import { documentLimitErrors, variablesRefusal, type DocumentLimitOptions } from '../limits/document.js';

export type OperationLimitOptions = DocumentLimitOptions;

/** graphql-js 16's words when `maxTokens` stops it: "Document contains more that 5000 tokens. Parsing aborted." */
const TOKENS_ABORTED = /Document contains more th(?:at|an) \d+ tokens\. Parsing aborted\./;

/** What stands for a document the parser gave up on: never run (see onParse). */
const STAND_IN = '{ __typename }';




export function useOperationLimits({ limits, introspection, details }: OperationLimitOptions): Plugin {
  const refusals = new WeakMap<DocumentNode, readonly GraphQLError[]>();

  const shapeErrors = (document: DocumentNode) => documentLimitErrors(document, { limits, introspection, details });
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
      const refused = variablesRefusal(params.variables, params.extensions, limits, details);
      if (refused) throw refused;
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

/**
 * No "Did you mean …?" in any error. graphql-js suggests the field, argument, type or enum value nearest to a
 * mistyped one, which with introspection off still lets anyone read the schema out, one guess at a time. Off in
 * production (FIELD_SUGGESTIONS); in development the hints help.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { mapResults } from './map-results.js';

const SUGGESTION = / ?Did you mean .*\?$/s;

function withoutSuggestion(error: GraphQLError): GraphQLError {
  if (!SUGGESTION.test(error.message)) return error;
  return new GraphQLError(error.message.replace(SUGGESTION, ''), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

const stripped = (result: ExecutionResult): ExecutionResult =>
  result.errors?.some((error) => SUGGESTION.test(error.message)) ? { ...result, errors: result.errors.map(withoutSuggestion) } : result;

export function useNoSuggestions(): Plugin {
  return { onResultProcess: mapResults(stripped) };
}

/**
 * At most MAX_ERRORS errors in one response: past that, the first ones and one more that says how many were
 * left out. A thousand errors tell a client no more than twenty, and each costs the server to build and send
 * (graphql-js alone stops validation at 100, execution not at all). One rule for yoga's stage
 * (src/plugins/use-error-limit.ts) and the prepared lane.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';

export function capErrors(result: ExecutionResult, maxErrors: number): ExecutionResult {
  const errors = result.errors;
  if (!errors || errors.length <= maxErrors) return result;
  const kept = errors.slice(0, maxErrors - 1);
  const left = errors.length - kept.length;
  const summary = new GraphQLError(`${left} more errors were left out of this response: fix the ones shown first.`, {
    extensions: { code: 'TOO_MANY_ERRORS', omitted: left },
  });
  return { ...result, errors: [...kept, summary] };
}

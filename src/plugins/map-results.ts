/** A yoga result hook that rewrites every single result, batched or not (streams pass untouched). */
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export function mapResults(map: (result: ExecutionResult) => ExecutionResult): NonNullable<Plugin['onResultProcess']> {
  return (event) => {
    const { result } = event;
    if (Symbol.asyncIterator in result) return;
    event.setResult(Array.isArray(result) ? (result as ExecutionResult[]).map(map) : map(result as ExecutionResult));
  };
}

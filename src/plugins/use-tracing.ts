/** The execution's span in yoga (src/observability/execution-span.ts has it). */
import { context } from '@opentelemetry/api';
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { startExecutionSpan } from '../observability/execution-span.js';

export function useTracing(): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document as DocumentNode, args.operationName as string | undefined);
      const span = startExecutionSpan(operation?.operation, operation?.name?.value);
      const execute = executeFn as (executeArgs: typeof args) => unknown;
      setExecuteFn(((executeArgs: typeof args) => context.with(span.context, () => execute(executeArgs))) as typeof executeFn);
      return {
        onExecuteDone({ result }) {
          span.end(Symbol.asyncIterator in result ? undefined : (result));
        },
      };
    },
  };
}

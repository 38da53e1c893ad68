/**
 * With tracing on (src/observability/tracing.ts): a span for each operation's execution, named as OpenTelemetry's GraphQL
 * conventions name it (`query Feed`), with the operation's type and name, and its error codes when it failed.
 * graphql's own instrumentation traces parse and validate, but execution runs compiled by graphql-jit, which it
 * cannot see; the statements and Redis commands the execution sends become this span's children.
 */
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export function useTracing(): Plugin {
  const tracer = trace.getTracer('tally');
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document as DocumentNode, args.operationName as string | undefined);
      const type = operation?.operation ?? 'query';
      const name = operation?.name?.value;
      const span = tracer.startSpan(name ? `${type} ${name}` : type, {
        attributes: { 'graphql.operation.type': type, ...(name ? { 'graphql.operation.name': name } : {}) },
      });
      const spanContext = trace.setSpan(context.active(), span);
      const execute = executeFn as (executeArgs: typeof args) => unknown;
      setExecuteFn(((executeArgs: typeof args) => context.with(spanContext, () => execute(executeArgs))) as typeof executeFn);
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in result) {
            span.end();
            return;
          }
          const codes = ((result as ExecutionResult).errors ?? []).map((error) => {
            const code = error.extensions?.['code'];
            return typeof code === 'string' ? code : 'UNKNOWN';
          });
          if (codes.length > 0) {
            span.setAttribute('graphql.error.codes', codes);
            span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(',') });
          }
          span.end();
        },
      };
    },
  };
}

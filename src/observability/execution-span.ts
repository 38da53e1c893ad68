/**
 * With tracing on (src/observability/tracing.ts): a span for each operation's execution, named as OpenTelemetry's
 * GraphQL conventions name it (`query Feed`), with the operation's type and name, and its error codes when it
 * failed. graphql's own instrumentation traces parse and validate, but execution runs compiled by graphql-jit,
 * which it cannot see; the statements and Redis commands the execution sends become this span's children. One
 * span for yoga's stage (src/plugins/use-tracing.ts) and the prepared lane.
 */
import { context, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import type { ExecutionResult, OperationTypeNode } from 'graphql';

export interface ExecutionSpan {
  /** The context to run the execution in, so what it sends is the span's children. */
  readonly context: Context;
  end(result: Pick<ExecutionResult, 'errors'> | undefined): void;
}

export function startExecutionSpan(type: OperationTypeNode | undefined, name: string | undefined): ExecutionSpan {
  const kind = type ?? 'query';
  const span = trace.getTracer('tally').startSpan(name ? `${kind} ${name}` : kind, {
    attributes: { 'graphql.operation.type': kind, ...(name ? { 'graphql.operation.name': name } : {}) },
  });
  return {
    context: trace.setSpan(context.active(), span),
    end(result) {
      const codes = (result?.errors ?? []).map((error) => {
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
}

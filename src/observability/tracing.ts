/**
 * OpenTelemetry tracing, on when OTEL_EXPORTER_OTLP_ENDPOINT is set and absent otherwise: without it neither the SDK
 * nor an instrumentation is loaded (src/main.ts imports this file only then) and the execution span's plugin is not
 * in the request path, so a server without a collector pays nothing.
 *
 * Spans go to the collector over OTLP/HTTP (JSON), batched. The instrumentations are OpenTelemetry's own: node:http
 * (a server span per request, W3C `traceparent` honoured, so a client's trace continues here), pg (a span per
 * statement, its SQL text with placeholders, never its parameters), ioredis (a span per command, arguments left
 * out) and graphql (parse and validate). Execution runs compiled by graphql-jit, which graphql's instrumentation
 * cannot see: src/plugins/use-tracing.ts adds that span. The log lines of a traced request carry its `traceId`
 * and `spanId` (src/observability/logger.ts), so a trace leads to its log lines and back.
 *
 * The instrumentations patch modules as they load, and Tally is ES modules: `import-in-the-middle`'s loader hook is
 * registered first, and the rest of the server is imported only after `startTracing` returns.
 */
import { register } from 'node:module';
import { context, diag, DiagConsoleLogger, DiagLogLevel, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import type { TracingConfig } from '../config.js';

export interface Tracing {
  /** The active span's ids, for the log line being written (src/observability/logger.ts); none outside a trace. */
  logFields(): Record<string, string>;
  /** Sends the spans still batched, then stops; called as the process stops. */
  shutdown(): Promise<void>;
}

/** Health checks and scrapes are many and say nothing about a request's path. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export function startTracing(config: TracingConfig): Tracing {
  register('import-in-the-middle/hook.mjs', import.meta.url);
  // The SDK's own troubles (a collector that refuses spans) go to stderr; the logger is not loaded yet (it loads
  // graphql, which must load after the instrumentations).
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
  const exporter = new OTLPTraceExporter({ url: new URL('v1/traces', withSlash(config.endpoint)).toString(), headers: config.headers });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    // A trace a client started keeps its own decision; new ones are sampled at the configured ratio.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  // What NodeTracerProvider.register() did before the 3.x SDK left it to the application: spans follow the async
  // work of their request (AsyncLocalStorage), and a client's `traceparent` (and baggage) is read and passed on.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '/').split('?', 1)[0]!) }),
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
      // Execution spans come from use-tracing.ts; one span per resolver would cost more than the resolver.
      new GraphQLInstrumentation({ ignoreTrivialResolveSpans: true, depth: 0, allowValues: false }),
    ],
  });
  return {
    logFields(): Record<string, string> {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { traceId, spanId };
    },
    shutdown: () => provider.shutdown(),
  };
}

const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);

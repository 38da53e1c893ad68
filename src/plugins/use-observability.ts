/**
 * Seeing inside: one JSON log line per GraphQL request (request id, viewer, operation, status, duration, SQL
 * statements, error codes) and the same figures as Prometheus metrics, served at /metrics.
 */
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { scopeOf } from '../request-scope.js';

export function useObservability(metrics: Metrics, logger: Logger, graphqlEndpoint: string): Plugin {
  return {
    async onRequest(event) {
      if (event.url.pathname === '/metrics') {
        let text: string;
        try {
          text = await metrics.render();
        } catch (error) {
          // Under WORKERS the primary gathers them; a scrape that cannot be whole is refused, not answered in part.
          logger.warn({ err: error }, 'the metrics could not be gathered');
          event.endResponse(new Response('metrics unavailable\n', { status: 503, headers: { 'content-type': 'text/plain', 'retry-after': '1' } }));
          return;
        }
        event.endResponse(new Response(text, { headers: { 'content-type': metrics.registry.contentType } }));
      }
    },
    onExecute({ args }) {
      const { request } = args.contextValue;
      scopeOf(request).operationName = getOperationAST(args.document as DocumentNode, args.operationName as string | undefined)?.name?.value;
    },
    // The final result, after masking, whatever stage produced it (execution, validation, auth's 401).
    onResultProcess({ request, result }) {
      if (Symbol.asyncIterator in result) return;
      const scope = scopeOf(request);
      for (const single of Array.isArray(result) ? result : [result]) {
        for (const error of single.errors ?? []) {
          const code = error.extensions?.['code'];
          scope.errorCodes.push(typeof code === 'string' ? code : 'UNKNOWN');
        }
      }
    },
    onResponse({ request, response }) {
      if (new URL(request.url).pathname !== graphqlEndpoint) return;
      const scope = scopeOf(request);
      const seconds = (performance.now() - scope.startedAt) / 1000;
      const operation = scope.operationName ?? 'anonymous';
      metrics.observe({ operation, status: response.status, seconds, sqlStatements: scope.sqlStatements, errorCodes: scope.errorCodes });
      logger.info(
        {
          requestId: scope.requestId,
          viewerId: scope.viewer?.id ?? null,
          operation,
          status: response.status,
          ms: Math.round(seconds * 10_000) / 10,
          sql: scope.sqlStatements,
          ...(scope.errorCodes.length > 0 ? { errors: scope.errorCodes } : {}),
        },
        'graphql request',
      );
    },
  };
}

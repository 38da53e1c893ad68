/**
 * Seeing inside, in yoga: the request's log line and metrics (src/request/request-log.ts), and /metrics.
 */
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { scopeOf } from '../request/scope.js';
import { noteErrorCodes, recordRequest } from '../request/request-log.js';

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
      for (const single of Array.isArray(result) ? result : [result]) noteErrorCodes(scope, single);
    },
    onResponse({ request, response }) {
      if (new URL(request.url).pathname !== graphqlEndpoint) return;
      recordRequest(metrics, logger, scopeOf(request), response.status);
    },
  };
}

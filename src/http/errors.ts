/**
 * A GraphQL error answered on the node:http front, before yoga and the prepared lane (the route's 400/404/405, the
 * body reader's 413/429/503, the penalty box's 429, a cached hit refused by the budget): the same JSON shape yoga
 * answers with, the request-id rule, the same log line as every other GraphQL request
 * (src/request/request-log.ts) and a count of its own (tally_http_refusals_total), so a flood of refusals
 * shows where operators look.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { logRequest } from '../request/request-log.js';
import { requestIdFor } from '../request/request-id.js';
import { createRequestScope } from '../request/scope.js';

export interface JsonError {
  readonly message: string;
  readonly extensions: Readonly<Record<string, unknown>>;
}

/** Writes a refusal and records it. */
export type Refuse = (request: IncomingMessage, response: ServerResponse, status: number, error: JsonError, headers?: OutgoingHttpHeaders) => void;

/** The front's refusals, logged and counted where `observe` is given (a stage tested alone may go without). */
export function frontRefusals(observe?: { readonly logger: Logger; readonly metrics: Metrics }): Refuse {
  return (request, response, status, error, headers = {}) => {
    const body = JSON.stringify({ errors: [error] });
    const sent = request.headers['x-request-id'];
    const scope = createRequestScope(requestIdFor(typeof sent === 'string' ? sent : undefined));
    response.writeHead(status, {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-request-id': scope.requestId,
    });
    response.end(body);
    if (!observe) return;
    const code = error.extensions['code'];
    scope.errorCodes.push(typeof code === 'string' ? code : 'UNKNOWN');
    logRequest(observe.logger, scope, status);
    observe.metrics.refusal(status, scope.errorCodes[0]!);
  };
}

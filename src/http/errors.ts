/**
 * A GraphQL error answered on the node:http layer, before yoga (the body reader's 413, the penalty box's 429):
 * the same JSON shape yoga answers with, and the request-id stage's id rule, so these answers too can be quoted.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { requestIdFor } from '../request/request-id.js';

export interface JsonError {
  readonly message: string;
  readonly extensions: Readonly<Record<string, unknown>>;
}

export function writeJsonError(request: IncomingMessage, response: ServerResponse, status: number, error: JsonError, headers: OutgoingHttpHeaders = {}): void {
  const body = JSON.stringify({ errors: [error] });
  const sent = request.headers['x-request-id'];
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestIdFor(typeof sent === 'string' ? sent : undefined),
  });
  response.end(body);
}

/**
 * Which HTTP requests may carry GraphQL at all. A browser sends a cross-site POST without asking first (no CORS
 * preflight) only with a "simple" content type (url-encoded, multipart, text/plain): refusing every POST body
 * but application/json means no page on another site can make a visitor's browser send Tally an operation
 * (cross-site request forgery). Queries over GET are for persisted operations, cacheable by URL; until Tally
 * has them, production refuses GET queries outright (GET_QUERIES), and mutations are never run over GET
 * (yoga refuses those itself, 405).
 */
import type { Plugin } from 'graphql-yoga';
import { isEncoded, JSON_MEDIA_TYPE, mediaTypeOf } from '../request/media-type.js';

export interface RequestPolicyOptions {
  readonly graphqlEndpoint: string;
  /** Whether GET may carry a query (off in production). */
  readonly getQueries: boolean;
}

const refusal = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  Response.json({ errors: [{ message, extensions: { code } }] }, { status, headers });

export function useRequestPolicy({ graphqlEndpoint, getQueries }: RequestPolicyOptions): Plugin {
  return {
    onRequest(event) {
      const { request, url } = event;
      if (url.pathname !== graphqlEndpoint) return;
      if (request.method === 'POST') {
        if (isEncoded(request.headers.get('content-encoding'))) {
          // Read as sent, a gzip or br body would be an invalid JSON body; the client can send it uncoded.
          event.endResponse(refusal(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the request body without a Content-Encoding: coded bodies are not read.', { 'accept-encoding': 'identity' }));
        } else if (mediaTypeOf(request.headers.get('content-type')) !== JSON_MEDIA_TYPE) {
          event.endResponse(
            refusal(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send GraphQL requests as POST with "Content-Type: application/json" (other bodies are refused: a browser could send them from another site).', {
              accept: 'application/json',
            }),
          );
        }
      } else if (request.method === 'GET' && !getQueries && url.searchParams.has('query')) {
        event.endResponse(refusal(405, 'METHOD_NOT_ALLOWED', 'Queries over GET are turned off on this server: send them as POST with "Content-Type: application/json".', { allow: 'POST' }));
      }
    },
  };
}

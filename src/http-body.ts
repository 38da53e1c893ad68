/**
 * The node:http entry in front of yoga. A JSON POST body is read and parsed here and handed to yoga as
 * `request.body` (the path @whatwg-node takes for Express and Fastify): yoga otherwise pipes every body through a
 * fetch-API stream with its own AbortController and second Request, which cost a third of its time per request
 * (DESIGN.md section 6). Anything that is not a JSON POST goes to yoga untouched.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { requestIdFor } from './plugins/use-request-id.js';

export const MAX_BODY_BYTES = 100 * 1024;

type WithBody = IncomingMessage & { body?: unknown };

/** Answered here, before yoga: the id rule is the request-id stage's, so this answer too can be quoted. */
function tooLarge(request: IncomingMessage, response: ServerResponse): void {
  const body = JSON.stringify({
    errors: [{ message: `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
  });
  const sent = request.headers['x-request-id'];
  response.writeHead(413, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestIdFor(typeof sent === 'string' ? sent : undefined),
    connection: 'close',
  });
  response.end(body);
}

export function withParsedJsonBody(yoga: RequestListener): RequestListener {
  return (request: WithBody, response) => {
    if (request.method !== 'POST' || !request.headers['content-type']?.includes('json')) {
      yoga(request, response);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        if (!refused) tooLarge(request, response);
        refused = true;
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (refused) return;
      const text = Buffer.concat(chunks).toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      // @whatwg-node takes a non-empty object as already parsed, and a non-empty string as the raw body. Anything
      // else (bad JSON, a JSON scalar, empty input) goes as text, so yoga answers it exactly as it would have.
      request.body = parsed !== null && typeof parsed === 'object' && Object.keys(parsed).length > 0 ? parsed : text || ' ';
      yoga(request, response);
    });
  };
}

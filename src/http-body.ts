/**
 * The node:http entry in front of yoga. A JSON POST body is read and parsed here and handed to yoga as
 * `request.body` (the path @whatwg-node takes for Express and Fastify): yoga otherwise pipes every body through a
 * fetch-API stream with its own AbortController and second Request, which cost a third of its time per request
 * (DESIGN.md section 6). Anything that is not a JSON POST goes to yoga untouched.
 */
import type { IncomingMessage, RequestListener } from 'node:http';
import { writeJsonError } from './http-errors.js';

export const MAX_BODY_BYTES = 100 * 1024;

type WithBody = IncomingMessage & { body?: unknown };

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
        if (!refused) {
          // Closed after the answer: the rest of the body is not worth reading.
          const error = { message: `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } };
          writeJsonError(request, response, 413, error, { connection: 'close' });
        }
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

/**
 * The node:http entry in front of yoga. A JSON POST body is read and parsed here and handed to yoga as
 * `request.body` (the path @whatwg-node takes for Express and Fastify): yoga otherwise pipes every body through a
 * fetch-API stream with its own AbortController and second Request, which cost a third of its time per request
 * (DESIGN.md section 6). Anything that is not a JSON POST goes to yoga untouched, which refuses it (415).
 *
 * What a body may hold of the server is bounded: a declared length above MAX_BODY_BYTES is refused before a byte
 * of it is read (413), and the bytes read of bodies not yet whole count against a budget in all and per client
 * (src/http/body-budget.ts, MAX_BODY_BYTES_IN_FLIGHT*): past the client's share 429, past the process's 503,
 * both to retry in a second. A refused body's connection closes after the answer; what else it sends is dropped.
 */
import type { IncomingMessage, OutgoingHttpHeaders, RequestListener } from 'node:http';
import type { Handler } from './admission.js';
import type { ClientAddress } from '../request/client-address.js';
import { addressOf } from '../request/client.js';
import type { BodyBudget } from './body-budget.js';
import type { JsonError, Refuse } from './errors.js';
import { isEncoded, JSON_MEDIA_TYPE, mediaTypeOf } from '../request/media-type.js';

export const MAX_BODY_BYTES = 100 * 1024;

type WithBody = IncomingMessage & { body?: unknown };

export interface BodyOptions {
  readonly budget: BodyBudget;
  /** Whose share of the budget a body takes: the client the cost budget names (src/request/client-address.ts). */
  readonly clientAddress: ClientAddress;
  readonly refuse: Refuse;
}

const TOO_LARGE: JsonError = { message: `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } };
const CLIENT_FULL: JsonError = {
  message: 'Too many request bodies from this client are still arriving: finish or close those first, then retry.',
  extensions: { code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: 1 },
};
const PROCESS_FULL: JsonError = { message: 'The server is receiving too many request bodies at once. Retry shortly.', extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true } };

export function withParsedJsonBody(next: Handler, { budget, clientAddress, refuse: answer }: BodyOptions): RequestListener {
  return (request: WithBody, response) => {
    const { headers } = request;
    if (request.method !== 'POST' || mediaTypeOf(headers['content-type']) !== JSON_MEDIA_TYPE || isEncoded(headers['content-encoding'])) {
      void next(request, response);
      return;
    }
    const refuse = (status: number, error: JsonError, extra: OutgoingHttpHeaders = {}) => answer(request, response, status, error, { ...extra, connection: 'close' });
    // node has checked that it is one decimal length; a body above the limit is refused before it is sent.
    if (Number(headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      refuse(413, TOO_LARGE);
      return;
    }
    const client = addressOf(clientAddress, request);
    const chunks: Buffer[] = [];
    let held = 0;
    let settled = false;
    const release = () => {
      budget.give(client, held);
      held = 0;
    };
    const stop = (status: number, error: JsonError, extra: OutgoingHttpHeaders = {}) => {
      settled = true;
      chunks.length = 0;
      release();
      refuse(status, error, extra);
    };

    request.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (held + chunk.length > MAX_BODY_BYTES) {
        stop(413, TOO_LARGE);
        return;
      }
      const refused = budget.take(client, chunk.length);
      if (refused) {
        stop(refused === 'client' ? 429 : 503, refused === 'client' ? CLIENT_FULL : PROCESS_FULL, { 'retry-after': '1' });
        return;
      }
      held += chunk.length;
      chunks.push(chunk);
    });
    // A client that leaves before its body is whole gives its bytes back.
    request.once('close', release);
    request.once('end', () => {
      if (settled) return;
      settled = true;
      const text = Buffer.concat(chunks).toString('utf8');
      chunks.length = 0;
      release();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      // @whatwg-node takes a non-empty object as already parsed, and a non-empty string as the raw body. Anything
      // else (bad JSON, a JSON scalar, empty input) goes as text, and the request-params stage says what is wrong
      // with it (src/plugins/use-request-params.ts).
      request.body = parsed !== null && typeof parsed === 'object' && Object.keys(parsed).length > 0 ? parsed : text || ' ';
      void next(request, response);
    });
  };
}

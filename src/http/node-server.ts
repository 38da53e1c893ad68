/**
 * The node:http server Tally listens with, and what it does with a client before there is a request to hand on:
 *
 * - The whole request, headers and body, must arrive within REQUEST_TIMEOUT_MS, and its headers within
 *   HEADERS_TIMEOUT_MS (a connection that sends nothing is closed then too). node checks both deadlines against
 *   the smaller of the two and the whole request against the larger, so headers must never get the longer time
 *   (with 66 s for headers the 30 s whole-request limit was 66 s); config.ts refuses that. node looks for expired
 *   connections every CHECK_INTERVAL_MS, so a limit holds to within that, not to within its default 30 s.
 * - What node's parser refuses (a malformed request line or header, headers over 16 KB, a late request) is
 *   answered in the JSON every other refusal has, instead of node's bare status line.
 * - Keep-alive connections outlive a load balancer's idle timeout (65 s), or it would reuse one just closed.
 */
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpLimits } from '../config.js';

const CHECK_INTERVAL_MS = 1_000;
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** node's error codes for what its parser refused, and the status each is answered with. */
const CLIENT_ERRORS: Readonly<Record<string, { status: number; code: string; message: string }>> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'REQUEST_TIMEOUT', message: 'The request did not arrive in time.' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'HEADERS_TOO_LARGE', message: 'The request headers are too large.' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'The chunk extensions are too large.' },
};
const MALFORMED = { status: 400, code: 'BAD_REQUEST', message: 'The request is not well-formed HTTP/1.1.' };

export function createNodeServer(listener: RequestListener, limits: Pick<HttpLimits, 'requestTimeoutMs' | 'headersTimeoutMs'>): Server {
  const server = createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: CHECK_INTERVAL_MS,
    },
    listener,
  );
  server.on('clientError', answerClientError);
  return server;
}

/**
 * Answers what node's parser refused, then closes the connection (its stream is no longer in step). Only when
 * nothing was written on it yet: past that, a response is under way and a second status line would corrupt it.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex & { bytesWritten?: number }): void {
  if (error.code === 'ECONNRESET' || !socket.writable || (socket.bytesWritten ?? 0) > 0) {
    socket.destroy();
    return;
  }
  const { status, code, message } = CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED;
  const requestId = randomUUID();
  const body = JSON.stringify({ errors: [{ message, extensions: { code, requestId } }] });
  // Closed once written, whether or not the client closes its side (node's server sockets allow half-open ones).
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}

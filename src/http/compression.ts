/**
 * Compression, the node:http front's outermost stage after the route: every answer of JSON at least
 * MIN_CODED_BYTES long goes in the coding the client prefers (src/request/content-coding.ts), with `Vary:
 * Accept-Encoding` and an ETag of its own, whoever wrote it (yoga, the prepared lane). An answer already coded (a
 * cached hit, sent from its kept coded bytes) and a stream pass as they are.
 *
 * yoga's node adapter writes the head, then the body, then ends; the lane writes the head and ends with the body.
 * So a coded answer is held until its end, coded whole, and written with its length: the answers here are a
 * response body of at most a few hundred KB, not a stream.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Handler } from './admission.js';
import { codedEtag, codingFor, encode, isCodable, MIN_CODED_BYTES, varyWithEncoding, type ContentCoding } from '../request/content-coding.js';

type WriteHead = ServerResponse['writeHead'];
type HeadersGiven = OutgoingHttpHeaders | readonly (string | string[])[] | undefined;

/** Sets headers given to writeHead as setHeader would, so they can be read and changed before the head goes. */
function setAll(response: ServerResponse, headers: HeadersGiven): void {
  if (!headers) return;
  if (Array.isArray(headers)) {
    // writeHead's array forms: [name, value, name, value] or [[name, value], …].
    const pairs = Array.isArray(headers[0]) ? (headers as string[][]) : Array.from({ length: headers.length / 2 }, (_, index) => [headers[2 * index], headers[2 * index + 1]] as string[]);
    const grouped = new Map<string, string[]>();
    for (const [name, value] of pairs) grouped.set(name!, [...(grouped.get(name!) ?? []), value!]);
    for (const [name, values] of grouped) response.setHeader(name, values.length === 1 ? values[0]! : values);
    return;
  }
  for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) if (value !== undefined) response.setHeader(name, value);
}

const contentTypeOf = (response: ServerResponse) => {
  const value = response.getHeader('content-type');
  return typeof value === 'string' ? value.toLowerCase() : undefined;
};

/** Whether this answer, as its head says, is coded JSON's to vary by Accept-Encoding (its length known or not). */
function codable(response: ServerResponse): boolean {
  if (response.hasHeader('content-encoding') || !isCodable(contentTypeOf(response))) return false;
  const length = response.getHeader('content-length');
  return length === undefined || Number(length) >= MIN_CODED_BYTES;
}

/** Whether headers handed to writeHead say by themselves that the answer is not to be coded: coded already, or not JSON. */
function plainlyUncodable(headers: OutgoingHttpHeaders): boolean {
  for (const name in headers) {
    const lower = name.toLowerCase();
    if (lower === 'content-encoding') return true;
    if (lower === 'content-type') {
      const type = headers[name];
      if (typeof type === 'string' && !isCodable(type.toLowerCase())) return true;
    }
  }
  return false;
}

/** An uncoded client: only the Vary of answers that could have been coded. */
function varyOnly(response: ServerResponse): void {
  const writeHead = response.writeHead.bind(response) as (...args: unknown[]) => ServerResponse;
  response.writeHead = ((status: number, reason?: string | HeadersGiven, headers?: HeadersGiven) => {
    setAll(response, typeof reason === 'string' ? headers : reason);
    if (codable(response) && response.hasHeader('content-length')) response.setHeader('vary', varyWithEncoding(response.getHeader('vary') as string | undefined));
    return typeof reason === 'string' ? writeHead(status, reason) : writeHead(status);
  }) as WriteHead;
}

/** A coding client: the answer is held to its end and coded whole when it is codable JSON. */
function coded(response: ServerResponse, coding: ContentCoding): void {
  const writeHead = response.writeHead.bind(response) as (...args: unknown[]) => ServerResponse;
  const write = response.write.bind(response) as (...args: unknown[]) => boolean;
  const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
  let head: { status: number; reason: string | undefined } | undefined;
  /** Set once the answer is known not to be coded: everything passes straight on from then. */
  let passing = false;
  const chunks: Buffer[] = [];
  const asBuffer = (chunk: unknown, encoding?: unknown) =>
    Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk as Uint8Array);
  const passOn = () => {
    passing = true;
    response.writeHead = writeHead;
    response.write = write as ServerResponse['write'];
    response.end = end as ServerResponse['end'];
    if (head) writeHead(head.status, ...(head.reason === undefined ? [] : [head.reason]));
  };

  response.writeHead = ((status: number, reason?: string | HeadersGiven, headers?: HeadersGiven) => {
    const given = typeof reason === 'string' ? headers : reason;
    // Already coded (a cached hit sent from its coded bytes), or not JSON: straight on, headers untouched.
    if (given && !Array.isArray(given) && plainlyUncodable(given as OutgoingHttpHeaders)) {
      passOn();
      return typeof reason === 'string' ? writeHead(status, reason, headers) : writeHead(status, reason);
    }
    setAll(response, given);
    head = { status, reason: typeof reason === 'string' ? reason : undefined };
    if (!codable(response)) passOn();
    return response;
  }) as WriteHead;

  response.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
    if (passing) return write(chunk, encoding, callback);
    if (!head && !codable(response)) {
      passOn();
      return write(chunk, encoding, callback);
    }
    chunks.push(asBuffer(chunk, encoding));
    if (typeof encoding === 'function') (encoding as () => void)();
    else if (typeof callback === 'function') (callback as () => void)();
    return true;
  }) as ServerResponse['write'];

  response.end = ((chunk?: unknown, encoding?: unknown, callback?: unknown) => {
    if (passing) return end(chunk, encoding, callback);
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') chunks.push(asBuffer(chunk, encoding));
    const done = [chunk, encoding, callback].find((argument) => typeof argument === 'function') as (() => void) | undefined;
    const body = Buffer.concat(chunks);
    const status = head?.status ?? response.statusCode;
    if (body.length >= MIN_CODED_BYTES && codable(response) && status !== 204 && status !== 304) {
      const codedBody = encode(body, coding);
      response.setHeader('content-encoding', coding);
      response.setHeader('content-length', codedBody.length);
      response.setHeader('vary', varyWithEncoding(response.getHeader('vary') as string | undefined));
      const etag = response.getHeader('etag');
      if (typeof etag === 'string') response.setHeader('etag', codedEtag(etag, coding));
      writeHead(status, ...(head?.reason === undefined ? [] : [head.reason]));
      return end(codedBody, done);
    }
    passOn();
    return end(body, done);
  }) as ServerResponse['end'];
}

export function withCompression(next: Handler): Handler {
  return (request: IncomingMessage, response: ServerResponse) => {
    if (request.method === 'HEAD') return next(request, response);
    const coding = codingFor(request.headers['accept-encoding']);
    if (coding) coded(response, coding);
    else varyOnly(response);
    return next(request, response);
  };
}

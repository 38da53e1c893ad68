/**
 * HTTP/1.1 written by hand over node:net, for what fetch, undici and node:http normalise, refuse or cannot do:
 * send exactly the bytes given (a second Host, an absolute-form target, bare LF, a Content-Length beside
 * Transfer-Encoding, a body shorter than its length), or stop partway through a request and hold the connection;
 * then read exactly what the server wrote, and when it closed. One encoder of requests, one reader of responses
 * (parseResponse), used both by `exchange` (one request, one answer) and by `rawClients` (connections held open,
 * kept so that a test's afterAll can destroy them all).
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { sleep } from './wait.js';

// ---- requests ----

/** A header as written on the wire: any name, any value, bytes included; repeated names are repeated lines. */
export type RawHeader = readonly [name: string, value: string | Uint8Array];

export interface RawRequest {
  readonly method: string;
  /** The request-target exactly as written: origin-form, absolute-form, `*`, empty, or junk. */
  readonly target: string;
  readonly version: string;
  readonly headers: readonly RawHeader[];
  readonly body: Uint8Array;
  /** CRLF, or bare LF throughout the head. */
  readonly eol: '\r\n' | '\n';
  /**
   * Whether the bytes are a whole request by HTTP/1.1's framing, so an answer is owed (a refusal counts). False
   * when the framing promises more than is sent (a Content-Length past the body, chunks with no last chunk): the
   * server may wait for the rest, until its request timeout (whose own tests hold such connections open).
   */
  readonly complete: boolean;
}

export function encodeRequest(request: RawRequest): Buffer {
  const { eol } = request;
  const parts: Buffer[] = [Buffer.from(`${request.method} ${request.target} ${request.version}${eol}`, 'utf8')];
  for (const [name, value] of request.headers) {
    parts.push(Buffer.from(`${name}: `, 'utf8'), typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value), Buffer.from(eol));
  }
  parts.push(Buffer.from(eol), Buffer.from(request.body));
  return Buffer.concat(parts);
}

/** A request for display in a failure: its head in full (up to a limit), its body's size and start. */
export function describeRequest(request: RawRequest): string {
  const head = encodeRequest({ ...request, body: new Uint8Array() }).toString('latin1');
  const body = Buffer.from(request.body);
  const shown = (text: string, limit: number) => (text.length > limit ? `${text.slice(0, limit)}…(${text.length} chars)` : text);
  return `${JSON.stringify(shown(head, 600))} + body ${body.length} bytes ${JSON.stringify(shown(body.toString('latin1'), 200))}${request.complete ? '' : ' (incomplete)'}`;
}

/** A plain request: a length-framed body (none for a GET without one), Host naming the server unless given. */
export function plainRequest(port: number, method: string, target: string, headers: readonly RawHeader[] = [], body: string | Uint8Array = ''): RawRequest {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const hasHost = headers.some(([name]) => name.toLowerCase() === 'host');
  return {
    method,
    target,
    version: 'HTTP/1.1',
    headers: [...(hasHost ? [] : [['Host', `127.0.0.1:${port}`] as const]), ...headers, ...(method === 'GET' && bytes.length === 0 ? [] : [['Content-Length', String(bytes.length)] as const])],
    body: bytes,
    eol: '\r\n',
    complete: true,
  };
}

// ---- responses ----

export interface RawResponse {
  readonly status: number;
  readonly reason: string;
  /** Names in lower case; a repeated header's values joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, dechunked; while it is not `complete`, what has arrived of it (chunks still framed). */
  readonly body: Buffer;
  /**
   * Whether all of the body has arrived: its Content-Length, its last chunk, or (with neither) the connection's
   * close. Always, for an answer that has no body (to a HEAD, a 204, a 304).
   */
  readonly complete: boolean;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * The first final response in `bytes` (1xx answers are skipped), as far as it has arrived, or undefined while its
 * head has not; `head` when the request was a HEAD, whose answer has no body whatever its headers say; `closed`
 * when no more will come, which ends a body framed by the close. Throws if what came is not an HTTP response.
 */
export function parseResponse(bytes: Buffer, { head, closed }: { head: boolean; closed: boolean }): RawResponse | undefined {
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(HEAD_END, start);
    if (end < 0) return undefined;
    const lines = bytes.subarray(start, end).toString('latin1').split('\r\n');
    const match = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
    if (!match) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
    const status = Number(match[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    const bodyStart = end + HEAD_END.length;
    if (status >= 100 && status < 200) {
      start = bodyStart;
      continue;
    }
    const answer = (body: Buffer, complete: boolean): RawResponse => ({ status, reason: match[2] ?? '', headers, body, complete });
    const rest = bytes.subarray(bodyStart);
    if (head || status === 204 || status === 304) return answer(Buffer.alloc(0), true);
    if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      const body = dechunk(rest);
      return body ? answer(body, true) : answer(rest, false);
    }
    const length = headers['content-length'];
    if (length !== undefined) {
      const size = Number(length);
      return rest.length >= size ? answer(rest.subarray(0, size), true) : answer(rest, false);
    }
    return answer(rest, closed);
  }
}

/** The payload of a chunked body, or undefined while its last chunk has not arrived (a size that is no number ends it). */
function dechunk(bytes: Buffer): Buffer | undefined {
  const chunks: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return Buffer.concat(chunks);
    if (size === 0) return Buffer.concat(chunks);
    if (bytes.length < lineEnd + 2 + size + 2) return undefined;
    chunks.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

// ---- one request, one answer ----

export type Outcome =
  | { readonly kind: 'response'; readonly response: RawResponse; readonly ms: number }
  /** The server closed the connection with no complete answer; `received` is what came before. */
  | { readonly kind: 'closed'; readonly received: Buffer; readonly error?: string }
  /** What came back is not an HTTP response. */
  | { readonly kind: 'garbled'; readonly received: Buffer; readonly error: string }
  | { readonly kind: 'timeout'; readonly received: Buffer };

/**
 * Sends `bytes` on a new connection to 127.0.0.1:`port` and reads the first answer (parseResponse) until it is
 * complete, or the connection closes (a response cut short by the close is still the answer); `head` when the
 * request was a HEAD. Never ends its side of the connection (a keep-alive client does not), and destroys the
 * socket once it has its answer or after `timeoutMs`.
 */
export function exchange(port: number, bytes: Buffer, options: { timeoutMs: number; head?: boolean }): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', received }), options.timeoutMs);
    socket.on('connect', () => socket.write(bytes, () => {}));
    /** Whether the answer is settled: a response to finish with (complete, or all there will be), or garbage. */
    const parsed = (closed: boolean) => {
      try {
        const response = parseResponse(received, { head: options.head ?? false, closed });
        if (response && (response.complete || closed)) finish({ kind: 'response', response, ms: performance.now() - started });
        return response !== undefined;
      } catch (error) {
        finish({ kind: 'garbled', received, error: (error as Error).message });
        return true;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      parsed(false);
    });
    const closed = (error?: Error) => {
      if (!parsed(true)) finish({ kind: 'closed', received, ...(error ? { error: (error as NodeJS.ErrnoException).code ?? error.message } : {}) });
    };
    // A server that answers early and closes may reset the connection while the rest is still being written.
    socket.on('error', closed);
    socket.on('close', () => closed());
  });
}

// ---- connections held open ----

/** A response whose body is read as UTF-8 text (JSON, for the tests that hold connections). */
export type TextResponse = Omit<RawResponse, 'body'> & { readonly body: string };

export interface RawConnection {
  readonly socket: Socket;
  /** Writes `data`; resolves true once the kernel has taken it all, false if the connection closed first. */
  write(data: string | Buffer): Promise<boolean>;
  /** What the server wrote so far. */
  received(): Buffer;
  /** The response (parseResponse), once its head has arrived: as much of its body as has, and whether that is all. */
  response(): TextResponse | undefined;
  /** Milliseconds from opening to the server's first byte, or undefined while it has written nothing. */
  firstByteAfterMs(): number | undefined;
  /** Milliseconds from opening to the close, or undefined while open. */
  closedAfterMs(): number | undefined;
  /** The socket's error code (ECONNRESET, EPIPE), if it had one. */
  error(): string | undefined;
  /** Resolves with closedAfterMs once closed, or with undefined if still open after `timeoutMs`. */
  closedWithin(timeoutMs: number): Promise<number | undefined>;
  destroy(): void;
}

export interface RawClients {
  /** A connection to 127.0.0.1:`port`, from `localAddress` if given (any 127.x address is a client of its own). */
  open(port: number, options?: { localAddress?: string }): RawConnection;
  destroyAll(): void;
}

export function rawClients(): RawClients {
  const all = new Set<RawConnection>();
  return {
    open(port, { localAddress } = {}) {
      const connection = openRaw(port, localAddress);
      all.add(connection);
      connection.socket.once('close', () => all.delete(connection));
      return connection;
    },
    destroyAll() {
      for (const connection of all) connection.destroy();
      all.clear();
    },
  };
}

function openRaw(port: number, localAddress: string | undefined): RawConnection {
  const openedAt = performance.now();
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  let received = Buffer.alloc(0);
  let firstByteAt: number | undefined;
  let closedAt: number | undefined;
  let errorCode: string | undefined;
  socket.on('data', (chunk: Buffer) => {
    firstByteAt ??= performance.now();
    received = Buffer.concat([received, chunk]);
  });
  socket.on('error', (error: Error & { code?: string }) => (errorCode ??= error.code ?? error.message));
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      closedAt = performance.now();
      resolve(closedAt - openedAt);
    }),
  );
  return {
    socket,
    write: (data) =>
      new Promise<boolean>((resolve) => {
        if (socket.destroyed) {
          resolve(false);
          return;
        }
        const onClose = () => resolve(false);
        socket.once('close', onClose);
        socket.write(data, (error) => {
          socket.off('close', onClose);
          resolve(!error);
        });
      }),
    received: () => received,
    response: () => {
      const response = parseResponse(received, { head: false, closed: closedAt !== undefined });
      return response && { ...response, body: response.body.toString('utf8') };
    },
    firstByteAfterMs: () => (firstByteAt === undefined ? undefined : firstByteAt - openedAt),
    closedAfterMs: () => (closedAt === undefined ? undefined : closedAt - openedAt),
    error: () => errorCode,
    closedWithin: (timeoutMs) => Promise.race([closed, sleep(timeoutMs).then(() => undefined)]),
    destroy: () => socket.destroy(),
  };
}

/** The head of a JSON POST to /graphql declaring `contentLength` bytes of body: what a stalled client sends first. */
export const jsonPostHead = (contentLength: number) =>
  `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${contentLength}\r\n\r\n`;

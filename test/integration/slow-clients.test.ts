/**
 * Slow and stalled clients: how long a client may hold the server before its request is whole (src/http/).
 *
 * - Time: the whole request, headers and body, within REQUEST_TIMEOUT_MS, its headers within HEADERS_TIMEOUT_MS,
 *   else 408 and the connection closed. node looks for expired connections once a second, so a 2 s limit is
 *   answered between 2 s and 3.5 s after the request began, and a body trickled a byte at a time is not given
 *   more time for each byte.
 * - A body declared above 100 KB is refused on its Content-Length, before a byte of it is sent.
 *
 * What their unfinished bodies may hold of its memory is test/scenarios/stalled-bodies.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectJsonError } from '../helpers/assertions.js';
import { listenLikeMain, type HttpServer } from '../helpers/http.js';
import { jsonPostHead, rawClients } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const REQUEST_TIMEOUT_MS = 2_000;
const HEADERS_TIMEOUT_MS = 1_000;
/** node's check for expired connections runs every second; half a second more is the test's own slack. */
const LATE_BY_MS = 1_500;

const DECLARED_BYTES = 102_400;

const clients = rawClients();
afterAll(() => clients.destroyAll());

/**
 * The timeouts and the 413 are the node:http server's and the body reader's, as main.ts composes them
 * (listenLikeMain), so they are driven in this process: a process of main.ts costs ~10 s to start on 2 cores.
 */
describe('the node:http front of a server in this process', () => {
  let server: TestServer | undefined;
  let http: HttpServer | undefined;
  let port: number;
  beforeAll(async () => {
    server = await startTestServer({ REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS) });
    http = await listenLikeMain(server);
    port = Number(new URL(http.base).port);
  });
  afterAll(async () => {
    clients.destroyAll();
    await http?.close();
    await server?.close();
  });

  describe.concurrent(`the ${REQUEST_TIMEOUT_MS / 1000} s whole-request limit (REQUEST_TIMEOUT_MS) and ${HEADERS_TIMEOUT_MS / 1000} s headers limit`, () => {
    it('answers a body that stalls 408 and closes the connection, between 2 s and 3.5 s after the request began', async ({ expect }) => {
      const connection = clients.open(port);
      await connection.write(jsonPostHead(DECLARED_BYTES) + '{"query":"{ pos');
      const closedAfter = await connection.closedWithin(REQUEST_TIMEOUT_MS + LATE_BY_MS + 2_000);
      expectJsonError(connection.response(), 408, 'REQUEST_TIMEOUT');
      expect(connection.response()!.headers['connection']).toBe('close');
      expect(connection.firstByteAfterMs()).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
      expect(closedAfter).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
      expect(closedAfter).toBeLessThanOrEqual(REQUEST_TIMEOUT_MS + LATE_BY_MS);
    });

    it('does not give a body trickled a byte every 300 ms more time for each byte', async ({ expect }) => {
      const connection = clients.open(port);
      await connection.write(jsonPostHead(DECLARED_BYTES) + '{');
      let sent = 1;
      const trickle = setInterval(() => {
        if (connection.closedAfterMs() !== undefined) return;
        sent += 1;
        void connection.write('a');
      }, 300);
      try {
        const closedAfter = await connection.closedWithin(REQUEST_TIMEOUT_MS + LATE_BY_MS + 2_000);
        expectJsonError(connection.response(), 408, 'REQUEST_TIMEOUT');
        expect(closedAfter).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
        expect(closedAfter).toBeLessThanOrEqual(REQUEST_TIMEOUT_MS + LATE_BY_MS);
        // It never went quiet for long: the deadline held though bytes kept coming.
        expect(sent).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS / 300);
      } finally {
        clearInterval(trickle);
      }
    });

    it('answers headers that stop halfway 408 and closes the connection, between 1 s and 2.5 s', async ({ expect }) => {
      const connection = clients.open(port);
      await connection.write('POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl');
      const closedAfter = await connection.closedWithin(HEADERS_TIMEOUT_MS + LATE_BY_MS + 2_000);
      expectJsonError(connection.response(), 408, 'REQUEST_TIMEOUT');
      expect(closedAfter).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS);
      expect(closedAfter).toBeLessThanOrEqual(HEADERS_TIMEOUT_MS + LATE_BY_MS);
    });

    it('closes a connection that sends nothing between 1 s and 2.5 s', async ({ expect }) => {
      const connection = clients.open(port);
      const closedAfter = await connection.closedWithin(HEADERS_TIMEOUT_MS + LATE_BY_MS + 2_000);
      expect(closedAfter, 'still open').toBeDefined();
      expect(closedAfter).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS);
      expect(closedAfter).toBeLessThanOrEqual(HEADERS_TIMEOUT_MS + LATE_BY_MS);
      // Whatever it was told, if anything, is the timeout's answer.
      if (connection.received().length > 0) expectJsonError(connection.response(), 408, 'REQUEST_TIMEOUT');
    });
  });

  describe('a body declared above 100 KB', () => {
    it('is answered 413 at once, before any of it is sent, and the connection closed', async () => {
      const connection = clients.open(port);
      await connection.write(jsonPostHead(200_000));
      // Well inside the 2 s request timeout, whose 408 would otherwise be the only answer.
      const closedAfter = await connection.closedWithin(1_000);
      expectJsonError(connection.response(), 413, 'PAYLOAD_TOO_LARGE');
      expect(closedAfter).toBeDefined();
    });
  });
});

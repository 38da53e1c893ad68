/**
 * Graceful shutdown: stop accepting, let requests in flight finish, close keep-alive connections after their
 * last response, and give up on stuck requests at a deadline. First src/http/drain.ts on node:http serving the real
 * yoga server (and a plain handler for a response already under way), then src/main.ts itself, as a process
 * that gets SIGTERM with a request in flight on a keep-alive connection.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainer } from '../../src/http/drain.js';
import { withCost } from '../helpers/assertions.js';
import { startMain, type MainProcess } from '../helpers/main-process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const BODY = JSON.stringify({ query: '{ posts(first: 1) { pageInfo { hasNextPage } } }' });
const ANSWER = withCost({ data: { posts: { pageInfo: { hasNextPage: false } } } });

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
  reusedSocket: boolean;
  socket: Socket;
}

/**
 * POSTs BODY on the agent's connection. With `hold`, only the first bytes go out until `hold` resolves: a request
 * the server has begun but cannot answer yet (it waits for the rest of the body).
 */
function post(port: number, agent: Agent, hold?: Promise<void>): { begun: Promise<void>; sent: Promise<void>; answer: Promise<Answer> } {
  const request = httpRequest({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/graphql',
    agent,
    headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(BODY) },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (response: IncomingMessage) => {
      // Taken now: once the response ends, a keep-alive agent takes the socket back and response.socket is null.
      const socket = response.socket;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body, reusedSocket: request.reusedSocket, socket }),
      );
    });
  });
  if (!hold) {
    request.end(BODY);
    return { begun: Promise.resolve(), sent: Promise.resolve(), answer };
  }
  // Resolves once the head and the body's first bytes are handed to the kernel.
  const begun = new Promise<void>((resolve) => request.write(BODY.slice(0, 10), () => resolve()));
  const sent = hold.then(() => void request.end(BODY.slice(10)));
  return { begun, sent, answer };
}

/**
 * Until the server listening on `port`, in another process, has read everything sent to it: every established
 * connection to the port with nothing left in its receive queue (the kernel's own count, from `ss`).
 */
function untilServerRead(port: number): Promise<void> {
  return waitFor(
    () => {
      const lines = execFileSync('ss', ['-tnH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
      return lines.length > 0 && lines.every((line) => line.trim().split(/\s+/)[0] === '0');
    },
    { timeoutMs: 5_000, intervalMs: 10 },
  );
}

const closed = (socket: Socket) => (socket.destroyed ? Promise.resolve() : once(socket, 'close').then(() => undefined));

/** Resolves with whether a new TCP connection to the port is accepted. */
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(!socket.destroy()));
    socket.once('error', () => resolve(false));
  });

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('drainer on node:http serving the yoga server', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startTestServer();
  });
  afterAll(() => app.close());

  it('finishes a request in flight, answers it with Connection: close, closes idle keep-alive connections at once', async () => {
    const server = createServer(app.yoga);
    const shutdown = drainer(server, 10_000);
    const port = await listen(server);
    const busy = new Agent({ keepAlive: true, maxSockets: 1 });
    const idle = new Agent({ keepAlive: true, maxSockets: 1 });

    // Both connections have served a request and been kept alive (the premise).
    const [first, other] = await Promise.all([post(port, busy).answer, post(port, idle).answer]);
    expect([first.status, first.connection, JSON.parse(first.body)]).toEqual([200, 'keep-alive', ANSWER]);
    expect(other.connection).toBe('keep-alive');

    // A second request on the busy connection: begun, its body not all sent yet.
    let release!: () => void;
    const begun = once(server, 'request');
    const slow = post(port, busy, new Promise<void>((resolve) => (release = resolve)));
    await begun;

    const drained = shutdown.drain();
    await closed(other.socket);
    expect(await accepts(port)).toBe(false);

    release();
    await slow.sent;
    const answer = await slow.answer;
    expect(answer.reusedSocket).toBe(true);
    expect([answer.status, answer.connection, JSON.parse(answer.body)]).toEqual([200, 'close', ANSWER]);
    await closed(answer.socket);
    expect(await drained).toBe(true);
    busy.destroy();
    idle.destroy();
  });

  it('closes the connection of a response already under way (sent as keep-alive) once it ends', async () => {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('part one, ');
      void finished.then(() => response.end('part two'));
    });
    const shutdown = drainer(server, 10_000);
    const port = await listen(server);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const request = httpRequest({ host: '127.0.0.1', port, agent });
    request.end();
    const [response] = (await once(request, 'response')) as [IncomingMessage];
    expect(response.headers.connection).toBe('keep-alive');
    const socket = response.socket;
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (body += chunk));

    const drained = shutdown.drain();
    finish();
    await once(response, 'end');
    expect(body).toBe('part one, part two');
    await closed(socket);
    expect(await drained).toBe(true);
    agent.destroy();
  });

  it('closes every connection at the deadline, and says the drain was cut short', async () => {
    const server = createServer(app.yoga);
    const shutdown = drainer(server, 300);
    const port = await listen(server);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const begun = once(server, 'request');
    // Its body never completes: the request stays in flight.
    const stuck = post(port, agent, new Promise<void>(() => {}));
    const failed = stuck.answer.then(
      () => 'answered',
      () => 'connection closed',
    );
    await begun;
    const started = Date.now();
    expect(await shutdown.drain()).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await failed).toBe('connection closed');
    agent.destroy();
  });
});

describe('src/main.ts on SIGTERM', () => {
  let main: MainProcess;
  let port: number;
  const output = () => main.output();

  beforeAll(async () => {
    // The embedded database, whatever the suite runs on: this is about the process, not the database.
    main = await startMain({ PGLITE_DIR: 'memory://' });
    port = main.port;
  }, 90_000);
  afterAll(() => main?.kill());

  it('finishes the request in flight on a keep-alive connection, closes it, and exits 0 within seconds', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await post(port, agent).answer;
    expect([first.status, first.connection, JSON.parse(first.body)]).toMatchObject([200, 'keep-alive', { data: { posts: {} } }]);

    let release!: () => void;
    const slow = post(port, agent, new Promise<void>((resolve) => (release = resolve)));
    // The server has read the request's head (it then waits for the rest of the body).
    await slow.begun;
    await untilServerRead(port);
    const signalled = Date.now();
    main.child.kill('SIGTERM');
    await new Promise<void>((resolve) => {
      const check = () => (output().includes('"msg":"draining"') ? resolve() : setTimeout(check, 20));
      check();
    });

    // Ready no more, at once: nothing new reaches a stopping process (a probe's new connection is refused).
    const probe = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (response) => response.status,
      (error: Error & { cause?: { code?: string } }) => error.cause?.code,
    );
    expect(probe).toBe('ECONNREFUSED');

    release();
    await slow.sent;
    const answer = await slow.answer;
    expect(answer.reusedSocket).toBe(true);
    expect([answer.status, answer.connection]).toEqual([200, 'close']);
    expect(JSON.parse(answer.body)).toMatchObject({ data: { posts: {} } });

    expect(await main.exited, output()).toEqual({ code: 0, signal: null });
    // Not held open by the keep-alive connection (65 s keepAliveTimeout) nor by the grace period (25 s).
    expect(Date.now() - signalled).toBeLessThan(5_000);
    expect(output()).toMatch(/"drained":true,"msg":"stopped"/);
    agent.destroy();
  }, 30_000);
});

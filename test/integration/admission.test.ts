/**
 * Admission control (src/http/admission.ts) over a real socket, in front of a handler that holds each request until
 * the test lets it answer: so many at once, the rest in arrival order, exempt paths never queued, a client that
 * gives up while waiting takes no turn, and one that gives up while running does not end its turn early.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { withAdmission } from '../../src/http/admission.js';
import { sleep, waitFor } from '../helpers/wait.js';

interface Held {
  readonly name: string;
  answer(): void;
}

let http: Server | undefined;
afterEach(async () => {
  http?.closeAllConnections();
  await new Promise((resolve) => http?.close(resolve));
});

/** A server whose handler records who started and holds them; `limit` GraphQL requests at once. */
async function heldServer(limit: number) {
  const started: Held[] = [];
  http = createServer(
    withAdmission(
      (request: IncomingMessage, response: ServerResponse) => {
        const name = String(request.headers['x-name']);
        started.push({ name, answer: () => response.end(name) });
      },
      { limit, exempt: ['/healthz'] },
    ),
  );
  // Every request node has parsed, queued or not: what a test waits on to know a request has arrived.
  const arrived: string[] = [];
  http.on('request', (request: IncomingMessage) => arrived.push(String(request.headers['x-name'])));
  await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const send = (name: string, path = '/graphql') => fetch(`${base}${path}`, { headers: { 'x-name': name } }).then((response) => response.text());
  return { started, send, base, arrived };
}

const until = (condition: () => boolean) => waitFor(condition, { timeoutMs: 2_000, intervalMs: 10 });

describe('admission', () => {
  it('runs at most `limit` requests at once and admits the others in arrival order', async () => {
    const { started, send } = await heldServer(2);
    const answers: Promise<string>[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      answers.push(send(name));
      // Sent one after another, so arrival order is the order written here.
      await until(() => started.length === Math.min(answers.length, 2));
    }
    await sleep(50);
    expect(started.map((held) => held.name)).toEqual(['a', 'b']);

    started[0]!.answer();
    await until(() => started.length === 3);
    expect(started[2]!.name).toBe('c');
    started[1]!.answer();
    started[2]!.answer();
    await until(() => started.length === 5);
    expect(started.map((held) => held.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    started[3]!.answer();
    started[4]!.answer();
    expect(await Promise.all(answers)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('never queues other paths (health checks answer while GraphQL waits)', async () => {
    const { started, send } = await heldServer(1);
    const first = send('graphql');
    await until(() => started.length === 1);
    const health = send('health', '/healthz');
    await until(() => started.length === 2);
    expect(started[1]!.name).toBe('health');
    started[1]!.answer();
    expect(await health).toBe('health');
    started[0]!.answer();
    await first;
  });

  it('never queues an exempt path whatever its query string', async () => {
    const { started, send } = await heldServer(1);
    const first = send('graphql');
    await until(() => started.length === 1);
    const health = send('health', '/healthz?probe=load-balancer');
    await until(() => started.length === 2);
    started[1]!.answer();
    expect(await health).toBe('health');
    started[0]!.answer();
    await first;
  });

  it('gives no turn to a client that left while waiting', async () => {
    const { started, send, base, arrived } = await heldServer(1);
    const first = send('first');
    await until(() => started.length === 1);
    // A waiting client that closes its connection before its turn.
    const url = new URL(`${base}/graphql`);
    const leaving = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: { 'x-name': 'left' } });
    leaving.on('error', () => undefined);
    leaving.end();
    await until(() => arrived.includes('left'));
    leaving.destroy();
    const next = send('next');
    await until(() => arrived.includes('next'));
    started[0]!.answer();
    await first;
    await until(() => started.length === 2);
    expect(started[1]!.name).toBe('next');
    started[1]!.answer();
    expect(await next).toBe('next');
  });

  it('ends a turn when the work ends, not when its client leaves (an abandoned execution still runs)', async () => {
    let running = 0;
    let most = 0;
    http = createServer(
      withAdmission(
        async (_request, response) => {
          running += 1;
          most = Math.max(most, running);
          await sleep(300);
          running -= 1;
          if (!response.destroyed) response.end('done');
        },
        { limit: 2, exempt: [] },
      ),
    );
    await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve));
    const address = http.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    // Ten clients, 10 ms apart, each leaving 60 ms after it sent: long before its work (300 ms) is done, while
    // later ones still wait. Were a leaving client to end its turn, a waiting one would start beside the work.
    const leavers = Array.from({ length: 10 }, async (_, i) => {
      await sleep(i * 10);
      const leaving = httpRequest({ host: '127.0.0.1', port, path: '/graphql' });
      leaving.on('error', () => undefined);
      leaving.end();
      await sleep(60);
      leaving.destroy();
    });
    await Promise.all(leavers);
    // Not an event to wait for: the window in which a turn wrongly ended early would let a third one run.
    await sleep(700);
    expect(running).toBe(0);
    expect(most).toBe(2);
  });
});

/**
 * Admission control (src/admission.ts) over a real socket, in front of a handler that holds each request until
 * the test lets it answer: so many at once, the rest in arrival order, other paths never queued, and a client
 * that gives up while waiting takes no turn.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { withAdmission } from '../../src/admission.js';

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
      { limit, path: '/graphql' },
    ),
  );
  await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const send = (name: string, path = '/graphql') => fetch(`${base}${path}`, { headers: { 'x-name': name } }).then((response) => response.text());
  return { started, send, base };
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
};

describe('admission', () => {
  it('runs at most `limit` requests at once and admits the others in arrival order', async () => {
    const { started, send } = await heldServer(2);
    const answers: Promise<string>[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      answers.push(send(name));
      // Sent one after another, so arrival order is the order written here.
      await until(() => started.length === Math.min(answers.length, 2));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
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

  it('gives no turn to a client that left while waiting', async () => {
    const { started, send, base } = await heldServer(1);
    const first = send('first');
    await until(() => started.length === 1);
    // A waiting client that closes its connection before its turn.
    const url = new URL(`${base}/graphql`);
    const leaving = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: { 'x-name': 'left' } });
    leaving.on('error', () => undefined);
    leaving.end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    leaving.destroy();
    const next = send('next');
    await new Promise((resolve) => setTimeout(resolve, 50));
    started[0]!.answer();
    await first;
    await until(() => started.length === 2);
    expect(started[1]!.name).toBe('next');
    started[1]!.answer();
    expect(await next).toBe('next');
  });
});

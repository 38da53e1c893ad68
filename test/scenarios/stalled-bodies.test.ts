/**
 * Stalled clients' memory, against src/main.ts as its own process: the bytes of unfinished bodies are capped, per
 * client address (429 past it) and in all (503), so 2,000 stalled 100 KB bodies grow the server's RSS
 * (/proc/<pid>/status VmRSS) by at most 100 MB. With both caps at 1 GiB the same 2,000 grew it by 162–176 MB.
 * A scenario (npm run test:scenarios): two main.ts processes and 4,000 connections take ~20 s.
 *
 * Linux only (it reads /proc, and speaks from 127.0.x.x addresses other than 127.0.0.1 to be other clients).
 * SLOW_CLIENTS_UNCAPPED=1 adds the run with both caps at 1 GiB, for the figure without them (logged, not asserted).
 */
import { request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectJsonError } from '../helpers/assertions.js';
import { startMain, type MainProcess } from '../helpers/main-process.js';
import { collectOnSignal, collectedRssMb, rssMb } from '../helpers/process-memory.js';
import { jsonPostHead, rawClients, type RawConnection, type TextResponse } from '../helpers/raw-http.js';
import { sleep, waitFor } from '../helpers/wait.js';

const UNCAPPED = process.env['SLOW_CLIENTS_UNCAPPED'] === '1';

const STALLED = 2_000;
const BATCH = 100;
/** The largest body the server takes (MAX_BODY_BYTES), so none is refused on its declared length. */
const DECLARED_BYTES = 102_400;
/** What each stalled client sends of it before it stops. */
const SENT_BYTES = 100_000;
const MAX_GROWTH_MB = 100;
const PER_CLIENT_CAP = 1024 * 1024;
const GLOBAL_CAP = 16 * 1024 * 1024;
const GIB = String(1024 * 1024 * 1024);

const QUERY = '{ posts(first: 1) { edges { cursor } } }';
const ORDINARY = JSON.stringify({ query: QUERY });
/** A whole body as large as a stalled one: it fits only once the stalled clients' bytes have been given back. */
const LARGE = JSON.stringify({ query: QUERY, extensions: { pad: 'a'.repeat(SENT_BYTES - 80) } });

const clients = rawClients();
afterAll(() => clients.destroyAll());

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

/** One request on a connection of its own, from `localAddress` if given; fails after `timeoutMs`. */
function ask(main: MainProcess, path: string, { body, localAddress, timeoutMs = 5_000 }: { body?: string; localAddress?: string; timeoutMs?: number } = {}): Promise<Answer> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', accept: 'application/json' };
    const outgoing = httpRequest(
      { host: '127.0.0.1', port: main.port, path, method: body === undefined ? 'GET' : 'POST', headers, localAddress, agent: false, timeout: timeoutMs },
      (incoming) => {
        let text = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (chunk: string) => (text += chunk));
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body: text, ms: performance.now() - began }));
        incoming.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${path} not answered within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function expectPage(answer: Answer): void {
  const body = JSON.parse(answer.body) as { data?: { posts?: { edges?: unknown[] } } };
  expect([answer.status, body.data?.posts?.edges?.length], answer.body).toEqual([200, 1]);
}

/** Ordinary use first, so what the stalled clients cost is not the first requests' warm-up. */
async function warmUp(main: MainProcess): Promise<void> {
  for (let index = 0; index < 10; index += 1) {
    expect((await ask(main, '/graphql', { body: ORDINARY, localAddress: '127.0.0.3' })).status).toBe(200);
    expect((await ask(main, '/graphql', { body: LARGE, localAddress: '127.0.0.3' })).status).toBe(200);
    expect((await ask(main, '/healthz')).status).toBe(200);
  }
  await sleep(500);
}

interface Stalled {
  readonly connections: readonly RawConnection[];
  /** After a full collection (helpers/process-memory.ts), before the stalled clients. */
  readonly baselineMb: number;
  /** After a full collection, while they are held: what the server keeps for them. */
  readonly heldMb: number;
  /** While they are held, as it was: with what the server has yet to collect. */
  readonly heldUncollectedMb: number;
  /** The highest RSS seen while they were being opened and after. */
  readonly peakMb: number;
}

/**
 * Opens STALLED connections to `main`, a batch at a time (the addresses taken in turn), each sending the head of
 * a 102,400-byte JSON POST and 100,000 bytes of it, and then nothing; returns once the server has done with them
 * what it does, with its RSS before and after.
 */
async function stallBodies(main: MainProcess, addresses: readonly string[]): Promise<Stalled> {
  await warmUp(main);
  const baselineMb = await collectedRssMb(main);
  // One buffer for every connection: the test's own memory stays the size of one request.
  const prefix = `{"query":"${QUERY}","x":"`;
  const request = Buffer.from(jsonPostHead(DECLARED_BYTES) + prefix + 'a'.repeat(SENT_BYTES - prefix.length), 'latin1');
  const connections: RawConnection[] = [];
  let peakMb = baselineMb;
  for (let start = 0; start < STALLED; start += BATCH) {
    const batch = Array.from({ length: BATCH }, (_, index) => clients.open(main.port, { localAddress: addresses[(start + index) % addresses.length] }));
    connections.push(...batch);
    // Taken by the kernel, or refused: either way the next batch does not pile onto this one.
    await Promise.race([Promise.all(batch.map((connection) => connection.write(request))), sleep(5_000)]);
    peakMb = Math.max(peakMb, rssMb(main));
  }
  // Settled once for a second no connection has been answered or closed.
  let settled = -1;
  let stableSince = performance.now();
  const deadline = performance.now() + 10_000;
  while (performance.now() - stableSince < 1_000 && performance.now() < deadline) {
    await sleep(100);
    const done = connections.filter((connection) => connection.received().length > 0 || connection.closedAfterMs() !== undefined).length;
    if (done !== settled) [settled, stableSince] = [done, performance.now()];
    peakMb = Math.max(peakMb, rssMb(main));
  }
  const heldUncollectedMb = rssMb(main);
  const heldMb = await collectedRssMb(main);
  return { connections, baselineMb, heldMb, heldUncollectedMb, peakMb: Math.max(peakMb, heldUncollectedMb) };
}

function outcomes(connections: readonly RawConnection[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const connection of connections) {
    const response = connection.response();
    const outcome = response ? `answered ${response.status}` : connection.closedAfterMs() !== undefined ? `closed unanswered${connection.error() ? ` (${connection.error()})` : ''}` : 'held';
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return counts;
}

const isHeld = (connection: RawConnection) => connection.received().length === 0 && connection.closedAfterMs() === undefined;

function report(label: string, stalled: Stalled): void {
  const growth = (mb: number) => `${(mb - stalled.baselineMb).toFixed(1)} MB`;
  console.log(
    `[slow-clients] ${label}: server RSS ${stalled.baselineMb.toFixed(1)} MB → ${stalled.heldMb.toFixed(1)} MB with ${STALLED} stalled 100 KB bodies held, ` +
      `both after a full GC: growth ${growth(stalled.heldMb)} (before that GC ${growth(stalled.heldUncollectedMb)}, peak ${growth(stalled.peakMb)}); ` +
      JSON.stringify(outcomes(stalled.connections)),
  );
}

/** What it keeps, and what it shows before collecting its garbage: both within the bound. */
function expectGrowthWithinBound(stalled: Stalled): void {
  expect(stalled.heldMb - stalled.baselineMb).toBeLessThanOrEqual(MAX_GROWTH_MB);
  expect(stalled.heldUncollectedMb - stalled.baselineMb).toBeLessThanOrEqual(MAX_GROWTH_MB);
}

/**
 * A cap of `capBytes` at work on the stalled clients: it holds at least one body (one under the cap is let be)
 * and no more than fit in it (ten bodies of 100,000 bytes fit in 1 MiB, eleven do not), and refuses the rest:
 * the status, the code, a Retry-After, and the connection closed. Returns the refusals that arrived whole.
 */
function expectCapEnforced(stalled: Stalled, capBytes: number, status: number, code: string): TextResponse[] {
  const held = stalled.connections.filter(isHeld).length;
  expect(held).toBeGreaterThanOrEqual(1);
  expect(held).toBeLessThanOrEqual(Math.floor(capBytes / SENT_BYTES));
  const answered = stalled.connections.map((connection) => connection.response()).filter((response) => response !== undefined);
  expect(answered.map((response) => response.status).filter((other) => other !== status)).toEqual([]);
  const whole = answered.filter((response) => response.complete);
  expect(whole.length).toBeGreaterThan(0);
  for (const response of whole.slice(0, 20)) {
    expectJsonError(response, status, code);
    expect(response.headers['retry-after']).toMatch(/^\d+$/);
    expect(response.headers['connection']).toBe('close');
  }
  return whole;
}

/** Once the stalled clients go, their bytes are given back: a body as large as theirs, from their address, is served. */
async function expectBytesGivenBack(main: MainProcess, stalled: Stalled, localAddress: string): Promise<void> {
  for (const connection of stalled.connections) connection.destroy();
  let last: Answer | undefined;
  await waitFor(
    async () => {
      last = await ask(main, '/graphql', { body: LARGE, localAddress });
      return last.status === 200;
    },
    { timeoutMs: 5_000, intervalMs: 200 },
  ).catch(() => expect.fail(`still refused after the stalled clients closed: ${last?.status} ${last?.body}`));
}

/**
 * main.ts as production runs it, with the default caps, so the RSS is the server's alone. A process for each
 * scenario: memory one scenario's bodies took and gave back stays in the process for the next to reuse, so a
 * second scenario on the same process would not show what it holds (before the caps, 2,000 held bodies grew a
 * process by 174 MB, and by -4 MB the second time).
 * Once, in the suite's embedded run: these processes bring their own database (memory://) whatever the suite's,
 * so the run on the services would repeat them exactly.
 */
describe.skipIf(Boolean(process.env['DATABASE_URL']))(`${STALLED} stalled 100 KB bodies held against src/main.ts`, () => {
  let oneAddress: MainProcess | undefined;
  let manyAddresses: MainProcess | undefined;
  beforeAll(async () => {
    // Long enough that no stalled body is let go by its timeout while the memory is measured.
    const env = { PGLITE_DIR: 'memory://', REQUEST_TIMEOUT_MS: '60000', ...collectOnSignal() };
    const started = await Promise.allSettled([startMain(env), startMain(env)]);
    [oneAddress, manyAddresses] = started.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }, 60_000);
  afterAll(() => {
    oneAddress?.kill();
    manyAddresses?.kill();
  });

  describe(`${STALLED} stalled 100 KB bodies from one address (the per-client cap, 1 MiB, is what bites)`, () => {
    let stalled: Stalled;
    beforeAll(async () => {
      stalled = await stallBodies(oneAddress!, ['127.0.0.1']);
      report('one address, default caps', stalled);
    }, 60_000);
    afterAll(() => oneAddress?.kill());

    it(`grows the server's RSS by at most ${MAX_GROWTH_MB} MB`, () => {
      expectGrowthWithinBound(stalled);
    });

    it('holds only what fits in the per-client cap, and answers the rest 429 and closes them', () => {
      expectCapEnforced(stalled, PER_CLIENT_CAP, 429, 'RATE_LIMITED');
    });

    it('still answers /healthz within 1 s, and another client its query', async () => {
      const health = await ask(oneAddress!, '/healthz', { timeoutMs: 1_000 });
      expect([health.status, health.ms < 1_000]).toEqual([200, true]);
      const query = await ask(oneAddress!, '/graphql', { body: ORDINARY, localAddress: '127.0.0.2' });
      expectPage(query);
    });

    it('gives the bytes back once the stalled clients close', async () => {
      await expectBytesGivenBack(oneAddress!, stalled, '127.0.0.1');
    });
  });

  /**
   * From 40 addresses, 50 connections each, so the global cap (16 MiB, some 167 bodies) is full while each
   * address holds about 4 bodies, under its 1 MiB: the global cap is the only one that bites, whatever order the
   * two are checked in (one address with its cap raised to the global one would reach both on the same byte).
   */
  describe(`${STALLED} stalled 100 KB bodies from 40 addresses (the global cap, 16 MiB, is what bites)`, () => {
    const addresses = Array.from({ length: 40 }, (_, index) => `127.0.1.${index + 1}`);
    let stalled: Stalled;
    beforeAll(async () => {
      stalled = await stallBodies(manyAddresses!, addresses);
      report('40 addresses, default caps', stalled);
    }, 60_000);

    it(`grows the server's RSS by at most ${MAX_GROWTH_MB} MB`, () => {
      expectGrowthWithinBound(stalled);
    });

    it('holds only what fits in the global cap, and answers the rest 503, retryable, and closes them', () => {
      for (const response of expectCapEnforced(stalled, GLOBAL_CAP, 503, 'SERVICE_UNAVAILABLE').slice(0, 20)) {
        expect(response.headers['retry-after']).toBe('1');
        expect((JSON.parse(response.body) as { errors: { extensions: { retryable?: unknown } }[] }).errors[0]!.extensions.retryable).toBe(true);
      }
    });

    it('still answers /healthz within 1 s, and an ordinary query', async () => {
      expect(manyAddresses!.child.exitCode).toBeNull();
      const health = await ask(manyAddresses!, '/healthz', { timeoutMs: 1_000 });
      expect([health.status, health.ms < 1_000]).toEqual([200, true]);
      // Held bodies are whole 100,000-byte ones, so the cap keeps at least 16 MiB - 167 × 100,000 = 77 KB free:
      // room for a query of some 50 bytes.
      const query = await ask(manyAddresses!, '/graphql', { body: ORDINARY, localAddress: '127.0.0.2' });
      expectPage(query);
    });

    it('gives the bytes back once the stalled clients close', async () => {
      await expectBytesGivenBack(manyAddresses!, stalled, addresses[0]!);
    });
  });
});

describe.runIf(UNCAPPED)(`${STALLED} stalled 100 KB bodies with both caps at 1 GiB (for comparison; not asserted)`, () => {
  let uncapped: MainProcess | undefined;
  beforeAll(async () => {
    uncapped = await startMain({ PGLITE_DIR: 'memory://', REQUEST_TIMEOUT_MS: '60000', MAX_BODY_BYTES_IN_FLIGHT: GIB, MAX_BODY_BYTES_IN_FLIGHT_PER_CLIENT: GIB, ...collectOnSignal() });
  }, 60_000);
  afterAll(() => uncapped?.kill());

  it('reports the RSS it grows by', async () => {
    const stalled = await stallBodies(uncapped!, ['127.0.0.1']);
    report('both caps at 1 GiB', stalled);
    for (const connection of stalled.connections) connection.destroy();
  }, 60_000);
});

/**
 * A private redis-server child on a free port, for tests that kill Redis and start it again: nothing saved,
 * nothing shared with the Redis other tests use. Needs the `redis-server` binary on PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { openRedis } from '../../src/store/redis.js';
import { freePort } from '../../loadtest/servers.js';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Starts it (again, on the same port); resolves once it accepts connections. */
  start(): Promise<void>;
  /** Kills it (SIGKILL: an outage, not a shutdown); resolves once it has exited. Safe to call when stopped. */
  stop(): Promise<void>;
}

export async function redisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      child = started;
      let log = '';
      started.stdout.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('Ready to accept connections')) resolve();
      });
      started.once('error', reject);
      started.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${log}`)));
    });

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };

  return { port, url: `redis://127.0.0.1:${port}`, start, stop };
}

export async function connectedRedis(url: string): Promise<Redis> {
  const redis = openRedis(url);
  await redis.connect();
  return redis;
}

/**
 * A private redis-server and a client connected to it for the enclosing describe block: started before its
 * tests, the client closed and the server stopped after them, however they went. Read both inside the tests.
 */
export function privateRedis(): { readonly server: RedisServer; readonly redis: Redis } {
  const state: { server?: RedisServer; redis?: Redis } = {};
  beforeAll(async () => {
    state.server = await redisServer();
    await state.server.start();
    state.redis = await connectedRedis(state.server.url);
  });
  afterAll(async () => {
    state.redis?.disconnect();
    await state.server?.stop();
  });
  return {
    get server() {
      return state.server!;
    },
    get redis() {
      return state.redis!;
    },
  };
}

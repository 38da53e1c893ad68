/**
 * Redis for tests: a private redis-server (loadtest/redis-server.ts) and a client connected to it, for tests that
 * kill Redis and start it again.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { openRedis } from '../../src/store/redis.js';
import { redisServer, type RedisServer } from '../../loadtest/redis-server.js';

export { redisServer, type RedisServer };

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

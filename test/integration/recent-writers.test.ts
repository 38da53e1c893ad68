/**
 * The marks that keep a viewer's reads on the primary after their write (src/store/recent-writers.ts), over a
 * private redis-server: seen by another instance through Redis, gone after the window, and, while Redis is down,
 * every viewer treated as a recent writer (the primary is always right), each outage told once.
 */
import { describe, expect, it } from 'vitest';
import { redisRecentWriters } from '../../src/store/recent-writers.js';
import { privateRedis } from '../helpers/redis-server.js';

const WINDOW_MS = 400;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('recent writers in Redis', () => {
  const shared = privateRedis();
  const told: string[] = [];
  const hooks = { onUnavailable: () => void told.push('unavailable'), onRecovered: () => void told.push('recovered') };
  const instance = (prefix: string) => redisRecentWriters(shared.redis, hooks, { prefix, windowMs: WINDOW_MS, maxEntries: 100 });

  it('tells another instance who wrote, until the window closes', async () => {
    const [one, other] = [instance('a:'), instance('a:')];
    await one.mark(7);
    expect(await other.has(7)).toBe(true);
    expect(await other.has(8)).toBe(false);
    await sleep(WINDOW_MS + 100);
    expect(await one.has(7)).toBe(false);
    expect(await other.has(7)).toBe(false);
  });

  it('sends every viewer to the primary while Redis is down, and tells the outage once', async () => {
    const [one, other] = [instance('b:'), instance('b:')];
    await shared.server.stop();
    try {
      await expect(one.mark(1)).resolves.toBeUndefined();
      expect(await one.has(1)).toBe(true);
      expect(await other.has(2)).toBe(true);
      expect(await other.has(3)).toBe(true);
    } finally {
      await shared.server.start();
    }
    expect(told.filter((what) => what === 'unavailable')).toHaveLength(2);
  });
});

/**
 * The shared Redis connection, when REDIS_URL is set. Commands fail fast while Redis is down (no offline
 * queue), so a caller can fall back instead of waiting; the client keeps reconnecting in the background.
 */
import { Redis } from 'ioredis';

export function openRedis(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  // Connection errors are reported through readiness; without a listener ioredis would print each retry.
  redis.on('error', () => {});
  return redis;
}

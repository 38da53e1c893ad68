/**
 * The cost budget's store as every process runs it over Redis: one bucket per client shared by every instance
 * (cost-bucket.ts), served from the in-process twin while Redis is down or slow (fallback.ts), and leased to
 * each instance in chunks for clients it sees often, so a busy client costs a round trip per lease rather than
 * per operation (leased-bucket.ts). main.ts and the tests build it here, so both run the same stack.
 */
import { memoryCostBucket, redisCostBucket, type RedisCostBucketOptions } from './cost-bucket.js';
import { withFallback, type FallbackHooks } from './fallback.js';
import { withLeases, type LeasedCostBucket } from './leased-bucket.js';
import type { SharedRedis } from './redis.js';

export function sharedCostBucket(redis: SharedRedis, hooks: FallbackHooks, options: RedisCostBucketOptions = {}): LeasedCostBucket {
  return withLeases(withFallback(redisCostBucket(redis, options), memoryCostBucket(), hooks));
}

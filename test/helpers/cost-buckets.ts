/**
 * The cost buckets a store test runs against: the in-process twin always, and Redis when REDIS_URL is set, under
 * a key prefix of the test file's own run (files or CI jobs sharing one Redis never share a bucket), its keys
 * deleted at close (most would outlive the run: slow test policies refill in hours).
 */
import { randomBytes } from 'node:crypto';
import { memoryCostBucket, redisCostBucket, type CostBucket } from '../../src/store/cost-bucket.js';
import { connectedRedis } from './redis-server.js';
import { unlinkByPrefix, type SharedRedis } from '../../src/store/redis.js';

export interface BucketStore {
  readonly name: string;
  open(): Promise<{ bucket: CostBucket; close: () => Promise<void> }>;
}

/** A key prefix unique to this run. */
export const runPrefix = (): string => `tally-test:${randomBytes(6).toString('hex')}:`;

export async function removeKeys(redis: SharedRedis, prefix: string): Promise<void> {
  await unlinkByPrefix(redis, prefix);
}

export function bucketStores(prefix: string): BucketStore[] {
  const stores: BucketStore[] = [{ name: 'memory', open: () => Promise.resolve({ bucket: memoryCostBucket(), close: () => Promise.resolve() }) }];
  const url = process.env['REDIS_URL'];
  if (url) {
    stores.push({
      name: 'redis',
      open: async () => {
        const redis = await connectedRedis(url);
        return {
          bucket: redisCostBucket(redis, { prefix }),
          close: async () => {
            await removeKeys(redis, prefix);
            await redis.quit();
          },
        };
      },
    });
  }
  return stores;
}

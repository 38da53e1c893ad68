/**
 * The caches over the stores (src/store/stores.ts): answers of queries over GET, and users by id behind the loader.
 * The schema is handed in (its `@cacheControl` hints are the response cache's policies): the schema itself uses
 * this folder's directive, so it sits above it.
 */
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { followerIdsOf } from '../db/queries/follows.js';
import type { Metrics } from '../observability/metrics.js';
import type { Stores } from '../store/stores.js';
import { createResponseCache, type ResponseCache } from './response-cache.js';
import { createUserCache, type UserCache } from './user-cache.js';

export interface Caches {
  readonly responseCache: ResponseCache;
  /** Absent with USER_CACHE_TTL_SECONDS=0. */
  readonly userCache: UserCache | undefined;
}

export function createCaches(config: Config, stores: Stores, { metrics, database, schema }: { metrics: Metrics; database: Database; schema: GraphQLSchema }): Caches {
  return {
    responseCache: createResponseCache({
      schema,
      store: stores.responses,
      metrics,
      followersOf: (userId, limit) => followerIdsOf(database.db, userId, limit),
    }),
    userCache: config.cache.userTtlSeconds > 0 ? createUserCache({ store: stores.values, ttlSeconds: config.cache.userTtlSeconds, metrics }) : undefined,
  };
}

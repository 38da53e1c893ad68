/** The per-request GraphQL context: who is asking, the request's own loaders, and its statement-counting db. */
import type { YogaInitialContext } from 'graphql-yoga';
import type { Viewer } from './auth/jwt.js';
import type { Database, Db } from './db/client.js';
import { createLoaders, type LoaderOptions, type Loaders } from './loaders/index.js';
import { scopeOf } from './request-scope.js';

export interface Context {
  readonly viewer: Viewer | null;
  readonly loaders: Loaders;
  readonly db: Db;
  /**
   * Whether a list may join in what its query selects below it (a page of posts, its authors) and prime the
   * loaders with it. Off only with UNBATCHED_LOADERS, whose point is to show the N+1 this and batching remove.
   */
  readonly lookahead: boolean;
}

export function createContext(database: Database, loaderOptions: LoaderOptions = {}) {
  return ({ request }: YogaInitialContext): Context => {
    const scope = scopeOf(request);
    const db = database.forRequest(() => {
      scope.sqlStatements += 1;
    });
    return { viewer: scope.viewer, loaders: createLoaders(db, loaderOptions), db, lookahead: loaderOptions.batch !== false };
  };
}

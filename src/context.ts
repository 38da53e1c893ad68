/** The per-request GraphQL context: who is asking, and the request's own loaders. */
import type { YogaInitialContext } from 'graphql-yoga';
import type { Viewer } from './auth/jwt.js';
import type { Db } from './db/client.js';
import { createLoaders, type LoaderOptions, type Loaders } from './loaders/index.js';
import { viewerOf } from './plugins/use-auth.js';

export interface Context {
  readonly viewer: Viewer | null;
  readonly loaders: Loaders;
  readonly db: Db;
}

export function createContext(db: Db, loaderOptions: LoaderOptions = {}) {
  return ({ request }: YogaInitialContext): Context => ({
    viewer: viewerOf(request),
    loaders: createLoaders(db, loaderOptions),
    db,
  });
}

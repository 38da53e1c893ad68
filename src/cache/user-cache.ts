/**
 * Cache-aside for users by id, behind the user loader: the rows a request's loader asks for come from the store
 * (Redis, shared by every instance, or in-process) where kept, and the rest from PostgreSQL in one statement,
 * then are kept for USER_CACHE_TTL_SECONDS with ±10% jitter, so rows kept in one burst do not all expire in the
 * same instant and send their misses together. Misses of one id arriving while its query runs in this process
 * wait for that query (a single flight): a thousand concurrent requests for one user send one statement.
 *
 * What is kept is the users row alone: a user's balance (accounts) and ledger never come from here, and what
 * authorization decides (whether the viewer is that user) depends on the id, which never changes. A users row
 * is written only when the user signs up, before anything could have kept it; a write to one drops its copy
 * (`forget`), so a row edited later cannot be served stale.
 */
import type { UserRow } from '../db/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { ValueStore } from '../store/value-store.js';

export interface UserCache {
  /** The users of these ids that exist: kept ones from the store, the rest by `fetch` (shared with concurrent misses). */
  load(ids: readonly number[], fetch: (ids: readonly number[]) => Promise<UserRow[]>): Promise<UserRow[]>;
  forget(ids: readonly number[]): Promise<void>;
}

const JITTER = 0.1;
const keyOf = (id: number) => `user:${id}`;

function revive(text: string): UserRow {
  const row = JSON.parse(text) as Omit<UserRow, 'createdAt'> & { createdAt: string };
  return { ...row, createdAt: new Date(row.createdAt) };
}

export function createUserCache({ store, ttlSeconds, metrics }: { store: ValueStore; ttlSeconds: number; metrics: Metrics }): UserCache {
  const flights = new Map<number, Promise<UserRow | undefined>>();

  const fetchAndKeep = (ids: readonly number[], fetch: (ids: readonly number[]) => Promise<UserRow[]>) => {
    const rows = fetch(ids).then(async (found) => {
      await Promise.all(found.map((row) => store.set(keyOf(row.id), JSON.stringify(row), ttlSeconds * 1000 * (1 - JITTER + 2 * JITTER * Math.random()))));
      return new Map(found.map((row) => [row.id, row]));
    });
    for (const id of ids) {
      const flight = rows.then((byId) => byId.get(id));
      flights.set(id, flight);
      // Settled either way; a failed query fails each waiting request the way its own query would have.
      void flight.finally(() => flights.delete(id)).catch(() => {});
    }
  };

  return {
    async load(ids, fetch) {
      const kept = await store.getMany(ids.map(keyOf));
      const rows: UserRow[] = [];
      const missing: number[] = [];
      ids.forEach((id, index) => {
        const text = kept[index];
        if (text === undefined) missing.push(id);
        else rows.push(revive(text));
      });
      metrics.userCache('hit', rows.length);
      metrics.userCache('miss', missing.length);
      const unflown = missing.filter((id) => !flights.has(id));
      if (unflown.length > 0) fetchAndKeep(unflown, fetch);
      for (const row of await Promise.all(missing.map((id) => flights.get(id)!))) if (row) rows.push(row);
      return rows;
    },
    forget: (ids) => store.delete(ids.map(keyOf)),
  };
}

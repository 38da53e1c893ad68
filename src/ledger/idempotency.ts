/**
 * Idempotency keys with Stripe's semantics, for every money mutation. One database transaction holds the key's
 * check, the money movement and the key's record of the outcome, so an outcome is recorded if and only if its
 * money moved (or, for a typed error, did not):
 *
 *   1. a transaction-scoped advisory lock on (user, key), so only one request at a time can run a key's work;
 *   2. a stored outcome for the key, whether or not the lock was had (another retry may hold it only to replay):
 *      same parameters → that outcome again, nothing written; other parameters → IDEMPOTENCY_KEY_REUSED;
 *   3. no stored outcome and no lock: the first request is still running, and this one is told
 *      IDEMPOTENCY_KEY_IN_PROGRESS at once (Stripe's 409) instead of waiting;
 *   4. otherwise the work runs, and its outcome (typed errors included) is stored with the key.
 *
 * Keys live at least KEY_RETENTION_HOURS; `removeExpiredKeys` deletes only older ones.
 */
import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { sqlStateOf, violatedUniqueIndex } from '../db/errors.js';
import { rowsOf } from '../db/client.js';
import { idempotencyKeys } from '../db/schema.js';
import { deleteInBatches } from '../db/batched-delete.js';
import { failed, problem, type Outcome } from '../problems.js';

export const KEY_RETENTION_HOURS = 24;
export const MAX_KEY_LENGTH = 255;

export interface IdempotentRequest {
  readonly userId: number;
  readonly key: string;
  /** The operation and its normalized parameters; their hash is compared on a retry. */
  readonly operation: string;
  readonly parameters: Readonly<Record<string, string>>;
}

export function requestHash(operation: string, parameters: Readonly<Record<string, string>>): string {
  const canonical = JSON.stringify([operation, Object.entries(parameters).sort(([a], [b]) => (a < b ? -1 : 1))]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** PostgreSQL errors worth running the whole transaction again for: nothing of it was committed. */
const RETRYABLE = new Set(['40001', '40P01']);
const ATTEMPTS = 3;

/** An outcome, and whether it is a stored one replayed (then nothing was written now). */
export interface KeyedOutcome<T> {
  readonly outcome: Outcome<T>;
  readonly replayed: boolean;
}

export async function idempotently<T>(
  db: Db,
  request: IdempotentRequest,
  work: (tx: Db) => Promise<Outcome<T>>,
): Promise<KeyedOutcome<T>> {
  const hash = requestHash(request.operation, request.parameters);
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await db.transaction(async (tx) => {
        const [lock] = rowsOf<{ locked: boolean }>(
          await tx.execute(sql`select pg_try_advisory_xact_lock(hashtextextended(${`${request.userId}:${request.key}`}, 0)) as locked`),
        );
        const [stored] = await tx
          .select({ requestHash: idempotencyKeys.requestHash, outcome: idempotencyKeys.outcome })
          .from(idempotencyKeys)
          .where(and(eq(idempotencyKeys.userId, request.userId), eq(idempotencyKeys.key, request.key)));
        if (stored) {
          if (stored.requestHash !== hash) {
            const reused = problem('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was already used with other parameters: use a new key.', KEY_FIELD);
            return { outcome: failed(reused), replayed: false };
          }
          return { outcome: stored.outcome as Outcome<T>, replayed: true };
        }
        if (!lock?.locked) return { outcome: inProgress(), replayed: false };

        const outcome = await work(tx);
        await tx.insert(idempotencyKeys).values({ userId: request.userId, key: request.key, requestHash: hash, outcome });
        return { outcome, replayed: false };
      });
    } catch (error) {
      const state = sqlStateOf(error);
      // Another request with this key committed between our lock and our insert cannot happen (the lock is held
      // to commit), but a unique violation on the key itself is still answered as the race it would be.
      if (violatedUniqueIndex(error) === 'idempotency_keys_user_id_key_pk') return { outcome: inProgress(), replayed: false };
      if (state && RETRYABLE.has(state) && attempt < ATTEMPTS) continue;
      throw error;
    }
  }
}

const KEY_FIELD = ['input', 'idempotencyKey'];
const inProgress = () =>
  failed(problem('IDEMPOTENCY_KEY_IN_PROGRESS', 'A request with this idempotency key is still being processed: retry shortly.', KEY_FIELD));

/**
 * Deletes keys older than the retention period, never a younger one, in batches, and returns how many. Age is
 * measured on the database's clock (the one that wrote `created_at`) unless `now` is given.
 */
export function removeExpiredKeys(db: Db, now?: Date): Promise<number> {
  const reference = now ? sql`${now.toISOString()}::timestamptz` : sql`now()`;
  return deleteInBatches(db, idempotencyKeys, sql`${idempotencyKeys.createdAt} < ${reference} - make_interval(hours => ${KEY_RETENTION_HOURS})`);
}

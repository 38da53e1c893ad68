import { and, eq, gte, lt } from 'drizzle-orm';
import type { Db } from '../client.js';
import { inIdsPlaceholder } from '../id-array.js';
import { preparedQuery } from '../prepared.js';
import { keysetLimit, keysetOrder, keysetWhere, type PageRequest } from '../keyset.js';
import { transactions, type TransactionKind } from '../schema.js';

export interface TransactionFilter {
  readonly kind?: TransactionKind | undefined;
  /** Inclusive lower bound of created_at. */
  readonly from?: Date | undefined;
  /** Exclusive upper bound of created_at. */
  readonly to?: Date | undefined;
}

const transactionKey = { at: transactions.createdAt, id: transactions.id };

const transactionsByIdsQuery = preparedQuery((db) => db.select().from(transactions).where(inIdsPlaceholder(transactions.id)));
export const transactionsByIds = (db: Db, ids: readonly number[]) => transactionsByIdsQuery(db, { ids: [...ids] });

/**
 * One user's ledger, newest first. With a kind it pages by transactions_user_kind_created_idx, without by
 * transactions_user_created_idx; the date range narrows the same index range.
 */
export const transactionsPage = (db: Db, userId: number, filter: TransactionFilter, page: PageRequest) =>
  db
    .select()
    .from(transactions)
    .where(
      and(
        eq(transactions.userId, userId),
        filter.kind ? eq(transactions.kind, filter.kind) : undefined,
        filter.from ? gte(transactions.createdAt, filter.from) : undefined,
        filter.to ? lt(transactions.createdAt, filter.to) : undefined,
        keysetWhere(transactionKey, page),
      ),
    )
    .orderBy(...keysetOrder(transactionKey, page))
    .limit(keysetLimit(page));

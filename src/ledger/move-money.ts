/**
 * Moving money, inside a database transaction the caller opened (see idempotency.ts). The accounts involved are
 * locked first, always in user-id order, so two transfers between the same users in opposite directions queue
 * behind each other instead of deadlocking; every rule is checked on the locked rows, before anything is written;
 * then the entries and the balances are written together. A balance therefore always equals the sum of its
 * entries and never goes below zero (the schema's checks say so too). Its event goes into the outbox in the same
 * transaction.
 */
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { inIds } from '../db/id-array.js';
import { rowsOf } from '../db/client.js';
import { accounts, transactions, type AccountRow, type Currency } from '../db/schema.js';
import { recordEvent, type DomainEvent } from '../db/queries/outbox.js';
import { formatMinor } from './money.js';
import { failed, problem, succeeded, type Outcome } from '../problems.js';

interface Movement {
  readonly userId: number;
  /** Positive, in minor units of `currency`. */
  readonly minor: bigint;
  readonly currency: Currency;
  readonly description: string;
}

export type MoneyMovement =
  | (Movement & { readonly kind: 'deposit' | 'withdraw' })
  | (Movement & { readonly kind: 'transfer'; readonly toUserId: number });

/** The viewer's own new entry (for a transfer, the side going out). */
export interface Moved {
  readonly entryId: number;
}

const AMOUNT = ['input', 'amount'];

/** The largest balance an account holds: PostgreSQL's bigint, in minor units. */
export const MAX_BALANCE = 2n ** 63n - 1n;

const overLimit = (account: AccountRow, field: readonly string[]) =>
  problem('BALANCE_LIMIT', `The account would hold more than ${formatMinor(MAX_BALANCE, account.currency)} ${account.currency}.`, field);
const CURRENCY = ['input', 'currency'];

/** Moves the money and records its event (the outbox) in `tx`; a refused movement writes neither. */
export async function moveMoney(tx: Db, movement: MoneyMovement, idempotencyKey: string): Promise<Outcome<Moved>> {
  const outcome = await checkedMove(tx, movement, idempotencyKey);
  if (outcome.ok) await recordEvent(tx, movedEvent(movement, outcome.value));
  return outcome;
}

/** The users whose balances a movement changes, the mover first. */
export const usersOf = (movement: MoneyMovement): number[] =>
  movement.kind === 'transfer' ? [movement.userId, movement.toUserId] : [movement.userId];

/** The event of a movement that went through: recorded in its transaction, published after its commit. */
export const movedEvent = (movement: MoneyMovement, moved: Moved): DomainEvent => ({ type: 'ledger.moved', entryIds: [moved.entryId], userIds: usersOf(movement) });

async function checkedMove(tx: Db, movement: MoneyMovement, idempotencyKey: string): Promise<Outcome<Moved>> {
  const ids = usersOf(movement);
  // ORDER BY then FOR UPDATE: PostgreSQL locks the rows in the sorted order.
  const locked = await tx.select().from(accounts).where(inIds(accounts.userId, ids)).orderBy(accounts.userId).for('update');
  const own = locked.find((account) => account.userId === movement.userId);
  if (!own) return failed(problem('NOT_FOUND', 'The viewer has no account.'));
  if (own.currency !== movement.currency) {
    return failed(problem('CURRENCY_MISMATCH', `The account holds ${own.currency}, not ${movement.currency}.`, CURRENCY));
  }
  if (movement.kind !== 'deposit' && own.balance < movement.minor) {
    return failed(
      problem(
        'INSUFFICIENT_FUNDS',
        `The balance is ${formatMinor(own.balance, own.currency)} ${own.currency}, less than ${formatMinor(movement.minor, own.currency)} ${own.currency}.`,
        AMOUNT,
      ),
    );
  }

  if (movement.kind === 'deposit' && own.balance + movement.minor > MAX_BALANCE) return failed(overLimit(own, AMOUNT));

  switch (movement.kind) {
    case 'deposit':
      return succeeded({ entryId: await writeSingle(tx, own, movement, movement.minor, 'DEPOSIT', idempotencyKey) });
    case 'withdraw':
      return succeeded({ entryId: await writeSingle(tx, own, movement, -movement.minor, 'WITHDRAWAL', idempotencyKey) });
    case 'transfer': {
      const to = locked.find((account) => account.userId === movement.toUserId);
      if (!to) return failed(problem('NOT_FOUND', 'No user has this ID.', ['input', 'to']));
      if (to.currency !== movement.currency) {
        return failed(problem('CURRENCY_MISMATCH', `The recipient's account holds ${to.currency}, not ${movement.currency}.`, CURRENCY));
      }
      if (to.balance + movement.minor > MAX_BALANCE) return failed(overLimit(to, AMOUNT));
      return succeeded({ entryId: await writeTransfer(tx, own, to, movement, idempotencyKey) });
    }
  }
}

async function writeSingle(
  tx: Db,
  account: AccountRow,
  movement: Movement,
  amount: bigint,
  kind: 'DEPOSIT' | 'WITHDRAWAL',
  idempotencyKey: string,
): Promise<number> {
  const balanceAfter = account.balance + amount;
  const [entry] = await tx
    .insert(transactions)
    .values({ userId: account.userId, kind, amount, currency: account.currency, description: movement.description, balanceAfter, idempotencyKey })
    .returning({ id: transactions.id });
  await setBalance(tx, account.userId, balanceAfter);
  return entry!.id;
}

async function writeTransfer(tx: Db, from: AccountRow, to: AccountRow, movement: Movement, idempotencyKey: string): Promise<number> {
  const [sequence] = rowsOf<{ id: string }>(await tx.execute(sql`select nextval('transfer_ids') as id`));
  const transferId = Number(sequence!.id);
  const common = { currency: from.currency, description: movement.description, transferId };
  // The key is the sender's: the recipient's entry does not carry it (their keys are their own).
  const written = await tx
    .insert(transactions)
    .values([
      { ...common, userId: from.userId, kind: 'TRANSFER_OUT', amount: -movement.minor, counterpartyId: to.userId, balanceAfter: from.balance - movement.minor, idempotencyKey },
      { ...common, userId: to.userId, kind: 'TRANSFER_IN', amount: movement.minor, counterpartyId: from.userId, balanceAfter: to.balance + movement.minor },
    ])
    .returning({ id: transactions.id, userId: transactions.userId });
  await setBalance(tx, from.userId, from.balance - movement.minor);
  await setBalance(tx, to.userId, to.balance + movement.minor);
  const out = written.find((entry) => entry.userId === from.userId);
  if (!out) throw new Error('the transfer wrote no entry for its sender');
  return out.id;
}

const setBalance = (tx: Db, userId: number, balance: bigint) =>
  tx.update(accounts).set({ balance, updatedAt: sql`now()` }).where(eq(accounts.userId, userId));

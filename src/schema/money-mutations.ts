/**
 * deposit, withdraw, transfer: each validates its input, then moves money under an idempotency key (input field
 * or `Idempotency-Key` header) in one database transaction (src/ledger/). The payload returns the viewer's new
 * entry, whose balanceAfter is the balance this operation left, and the viewer as it is now.
 */
import type { GraphQLResolveInfo } from 'graphql';
import { z } from 'zod';
import { idempotently, MAX_KEY_LENGTH } from '../ledger/idempotency.js';
import { movedEvent, moveMoney, usersOf, type MoneyMovement, type Moved } from '../ledger/move-money.js';
import type { Context } from '../context.js';
import type { Currency } from '../db/schema.js';
import { majorToMinor, parseAmount } from '../ledger/money.js';
import { failed, problem, succeeded, type Outcome, type Problem } from '../problems.js';
import { builder } from './builder.js';
import { CurrencyEnum } from './money.js';
import { ERRORS_LIST, MutationError, rejected, toPayload, type Payload } from './mutation-errors.js';
import { Transaction } from './transaction.js';
import { User } from './user.js';
import { existingViewer, viewerRow } from './existing-viewer.js';
import { userIdInput } from './user-ids.js';
import { text, validate } from './validation.js';

const MAX_DESCRIPTION = 200;
/** Header values are bytes: visible ASCII only, so a header key and the same input key are one key. */
const HEADER_KEY = new RegExp(`^[\\x21-\\x7e]{1,${MAX_KEY_LENGTH}}$`);

const moneyInput = z.object({
  amount: z.string(),
  currency: z.string(),
  description: text('The description', { min: 0, max: MAX_DESCRIPTION }).nullish(),
  idempotencyKey: text('The idempotency key', { max: MAX_KEY_LENGTH }).nullish(),
});

interface MoneyInput {
  readonly amount: string;
  readonly currency: Currency;
  readonly description?: string | null;
  readonly idempotencyKey?: string | null;
}

interface Checked {
  readonly minor: bigint;
  readonly description: string;
  readonly key: string;
}

/** Every rule on the fields all money mutations share, each failure naming its field. */
function checkMoneyInput(input: MoneyInput, context: Context, info: GraphQLResolveInfo): Outcome<Checked> {
  const shape = validate(moneyInput, input);
  const problems: Problem[] = shape.ok ? [] : [...shape.problems];
  const amount = parseAmount(input.amount, input.currency, majorToMinor(context.maxAmountMajor, input.currency));
  if ('problem' in amount) problems.push(problem('INVALID_INPUT', amount.problem, ['input', 'amount']));

  const header = context.idempotencyKeyHeader;
  const key = input.idempotencyKey ?? header;
  if (key === null || key === undefined) {
    problems.push(problem('INVALID_INPUT', 'Money mutations need an idempotency key: the "idempotencyKey" input or an Idempotency-Key header.', ['input', 'idempotencyKey']));
  } else if (input.idempotencyKey != null && header !== null && header !== input.idempotencyKey) {
    problems.push(problem('INVALID_INPUT', 'The "idempotencyKey" input and the Idempotency-Key header differ: send one key.', ['input', 'idempotencyKey']));
  } else if (input.idempotencyKey == null && !HEADER_KEY.test(key)) {
    problems.push(problem('INVALID_INPUT', `The Idempotency-Key header must be 1 to ${MAX_KEY_LENGTH} visible ASCII characters.`, ['input', 'idempotencyKey']));
  } else if (input.idempotencyKey == null && info.operation.selectionSet.selections.length > 1) {
    // One header, several mutations: each would claim the same key, and all but the first would replay its result.
    problems.push(
      problem('INVALID_INPUT', 'An Idempotency-Key header keys one mutation: with several in one request, give each its own "idempotencyKey".', [
        'input',
        'idempotencyKey',
      ]),
    );
  }
  if (problems.length > 0 || !('minor' in amount) || key == null) return failed(...problems);
  return succeeded({ minor: amount.minor, description: input.description ?? '', key });
}

/** Runs a checked movement under its key; tells the event bus and refreshes the loaders when money moved. */
async function move(context: Context, movement: MoneyMovement, key: string): Promise<Payload<Moved>> {
  const parameters: Record<string, string> = {
    amount: movement.minor.toString(),
    currency: movement.currency,
    description: movement.description,
    ...(movement.kind === 'transfer' ? { to: String(movement.toUserId) } : {}),
  };
  const { outcome, replayed } = await idempotently(
    context.db,
    { userId: movement.userId, key, operation: movement.kind, parameters },
    (tx) => moveMoney(tx, movement, key),
  );
  // A balance read earlier in this request (an earlier mutation's payload) is stale now.
  for (const userId of usersOf(movement)) context.loaders.account.clear(userId);
  if (outcome.ok && !replayed) await context.events.publish(movedEvent(movement, outcome.value));
  return toPayload(outcome);
}

const AMOUNT_DESCRIPTION = 'A positive decimal amount with at most the currency\'s decimal places, such as "12.34".';
const KEY_DESCRIPTION = `Makes retries safe: the same key with the same input returns the first result and moves nothing again (kept at least 24 hours; 1 to ${MAX_KEY_LENGTH} characters). Required here or as an Idempotency-Key header.`;

/** One payload type per mutation (Relay style), all with the same fields. */
function moneyPayload(name: string) {
  return builder.objectRef<Payload<Moved>>(name).implement({
    description: 'The viewer\'s new ledger entry and the viewer, or the typed errors that say why nothing moved.',
    fields: (t) => ({
      entry: t.field({
        type: Transaction,
        nullable: true,
        description: 'The viewer\'s new entry (for a transfer, the side going out); null when nothing moved.',
        resolve: (payload, _args, context) => (payload.value ? context.loaders.transaction.load(payload.value.entryId) : null),
      }),
      viewer: t.field({
        type: User,
        nullable: true,
        description:
          'The viewer as it is now, to update a client cache: its balance is the current one, also when the rest of the payload is a replay of a stored outcome (entry.balanceAfter is what this operation left).',
        resolve: (_payload, _args, context) => viewerRow(context),
      }),
      errors: t.field({
        type: [MutationError],
        ...ERRORS_LIST,
        description: 'Why nothing moved; empty on success.',
        resolve: (payload) => [...payload.errors],
      }),
    }),
  });
}

const amountFields = {
  amount: { description: AMOUNT_DESCRIPTION },
  currency: { description: 'The currency; it must be the account\'s.' },
  description: { description: `A note kept with the entry (at most ${MAX_DESCRIPTION} characters).` },
  idempotencyKey: { description: KEY_DESCRIPTION },
} as const;

/** The input of a one-sided movement (deposit, withdraw): the same fields under each mutation's own name. */
function singleSideInput(name: string, description: string) {
  return builder.inputType(name, {
    description,
    fields: (t) => ({
      amount: t.string({ required: true, ...amountFields.amount }),
      currency: t.field({ type: CurrencyEnum, required: true, ...amountFields.currency }),
      description: t.string(amountFields.description),
      idempotencyKey: t.string(amountFields.idempotencyKey),
    }),
  });
}

const TransferInput = builder.inputType('TransferInput', {
  description: 'Money sent from the viewer\'s account to another user\'s, in the currency both accounts hold.',
  fields: (t) => ({
    to: t.id({ required: true, description: 'The global ID of the User receiving the money.' }),
    amount: t.string({ required: true, ...amountFields.amount }),
    currency: t.field({ type: CurrencyEnum, required: true, description: 'The currency; both accounts must hold it.' }),
    description: t.string(amountFields.description),
    idempotencyKey: t.string(amountFields.idempotencyKey),
  }),
});

const TransferPayload = moneyPayload('TransferPayload');

/** deposit and withdraw: one account, one entry; they differ only in direction. */
function singleSideMutation(kind: 'deposit' | 'withdraw', name: string, description: string, inputDescription: string) {
  const Input = singleSideInput(`${name}Input`, inputDescription);
  const Payload = moneyPayload(`${name}Payload`);
  builder.mutationField(kind, (t) =>
    t.field({
      type: Payload,
      description,
      authScopes: { viewer: true },
      args: { input: t.arg({ type: Input, required: true }) },
      resolve: async (_root, { input }, context, info) => {
        const viewer = await existingViewer(context);
        const checked = checkMoneyInput(input, context, info);
        if (!checked.ok) return rejected(checked.problems);
        const { minor, description: note, key } = checked.value;
        return move(context, { kind, userId: viewer.id, minor, currency: input.currency, description: note }, key);
      },
    }),
  );
}

singleSideMutation('deposit', 'Deposit', 'Pays money into the viewer\'s account.', 'Money paid into the viewer\'s account.');
singleSideMutation(
  'withdraw',
  'Withdraw',
  'Pays money out of the viewer\'s account: INSUFFICIENT_FUNDS if the balance is lower.',
  'Money paid out of the viewer\'s account; never more than its balance.',
);

builder.mutationFields((t) => ({
  transfer: t.field({
    type: TransferPayload,
    description: 'Sends money to another user: both sides and both balances are written in one database transaction.',
    authScopes: { viewer: true },
    args: { input: t.arg({ type: TransferInput, required: true }) },
    resolve: async (_root, { input }, context, info) => {
      const viewerId = (await existingViewer(context)).id;
      const checked = checkMoneyInput(input, context, info);
      const to = userIdInput(String(input.to), ['input', 'to']);
      const problems = [...(checked.ok ? [] : checked.problems), ...(to.ok ? [] : to.problems)];
      if (to.ok && to.value === viewerId) problems.push(problem('SELF_TRANSFER', 'A transfer needs another user as its recipient.', ['input', 'to']));
      if (!checked.ok || !to.ok || problems.length > 0) return rejected(problems);
      const { minor, description, key } = checked.value;
      return move(context, { kind: 'transfer', userId: viewerId, toUserId: to.value, minor, currency: input.currency, description }, key);
    },
  }),
}));

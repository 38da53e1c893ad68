import { transactionsPage } from '../db/queries/transactions.js';
import { transactionKind, type TransactionRow } from '../db/schema.js';
import { badInput } from '../errors.js';
import { builder } from './builder.js';
import { parseRowId } from './ids.js';
import { Money } from './money.js';
import { PAGED, parsePageArgs, toConnection } from './pagination.js';
import { User } from './user.js';
import { privateField } from '../cache/directive.js';

const KIND_DESCRIPTIONS = {
  DEPOSIT: 'Money paid into the account.',
  WITHDRAWAL: 'Money paid out of the account.',
  TRANSFER_IN: 'Money received from another user.',
  TRANSFER_OUT: 'Money sent to another user.',
} as const;

export const TransactionKindEnum = builder.enumType('TransactionKind', {
  description: 'What a ledger entry records.',
  values: Object.fromEntries(transactionKind.enumValues.map((kind) => [kind, { description: KIND_DESCRIPTIONS[kind] }])) as {
    [K in keyof typeof KIND_DESCRIPTIONS]: { description: string };
  },
});

export const Transaction = builder.objectRef<TransactionRow>('Transaction');

builder.node(Transaction, {
  description: 'An immutable entry in one user\'s ledger. Visible only to that user.',
  directives: privateField,
  id: { resolve: (entry) => entry.id, parse: parseRowId('Transaction') },
  // Another user's entry is reported as absent (null), so a global ID does not reveal that it exists.
  loadMany: (ids, context) =>
    ids.map(async (id) => {
      const entry = await context.loaders.transaction.load(id);
      return entry?.userId === context.viewer?.id ? entry : null;
    }),
  fields: (t) => ({
    kind: t.field({ type: TransactionKindEnum, description: 'What the entry records.', resolve: (entry) => entry.kind }),
    amount: t.field({
      type: Money,
      description: 'The signed amount: positive for deposits and transfers in, negative for withdrawals and transfers out.',
      resolve: (entry) => ({ minor: entry.amount, currency: entry.currency }),
    }),
    balanceAfter: t.field({
      type: Money,
      description: 'The balance of the account right after this entry.',
      resolve: (entry) => ({ minor: entry.balanceAfter, currency: entry.currency }),
    }),
    description: t.exposeString('description', { description: 'The description given when the money moved.' }),
    counterparty: t.field({
      type: User,
      nullable: true,
      description: 'For transfers, the other user; null for deposits and withdrawals.',
      resolve: (entry, _args, context) =>
        entry.counterpartyId === null ? null : context.loaders.user.load(entry.counterpartyId),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the money moved.' }),
  }),
});

const TransactionConnection = builder.connectionObject(
  { type: Transaction, name: 'TransactionConnection', description: 'A page of ledger entries, newest first.' },
  { name: 'TransactionEdge', description: 'A ledger entry and its cursor.' },
);

const TransactionFilter = builder.inputType('TransactionFilter', {
  description: 'Narrows a ledger to one kind of entry and/or a time range.',
  fields: (t) => ({
    kind: t.field({ type: TransactionKindEnum, description: 'Only entries of this kind.' }),
    from: t.field({ type: 'DateTime', description: 'Only entries at or after this instant.' }),
    to: t.field({ type: 'DateTime', description: 'Only entries before this instant.' }),
  }),
});

builder.objectField(User, 'transactions', (t) =>
  t.connection(
    {
      type: Transaction,
      ...PAGED,
      nullable: true,
      description: 'The ledger of this user, newest first. Private: only the user themselves may read it.',
      directives: { ...PAGED.directives, ...privateField },
      args: { filter: t.arg({ type: TransactionFilter, description: 'Narrows the ledger.' }) },
      authScopes: (user) => ({ self: user.id }),
      resolve: async (user, args, context) => {
        const filter = { kind: args.filter?.kind ?? undefined, from: args.filter?.from ?? undefined, to: args.filter?.to ?? undefined };
        if (filter.from && filter.to && filter.from >= filter.to) {
          throw badInput('"filter.from" must be earlier than "filter.to".', 'filter.from');
        }
        const page = parsePageArgs('User.transactions', args);
        const rows = await transactionsPage(context.db, user.id, filter, page);
        return toConnection('User.transactions', page, rows, (entry) => ({ at: entry.createdAt, id: entry.id }), (entry) => entry);
      },
    },
    TransactionConnection,
  ),
);

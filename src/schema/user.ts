import type { UserRow } from '../db/schema.js';
import { userByUsername } from '../db/queries/users.js';
import { badInput } from '../errors.js';
import { builder } from './builder.js';
import { viewerRow } from './existing-viewer.js';
import { parseRowId } from './ids.js';
import { Money } from './money.js';
import { privateField, privateHint, publicHint } from '../cache/directive.js';

export const User = builder.objectRef<UserRow>('User');
const parseUserId = parseRowId('User');

builder.node(User, {
  description: 'A person on Tally: a public profile; email, balance and transactions only for themselves.',
  id: { resolve: (user) => user.id, parse: parseUserId },
  loadMany: (ids, context) => ids.map((id) => context.loaders.user.load(id)),
  fields: (t) => ({
    username: t.exposeString('username', { description: 'The unique handle, such as "demo".' }),
    name: t.exposeString('name', { description: 'The display name.' }),
    avatarUrl: t.exposeString('avatarUrl', { nullable: true, description: 'A URL of the avatar image, if one is set.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user signed up.' }),
    email: t.exposeString('email', {
      nullable: true,
      description: 'The email address. Private: only the user themselves may read it.',
      directives: privateField,
      authScopes: (user) => ({ self: user.id }),
    }),
    balance: t.field({
      type: Money,
      nullable: true,
      description: 'The current balance of the account. Private: only the user themselves may read it.',
      directives: privateField,
      authScopes: (user) => ({ self: user.id }),
      resolve: async (user, _args, context) => {
        const account = await context.loaders.account.load(user.id);
        return account ? { minor: account.balance, currency: account.currency } : null;
      },
    }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: User,
    nullable: true,
    description: 'The signed-in user; null when the request carries no token.',
    directives: privateHint,
    resolve: (_root, _args, context) => viewerRow(context),
  }),
  user: t.field({
    type: User,
    nullable: true,
    description: 'A user by username (case-insensitive) or by global ID: pass exactly one. Null when there is none.',
    directives: publicHint,
    args: {
      username: t.arg.string({ description: 'The username, such as "demo".' }),
      id: t.arg.globalID({ for: [User], description: 'The global ID of a User.' }),
    },
    resolve: async (_root, args, context) => {
      if ((args.username == null) === (args.id == null)) throw badInput('Pass exactly one of "username" and "id".');
      if (args.id) return context.loaders.user.load(parseUserId(args.id.id));
      const username = args.username as string;
      // No stored username is this long or holds a NUL (which PostgreSQL text cannot hold): no query needed.
      if (username.length > 100 || username.includes('\u0000')) return null;
      const user = await userByUsername(context.db, username);
      if (user) context.loaders.user.prime(user.id, user);
      return user;
    },
  }),
}));

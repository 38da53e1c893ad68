/**
 * signUp, the one anonymous mutation: a new user with an empty account. Usernames and emails are unique
 * regardless of case; a taken one is a typed error, found by the database's own unique indexes (so two sign-ups
 * racing for one name cannot both win).
 */
import { z } from 'zod';
import { violatedUniqueIndex } from '../db/errors.js';
import { insertUserWithAccount } from '../db/queries/users.js';
import { failed, problem, succeeded, type Outcome } from '../problems.js';
import { builder } from './builder.js';
import { CurrencyEnum } from './money.js';
import { ERRORS_LIST, MutationError, rejected, toPayload, type Payload } from './mutation-errors.js';
import { User } from './user.js';
import type { UserRow } from '../db/schema.js';
import { text, validate } from './validation.js';

const signUpInput = z.object({
  username: text('The username', { min: 3, max: 50, singleLine: true }).refine((value) => value.trim() === value, {
    error: 'The username must not start or end with spaces.',
  }),
  name: text('The name', { max: 100, singleLine: true }).refine((value) => value.trim().length > 0, { error: 'The name must not be blank.' }),
  email: z.email({ error: 'The email address is not valid.' }).max(254, { error: 'The email address must be at most 254 characters.' }),
});

/** A duplicate username or email, told by the unique index it hit. */
function takenProblem(error: unknown) {
  const index = violatedUniqueIndex(error);
  if (index === 'users_username_lower_key') return problem('USERNAME_TAKEN', 'This username is taken.', ['input', 'username']);
  if (index === 'users_email_lower_key') return problem('EMAIL_TAKEN', 'An account with this email address exists.', ['input', 'email']);
  return undefined;
}

const SignUpInput = builder.inputType('SignUpInput', {
  description: 'Who signs up.',
  fields: (t) => ({
    username: t.string({ required: true, description: 'A unique handle, 3 to 50 characters (unique regardless of case).' }),
    name: t.string({ required: true, description: 'The display name, 1 to 100 characters.' }),
    email: t.string({ required: true, description: 'An email address, unique regardless of case. Private to the user.' }),
    currency: t.field({ type: CurrencyEnum, description: 'The currency of the new account (USD when not given).' }),
  }),
});

const SignUpPayload = builder.objectRef<Payload<UserRow>>('SignUpPayload').implement({
  description: 'The new user, or why there is none.',
  fields: (t) => ({
    user: t.field({ type: User, nullable: true, description: 'The new user; null on error.', resolve: (payload) => payload.value }),
    errors: t.field({ type: [MutationError], ...ERRORS_LIST, description: 'Why no user was made; empty on success.', resolve: (payload) => [...payload.errors] }),
  }),
});

builder.mutationField('signUp', (t) =>
  t.field({
    type: SignUpPayload,
    description: 'Creates a user with an empty account. Needs no token.',
    args: { input: t.arg({ type: SignUpInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const checked = validate(signUpInput, input);
      if (!checked.ok) return rejected(checked.problems);
      let outcome: Outcome<UserRow>;
      try {
        outcome = succeeded(await insertUserWithAccount(context.db, { ...checked.value, currency: input.currency ?? 'USD' }));
      } catch (error) {
        const taken = takenProblem(error);
        if (!taken) throw error;
        outcome = failed(taken);
      }
      if (outcome.ok) {
        context.loaders.user.prime(outcome.value.id, outcome.value);
        await context.events.publish({ type: 'user.signedUp', userId: outcome.value.id });
      }
      return toPayload(outcome);
    },
  }),
);

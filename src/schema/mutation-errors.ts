/**
 * The typed errors of mutations as the schema shows them: every payload has `errors: [MutationError!]!`, empty on
 * success. A client selects `code` to branch on and `field` to point at the input that caused it.
 */
import { PROBLEM_CODES, type Outcome, type Problem, type ProblemCode } from '../problems.js';
import { builder } from './builder.js';

export const MutationErrorCode = builder.enumType('MutationErrorCode', {
  description: 'What went wrong, for a client to branch on.',
  values: Object.fromEntries(Object.entries(PROBLEM_CODES).map(([code, description]) => [code, { description }])) as Record<
    ProblemCode,
    { description: string }
  >,
});

export const MutationError = builder.objectRef<Problem>('MutationError').implement({
  description: 'An expected failure of a mutation: nothing was written.',
  fields: (t) => ({
    code: t.field({ type: MutationErrorCode, description: 'The kind of failure.', resolve: (error) => error.code }),
    message: t.exposeString('message', { description: 'What went wrong, for a person to read.' }),
    field: t.stringList({
      nullable: true,
      description: 'The path of the input field at fault, such as ["input", "amount"]; null when no single field is.',
      resolve: (error) => (error.field ? [...error.field] : null),
    }),
  }),
});

/**
 * Spread into every payload's `errors` field: the cost model's size for the list (src/cost/). A mutation reports
 * one problem per input field at most, and no input has more than five.
 */
export const ERRORS_LIST = { directives: { listSize: { assumedSize: 5 } } } as const;

/** A payload's value: what the mutation produced (null on failure) and its typed errors (empty on success). */
export interface Payload<T> {
  readonly value: T | null;
  readonly errors: readonly Problem[];
}

export const toPayload = <T>(outcome: Outcome<T>): Payload<T> =>
  outcome.ok ? { value: outcome.value, errors: [] } : { value: null, errors: outcome.problems };

/** The payload of a mutation stopped by typed errors: nothing was written. */
export const rejected = (problems: readonly Problem[]): Payload<never> => ({ value: null, errors: problems });

/**
 * Expected failures of a mutation: typed results the client selects (`errors { code message field }` on every
 * payload), not GraphQL errors. They are outcomes of the domain ("not enough money"), so they are stored with an
 * idempotency key and replayed like a success. Unexpected failures stay GraphQL errors, masked with a request id.
 */
export const PROBLEM_CODES = {
  INVALID_INPUT: 'An input field is missing, malformed or out of range; `field` names it.',
  NOT_FOUND: 'The user or object the input names does not exist.',
  INSUFFICIENT_FUNDS: 'The balance is lower than the amount: nothing was moved.',
  SELF_TRANSFER: 'A transfer to oneself moves no money and is refused.',
  CURRENCY_MISMATCH: 'The currency differs from the account\'s currency.',
  IDEMPOTENCY_KEY_REUSED: 'This idempotency key was used with other parameters: use a new key for a new operation.',
  IDEMPOTENCY_KEY_IN_PROGRESS: 'A request with this idempotency key is still being processed: retry shortly.',
  USERNAME_TAKEN: 'The username belongs to another user (usernames are unique regardless of case).',
  EMAIL_TAKEN: 'The email address belongs to another user.',
  SELF_FOLLOW: 'A user cannot follow themselves.',
  BALANCE_LIMIT: 'The receiving account would hold more than the largest balance an account can hold: nothing was moved.',
} as const;

export type ProblemCode = keyof typeof PROBLEM_CODES;

export interface Problem {
  readonly code: ProblemCode;
  readonly message: string;
  /** The path of the input field at fault, such as ["input", "amount"]; null when no one field is. */
  readonly field: readonly string[] | null;
}

export const problem = (code: ProblemCode, message: string, field?: readonly string[]): Problem => ({
  code,
  message,
  field: field ?? null,
});

/** What a mutation returns: its result, or the problems that stopped it (and nothing was written). */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly Problem[] };

export const succeeded = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const failed = (...problems: Problem[]): Outcome<never> => ({ ok: false, problems });

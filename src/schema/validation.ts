/**
 * Input validation at the boundary, one helper for every mutation: a zod schema per input, each failed rule a
 * typed INVALID_INPUT error naming its field. GraphQL has already checked the types; these are the rules types
 * cannot say (lengths, formats, characters PostgreSQL cannot store).
 */
import { z } from 'zod';
import { failed, problem, succeeded, type Outcome } from '../problems.js';

export function validate<S extends z.ZodType>(schema: S, input: unknown): Outcome<z.output<S>> {
  const result = schema.safeParse(input);
  if (result.success) return succeeded(result.data);
  return failed(...result.error.issues.map((issue) => problem('INVALID_INPUT', issue.message, ['input', ...issue.path.map(String)])));
}

/**
 * Text PostgreSQL can store exactly as sent: no NUL (text cannot hold it) and no lone UTF-16 surrogate (it could
 * only be stored as U+FFFD, not verbatim). `singleLine` also refuses control characters (line breaks, tabs).
 */
export function text(label: string, { min = 1, max, singleLine = false }: { min?: number; max: number; singleLine?: boolean }) {
  return z
    .string()
    .refine((value) => value.isWellFormed() && !value.includes('\u0000'), { error: `${label} holds characters that cannot be stored.` })
    .refine((value) => !singleLine || !/\p{Cc}/u.test(value), { error: `${label} must be one line without control characters.` })
    .refine((value) => [...value].length >= min, { error: min === 1 ? `${label} must not be empty.` : `${label} must be at least ${min} characters.` })
    .refine((value) => [...value].length <= max, { error: `${label} must be at most ${max} characters.` });
}

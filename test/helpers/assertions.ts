/**
 * Shared assertions for what a client must never see, and small helpers for building requests by hand.
 */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { expect } from 'vitest';
import type { TextResponse } from './raw-http.js';

/** Signs of leaked internals: a stack frame, a source path, a stack property. */
const INTERNALS = [/\n\s+at /, /"stack"/, /\bat .*\.(ts|js):\d+/, /node_modules/, /\/src\//];

export function expectNoInternals(text: string): void {
  for (const pattern of INTERNALS) expect(text, `response leaks internals (${String(pattern)})`).not.toMatch(pattern);
}

/** The error codes of a GraphQL response body, in order. */
export function codesOf(body: { errors?: { extensions?: Record<string, unknown> }[] }): unknown[] {
  return (body.errors ?? []).map((error) => error.extensions?.['code']);
}

export const globalId = (typename: string, id: number | string) => encodeGlobalID(typename, id);

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A successful response body as Tally sends it: `data` as given, and the cost report every executed operation
 * carries (`extensions.cost`, test/integration/cost-budget.test.ts checks its figures).
 */
export const withCost = <T extends object>(body: T) => ({ ...body, extensions: { cost: ANY_COST } });

const ANY_NUMBER: unknown = expect.any(Number);
const ANY_COST: unknown = expect.objectContaining({ requestedQueryCost: ANY_NUMBER, actualQueryCost: ANY_NUMBER });

/** A refusal answered as JSON with `code`; its extensions. */
export function expectJsonError(response: TextResponse | undefined, status: number, code: string): Record<string, unknown> {
  expect(response?.status, `status line of ${JSON.stringify(response)}`).toBe(status);
  expect(response!.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(response!.body) as { errors: { message: string; extensions: Record<string, unknown> }[] };
  expect(body.errors[0]!.extensions['code']).toBe(code);
  expect(body.errors[0]!.message).toEqual(expect.any(String));
  return body.errors[0]!.extensions;
}

/**
 * The GraphQL parameters of a request, read the one way the node:http front (src/http/cached-get.ts) and yoga
 * (src/plugins/use-request-params.ts) both read them: a GET's query string, a POST's JSON body. Whatever a client
 * sends that is not well-formed is a 400 saying which parameter and why: yoga's own GET parser let JSON.parse's
 * SyntaxError through as a 500, and its POST parser echoed the parser's error as `extensions.originalError`.
 */
import { GraphQLError } from 'graphql';
import type { GraphQLParams } from 'graphql-yoga';

/**
 * A request that is not a well-formed GraphQL request: 400 whatever the Accept header (GraphQL over HTTP 7.1.2;
 * `spec: false`, or yoga would answer legacy JSON clients 200, as for an error in a well-formed request).
 */
export const malformed = (message: string): GraphQLError =>
  new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400, spec: false } } });

/** A JSON parameter of a GET (`variables`, `extensions`): an object, or absent when empty or not there. */
function jsonObject(search: URLSearchParams, name: 'variables' | 'extensions'): Record<string, unknown> | undefined {
  const text = search.get(name);
  if (text === null || text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed(`The "${name}" parameter is not valid JSON.`);
  }
  if (value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw malformed(`The "${name}" parameter must be a JSON object.`);
  return value as Record<string, unknown>;
}

/** The parameters of a GET's query string (without its `?`). */
export function getParams(search: URLSearchParams): GraphQLParams {
  return {
    operationName: search.get('operationName') || undefined,
    query: search.get('query') || undefined,
    variables: jsonObject(search, 'variables'),
    extensions: jsonObject(search, 'extensions'),
  };
}

/** What a POST's JSON body must be: an object (one operation) or, when batching is on, an array of objects. */
export function postParams(body: unknown): GraphQLParams | GraphQLParams[] {
  if (Array.isArray(body)) {
    if (!body.every((item) => item !== null && typeof item === 'object' && !Array.isArray(item))) throw malformed('Each operation of a batched request must be a JSON object.');
    return body as GraphQLParams[];
  }
  if (body === null || typeof body !== 'object') throw malformed('The request body must be a JSON object.');
  return body as GraphQLParams;
}


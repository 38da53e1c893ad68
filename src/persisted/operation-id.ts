/**
 * Which document a persisted operation's id names: one rule for the persisted stage
 * (src/plugins/use-persisted-operations.ts), the cached-GET front and the prepared lane, so they never disagree
 * about what a request runs. The id is read wherever a client library puts it:
 *
 * - `documentId` (the GraphQL-over-HTTP draft; graphql-codegen's client preset), in a POST body or a GET query;
 * - `doc_id` or `id` (Relay's network layers);
 * - `extensions.persistedQuery.sha256Hash` (Apollo's persisted-queries link; automatic persisted queries).
 */
import { GraphQLError } from 'graphql';
import type { GraphQLParams } from 'graphql-yoga';
import type { PersistedMode } from '../config.js';
import type { DocumentStore } from '../store/document-store.js';
import type { TrustedDocuments } from './trusted-documents.js';

export interface PersistedOperationOptions {
  readonly mode: PersistedMode;
  readonly trusted: TrustedDocuments;
  /** Automatic persisted queries, registered by clients (open mode). */
  readonly registered: DocumentStore;
}

/** The spellings of a persisted operation's id, in the order they are looked for. */
const ID_PARAMETERS = ['documentId', 'doc_id', 'id'] as const;

export type PersistedCode = 'PERSISTED_QUERY_NOT_FOUND' | 'PERSISTED_QUERY_ONLY' | 'PERSISTED_QUERY_HASH_MISMATCH' | 'PERSISTED_QUERY_ID_INVALID';

export const refusal = (code: PersistedCode, message: string, status: number) =>
  new GraphQLError(message, { extensions: { code, http: { status, spec: false } } });

/** At most a sha512 in hex; anything longer (or not a string) is not an id any tool writes. */
const MAX_ID_LENGTH = 128;

/** The operation's id and whether it came as an APQ hash, from the body (POST) or the query string (GET). */
export function persistedIdOf(params: Partial<GraphQLParams> & Record<string, unknown>, search: URLSearchParams | undefined): { id: unknown; apq: boolean } | undefined {
  const persistedQuery = (params.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined)?.persistedQuery;
  if (persistedQuery && typeof persistedQuery === 'object') {
    if (persistedQuery.version !== 1) throw refusal('PERSISTED_QUERY_ID_INVALID', 'extensions.persistedQuery.version must be 1, the only version of automatic persisted queries.', 400);
    return { id: persistedQuery.sha256Hash, apq: true };
  }
  for (const name of ID_PARAMETERS) {
    const value = params[name] ?? search?.get(name) ?? undefined;
    if (value !== undefined) return { id: value, apq: false };
  }
  return undefined;
}

/** Whether an id is one any tool writes: a non-empty string of at most a sha512's hex length. */
export const isPersistedId = (id: unknown): id is string => typeof id === 'string' && id !== '' && id.length <= MAX_ID_LENGTH;

/**
 * The document an id names: a trusted one by the id as written, else (open mode) a registered APQ document by
 * its hash in lower case. The cached-GET front finds documents with this too, so it and this stage never
 * disagree about what a URL runs.
 */
export async function documentFor({ id, apq }: { id: string; apq: boolean }, { mode, trusted, registered }: PersistedOperationOptions): Promise<string | undefined> {
  return trusted.get(id) ?? (mode === 'open' ? await registered.get(apq ? id.toLowerCase() : id) : undefined);
}


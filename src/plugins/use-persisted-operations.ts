/**
 * Persisted operations: a client sends a document's id instead of its text, and the server runs the document it
 * knows by that id. The id is read wherever a client library puts it:
 *
 * - `documentId` (the GraphQL-over-HTTP draft; graphql-codegen's client preset), in a POST body or a GET query;
 * - `doc_id` or `id` (Relay's network layers);
 * - `extensions.persistedQuery.sha256Hash` (Apollo's persisted-queries link; automatic persisted queries).
 *
 * Two modes (PERSISTED_OPERATIONS):
 * - `trusted`, production's default: only the manifests' documents run (src/persisted/trusted-documents.ts),
 *   by id, or sent in full when the text is one of them. Any other document is refused before it is parsed,
 *   so a client outside the build cannot run what it likes, however cheap.
 * - `open`: trusted documents, automatic persisted queries and any document. An APQ hash this server does not
 *   know answers `PersistedQueryNotFound`; the client then sends the document with its hash, which is checked
 *   and registered in the shared store (src/store/document-store.ts) for every instance to run by hash.
 *
 * The documents that run, persisted or not, meet every limit and the cost budget after this stage, as any other.
 */
import { GraphQLError } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import type { PersistedMode } from '../config.js';
import { sha256Hex } from '../persisted/manifest.js';
import type { TrustedDocuments } from '../persisted/trusted-documents.js';
import type { DocumentStore } from '../store/document-store.js';

export interface PersistedOperationOptions {
  readonly mode: PersistedMode;
  readonly trusted: TrustedDocuments;
  /** Automatic persisted queries, registered by clients (open mode). */
  readonly registered: DocumentStore;
}

/** The spellings of a persisted operation's id, in the order they are looked for. */
const ID_PARAMETERS = ['documentId', 'doc_id', 'id'] as const;

export type PersistedCode = 'PERSISTED_QUERY_NOT_FOUND' | 'PERSISTED_QUERY_ONLY' | 'PERSISTED_QUERY_HASH_MISMATCH' | 'PERSISTED_QUERY_ID_INVALID';

const refusal = (code: PersistedCode, message: string, status: number) =>
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

export function usePersistedOperations(options: PersistedOperationOptions): Plugin {
  const { mode, trusted, registered } = options;
  // Registrations wait until their document has parsed and validated, so only documents that run are kept.
  const registrations = new WeakMap<Request, { hash: string; query: string }>();
  return {
    async onParams({ params, request, setParams }) {
      const method = request.method;
      const persisted = persistedIdOf(params as GraphQLParams & Record<string, unknown>, method === 'GET' ? new URL(request.url).searchParams : undefined);
      const query = params.query;

      if (typeof query === 'string' && query !== '') {
        if (mode === 'trusted') {
          // A trusted document sent in full (a client without the manifest, or an APQ link's retry) runs.
          if (trusted.has(sha256Hex(query))) return;
          throw refusal('PERSISTED_QUERY_ONLY', 'This server runs only its persisted operations: send the id of one (documentId) instead of a document.', 400);
        }
        // Open mode: an APQ registration is checked against its hash before it is kept.
        if (persisted?.apq) {
          if (typeof persisted.id !== 'string' || persisted.id.toLowerCase() !== sha256Hex(query)) {
            throw refusal('PERSISTED_QUERY_HASH_MISMATCH', 'extensions.persistedQuery.sha256Hash is not the sha256 of the query sent with it.', 400);
          }
          registrations.set(request, { hash: persisted.id.toLowerCase(), query });
        }
        return;
      }

      if (!persisted) return; // neither a document nor an id: yoga answers that a query is required
      const { id, apq } = persisted;
      if (!isPersistedId(id)) {
        throw refusal('PERSISTED_QUERY_ID_INVALID', 'A persisted operation id must be a non-empty string of at most 128 characters.', 400);
      }
      const document = await documentFor({ id, apq }, options);
      if (document === undefined) {
        // Apollo's link registers the document when it reads this message or code; in trusted mode that
        // registration is refused in turn (PERSISTED_QUERY_ONLY), so the client learns the document is unknown.
        throw refusal(
          'PERSISTED_QUERY_NOT_FOUND',
          mode === 'open' ? 'PersistedQueryNotFound' : 'PersistedQueryNotFound: no trusted document of this server has this id.',
          404,
        );
      }
      // Only the parameters GraphQL-over-HTTP defines go on: yoga refuses any other, such as the id's own.
      setParams({ query: document, operationName: params.operationName, variables: params.variables, extensions: params.extensions });
    },

    async onExecute({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      const registration = request && registrations.get(request);
      if (registration) await registered.set(registration.hash, registration.query);
    },
  };
}

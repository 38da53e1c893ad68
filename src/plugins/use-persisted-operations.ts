/**
 * Persisted operations: a client sends a document's id instead of its text, and the server runs the document it
 * knows by that id (src/persisted/operation-id.ts reads the id and finds the document).
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
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { sha256Hex } from '../persisted/manifest.js';
import { documentFor, isPersistedId, persistedIdOf, refusal, type PersistedOperationOptions } from '../persisted/operation-id.js';

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

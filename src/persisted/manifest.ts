/**
 * Persisted-operation manifests in the formats client tooling writes, so a client's build output is dropped in
 * as it is: every one reads as a map from document id to document text.
 *
 * - Apollo's persisted query manifest (`generate-persisted-query-manifest`):
 *   `{ "format": "apollo-persisted-query-manifest", "version": 1, "operations": [{ id, name, type, body }] }`,
 *   the format `npm run persisted:build` writes for Tally's own operations.
 * - graphql-codegen's client preset (`persistedDocuments`) writes `{ "<sha256>": "<document>" }`, and
 *   relay-compiler's `persistConfig` local file `{ "<md5>": "<text>" }`: the same shape, read the same way.
 *
 * Ids are the tool's own (codegen's sha256, relay's md5, Apollo's sha256 of the body): a trusted manifest is
 * believed as the build wrote it, and only automatic persisted queries, whose documents come from clients at
 * run time, have their hash checked (issue 11's APQ store).
 */
import { createHash } from 'node:crypto';
import { Kind, parse, print } from 'graphql';

export const APOLLO_MANIFEST_FORMAT = 'apollo-persisted-query-manifest';

export interface ApolloManifest {
  readonly format: typeof APOLLO_MANIFEST_FORMAT;
  readonly version: 1;
  readonly operations: readonly { readonly id: string; readonly name: string; readonly type: 'query' | 'mutation' | 'subscription'; readonly body: string }[];
}

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

/** sha256 in lower-case hex: Apollo's and APQ's document id. */
export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The documents of one manifest, by id, each parsed once here so a broken manifest fails at start, not per request. */
export function readManifest(json: unknown, source: string): Map<string, string> {
  const documents = new Map<string, string>();
  const add = (id: unknown, body: unknown, where: string) => {
    if (typeof id !== 'string' || id === '') throw new ManifestError(`${source}: ${where} has no id`);
    if (typeof body !== 'string') throw new ManifestError(`${source}: ${where} (${id}) has no document text`);
    try {
      parse(body);
    } catch (error) {
      throw new ManifestError(`${source}: ${where} (${id}) does not parse: ${(error as Error).message}`);
    }
    const known = documents.get(id);
    if (known !== undefined && known !== body) throw new ManifestError(`${source}: id ${id} names two different documents`);
    documents.set(id, body);
  };

  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ManifestError(`${source}: not a JSON object`);
  const object = json as Record<string, unknown>;
  if (object['format'] === APOLLO_MANIFEST_FORMAT) {
    if (object['version'] !== 1) throw new ManifestError(`${source}: Apollo manifest version ${String(object['version'])}, only 1 is known`);
    const operations = object['operations'];
    if (!Array.isArray(operations)) throw new ManifestError(`${source}: "operations" is not a list`);
    operations.forEach((operation: unknown, index) => {
      const { id, body } = (operation ?? {}) as { id?: unknown; body?: unknown };
      add(id, body, `operation ${index}`);
    });
    return documents;
  }
  for (const [id, body] of Object.entries(object)) add(id, body, `entry "${id}"`);
  return documents;
}

/** Tally's own operations as an Apollo manifest: each printed without comments or spacing, its id that text's sha256. */
export function apolloManifest(sources: readonly { readonly file: string; readonly text: string }[]): ApolloManifest {
  const operations = sources.flatMap(({ file, text }) => {
    const document = parse(text);
    const definitions = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    if (definitions.length !== 1 || document.definitions.length !== 1) throw new ManifestError(`${file}: one operation per file, and nothing else`);
    const [operation] = definitions;
    if (!operation?.name) throw new ManifestError(`${file}: the operation needs a name`);
    const body = print(document);
    return [{ id: sha256Hex(body), name: operation.name.value, type: operation.operation, body }];
  });
  const names = new Set<string>();
  for (const { name } of operations) {
    if (names.has(name)) throw new ManifestError(`two operations are named ${name}`);
    names.add(name);
  }
  return { format: APOLLO_MANIFEST_FORMAT, version: 1, operations: [...operations].sort((a, b) => a.name.localeCompare(b.name)) };
}

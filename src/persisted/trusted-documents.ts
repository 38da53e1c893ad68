/**
 * The trusted documents: every operation of the manifests built with Tally's clients (PERSISTED_MANIFESTS),
 * read once at start. A broken or conflicting manifest stops the process there, naming the file, rather than
 * failing the first request that needs it.
 *
 * Each document is found by the id its tool gave it (codegen's and Apollo's sha256, Relay's md5) and also by
 * the sha256 of its text, the id an APQ client (Apollo's link) computes for the same document: such a client
 * runs trusted documents in trusted mode without its own manifest, and a full document that is trusted runs
 * there too.
 */
import { readFileSync } from 'node:fs';
import { ManifestError, readManifest, sha256Hex } from './manifest.js';

export type TrustedDocuments = ReadonlyMap<string, string>;

export function loadTrustedDocuments(paths: readonly string[]): TrustedDocuments {
  const documents = new Map<string, string>();
  const add = (id: string, text: string, source: string) => {
    const known = documents.get(id);
    if (known !== undefined && known !== text) throw new ManifestError(`${source}: id ${id} names a different document in an earlier manifest`);
    documents.set(id, text);
  };
  for (const path of paths) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new ManifestError(`${path}: cannot be read as JSON (${(error as Error).message})`);
    }
    for (const [id, text] of readManifest(json, path)) {
      add(id, text, path);
      add(sha256Hex(text), text, path);
    }
  }
  return documents;
}

/**
 * The load generator's own persisted operations: the documents it sends by id, as a client built with a
 * manifest sends them. The runner writes them as an Apollo manifest (apolloManifest, the format of Tally's own
 * persisted-queries/manifest.json) to loadtest/tmp/ (ignored by git), and every Tally it starts reads that file
 * beside Tally's own (PERSISTED_MANIFESTS), so a Tally run in trusted mode, production's default, is sent
 * `documentId`s. The whole documents the other scenarios send (the same ones PostGraphile answers) still need
 * open mode (servers.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apolloManifest } from '../src/persisted/manifest.js';

/** The feed's question, as the `feed` scenario sends it (anonymous, whole) to Tally. */
export const NEWEST_POSTS_TALLY = '{ posts(first: 20) { edges { node { id body author { id name } } } } }';

/**
 * By operation name: a manifest's operations need one, and Tally's metrics label each request with it. The feed
 * takes its page size as a variable, as Tally's own persisted Feed does, and is sent `{ first: 20 }`: the same page
 * as the peers' literal 20, and the price of an operation with variables is what production pays.
 */
export const LOAD_OPERATIONS = {
  LoadFeed: 'query LoadFeed($first: Int = 20) { posts(first: $first) { edges { node { id body author { id name } } } } }',
  // What the `cached-get` stampede sends to drop the cached feed: a post is the write that changes Query.posts.
  LoadCreatePost: 'mutation LoadCreatePost($input: CreatePostInput!) { createPost(input: $input) { post { id } errors { code } } }',
} as const;

export type LoadOperation = keyof typeof LOAD_OPERATIONS;

const manifest = apolloManifest(Object.entries(LOAD_OPERATIONS).map(([name, text]) => ({ file: `loadtest/operations.ts (${name})`, text })));

/** The id a client sends for the operation: the sha256 of its printed text, as apolloManifest gives it. */
export function documentIdOf(name: LoadOperation): string {
  const operation = manifest.operations.find((each) => each.name === name);
  if (!operation) throw new Error(`no load operation named ${name}`);
  return operation.id;
}

export const LOAD_MANIFEST_PATH = fileURLToPath(new URL('tmp/persisted-operations.json', import.meta.url));

/** Writes the manifest (the same bytes each time) and returns its absolute path, for PERSISTED_MANIFESTS. */
export function writeLoadManifest(): string {
  mkdirSync(dirname(LOAD_MANIFEST_PATH), { recursive: true });
  writeFileSync(LOAD_MANIFEST_PATH, `${JSON.stringify(manifest, null, 2)}\n`);
  return LOAD_MANIFEST_PATH;
}

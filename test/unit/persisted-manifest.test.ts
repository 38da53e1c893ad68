/**
 * Manifests in the formats client tooling writes (src/persisted/manifest.ts), and Tally's own manifest: each file
 * in persisted-queries/ one named operation, the committed manifest what `npm run persisted:build` writes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { apolloManifest, ManifestError, readManifest, sha256Hex } from '../../src/persisted/manifest.js';

const DIRECTORY = new URL('../../persisted-queries/', import.meta.url);
const VIEWER = 'query Viewer { viewer { id } }';
const POSTS = 'query Posts { posts(first: 1) { edges { node { id } } } }';

describe('reading a manifest', () => {
  it('reads Apollo\'s persisted query manifest', () => {
    const manifest = { format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'a1', name: 'Viewer', type: 'query', body: VIEWER }] };
    expect([...readManifest(manifest, 'apollo.json')]).toEqual([['a1', VIEWER]]);
  });

  it('reads graphql-codegen\'s persisted documents and relay-compiler\'s persistConfig file (id → text)', () => {
    const codegen = { [sha256Hex(VIEWER)]: VIEWER, [sha256Hex(POSTS)]: POSTS };
    expect(readManifest(codegen, 'persisted-documents.json')).toEqual(new Map(Object.entries(codegen)));
    // Relay's ids are md5 of the text: believed as the build wrote them.
    expect(readManifest({ '3b5c4d0a9e6f': POSTS }, 'queryMap.json').get('3b5c4d0a9e6f')).toBe(POSTS);
  });

  it.each([
    ['not an object', [], /not a JSON object/],
    ['an unknown Apollo version', { format: 'apollo-persisted-query-manifest', version: 2, operations: [] }, /version 2/],
    ['Apollo operations that are not a list', { format: 'apollo-persisted-query-manifest', version: 1, operations: {} }, /not a list/],
    ['an operation without an id', { format: 'apollo-persisted-query-manifest', version: 1, operations: [{ body: VIEWER }] }, /operation 0 has no id/],
    ['an entry whose text is not a string', { abc: 42 }, /has no document text/],
    ['a document that does not parse', { abc: 'query {' }, /does not parse/],
    [
      'one id for two documents',
      { format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'x', body: VIEWER }, { id: 'x', body: POSTS }] },
      /names two different documents/,
    ],
  ])('refuses %s, naming the file', (_what, json, message) => {
    expect(() => readManifest(json, 'bad.json')).toThrow(ManifestError);
    expect(() => readManifest(json, 'bad.json')).toThrow(message);
    expect(() => readManifest(json, 'bad.json')).toThrow(/^bad\.json: |bad\.json/);
  });
});

describe('Tally\'s own operations', () => {
  const files = readdirSync(DIRECTORY).filter((file) => file.endsWith('.graphql'));
  const committed = JSON.parse(readFileSync(new URL('manifest.json', DIRECTORY), 'utf8')) as unknown;

  it('are one named operation per file, in the committed manifest as `npm run persisted:build` writes it', () => {
    const built = apolloManifest(files.map((file) => ({ file, text: readFileSync(new URL(file, DIRECTORY), 'utf8') })));
    expect(committed).toEqual(built);
    expect(built.operations.map((operation) => operation.name)).toEqual(expect.arrayContaining(['Feed', 'Profile', 'Followers', 'Transactions', 'CreatePost', 'Transfer']));
  });

  it('have ids that are the sha256 of their printed body, comments and spacing left out', () => {
    for (const operation of readManifest(committed, 'manifest.json')) {
      const [id, body] = operation;
      expect(id).toBe(sha256Hex(body));
      expect(body).toBe(print(parse(body)));
      expect(body).not.toContain('#');
    }
  });

  it('refuses a file with two operations or an anonymous one', () => {
    expect(() => apolloManifest([{ file: 'two.graphql', text: `${VIEWER}\n${POSTS}` }])).toThrow(/one operation per file/);
    expect(() => apolloManifest([{ file: 'anonymous.graphql', text: '{ viewer { id } }' }])).toThrow(/needs a name/);
    expect(() => apolloManifest([{ file: 'a.graphql', text: VIEWER }, { file: 'b.graphql', text: 'query Viewer { viewer { name } }' }])).toThrow(/two operations are named Viewer/);
  });
});

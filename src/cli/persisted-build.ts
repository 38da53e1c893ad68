/**
 * `npm run persisted:build`: validates every operation in persisted-queries/*.graphql against the schema and
 * writes persisted-queries/manifest.json (Apollo's manifest format, src/persisted/manifest.ts), the trusted
 * documents of Tally's own clients. `-- --check` exits 1 when the committed manifest is stale or an operation is
 * invalid (test/integration/persisted-queries.test.ts runs each one, within the default limits).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parse, validate } from 'graphql';
import { apolloManifest } from '../persisted/manifest.js';
import { schema } from '../schema/index.js';
import { runCli } from './run.js';

const DIRECTORY = new URL('../../persisted-queries/', import.meta.url);
export const MANIFEST_FILE = new URL('manifest.json', DIRECTORY);

await runCli(() => {
  const files = readdirSync(DIRECTORY)
    .filter((file) => file.endsWith('.graphql'))
    .sort();
  if (files.length === 0) throw new Error('persisted-queries/ holds no .graphql operations');
  const sources = files.map((file) => {
    const text = readFileSync(new URL(file, DIRECTORY), 'utf8');
    const document = parse(text);
    const errors = validate(schema, document);
    if (errors.length > 0) throw new Error(`persisted-queries/${file} is not valid against the schema:\n${errors.map((error) => `  ${error.message}`).join('\n')}`);
    return { file, text };
  });
  const written = `${JSON.stringify(apolloManifest(sources), null, 2)}\n`;

  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(MANIFEST_FILE, 'utf8');
    } catch {
      // A missing manifest is stale too.
    }
    if (committed !== written) throw new Error('persisted-queries/manifest.json is stale: run `npm run persisted:build` and commit it.');
    console.log(`persisted-queries/manifest.json is current (${files.length} operations)`);
    return;
  }
  writeFileSync(MANIFEST_FILE, written);
  console.log(`wrote persisted-queries/manifest.json (${files.length} operations)`);
});

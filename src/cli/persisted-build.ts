/**
 * `npm run persisted:build`: validates every operation in persisted-queries/*.graphql against the schema and
 * writes persisted-queries/manifest.json (Apollo's manifest format, src/persisted/manifest.ts), the trusted
 * documents of Tally's own clients. `-- --check` exits 1 when the committed manifest is stale or an operation is
 * invalid (test/integration/persisted-queries.test.ts runs each one, within the default limits).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parse, validate } from 'graphql';
import { apolloManifest } from '../persisted/manifest.js';
import { schema } from '../schema/index.js';
import { writeOrCheck } from './generated-file.js';
import { CliError, runCli } from './run.js';

const DIRECTORY = new URL('../../persisted-queries/', import.meta.url);
const MANIFEST_FILE = new URL('manifest.json', DIRECTORY);

await runCli(() => {
  const files = readdirSync(DIRECTORY)
    .filter((file) => file.endsWith('.graphql'))
    .sort();
  if (files.length === 0) throw new Error('persisted-queries/ holds no .graphql operations');
  const sources = files.map((file) => {
    const text = readFileSync(new URL(file, DIRECTORY), 'utf8');
    const document = parse(text);
    const errors = validate(schema, document);
    if (errors.length > 0) throw new CliError(`persisted-queries/${file} is not valid against the schema:\n${errors.map((error) => `  ${error.message}`).join('\n')}`);
    return { file, text };
  });
  writeOrCheck(MANIFEST_FILE, `${JSON.stringify(apolloManifest(sources), null, 2)}\n`, {
    name: 'persisted-queries/manifest.json',
    command: 'npm run persisted:build',
    summary: ` (${files.length} operations)`,
  });
});

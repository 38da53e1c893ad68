/**
 * `npm run schema:print`: writes the schema to schema.graphql (committed, reviewed like code).
 * `npm run schema:print -- --check` exits 1 when the committed file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { printedSchema } from '../schema/printed.js';
import { runCli } from './run.js';

export const SCHEMA_FILE = new URL('../../schema.graphql', import.meta.url);

await runCli(() => {
  const printed = printedSchema();
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(SCHEMA_FILE, 'utf8');
    } catch {
      // A missing file is stale too.
    }
    if (committed !== printed) throw new Error('schema.graphql is stale: run `npm run schema:print` and commit it.');
    console.log('schema.graphql is current');
    return;
  }
  writeFileSync(SCHEMA_FILE, printed);
  console.log('wrote schema.graphql');
});

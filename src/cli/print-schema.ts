/**
 * `npm run schema:print`: writes the schema to schema.graphql (committed, reviewed like code).
 * `npm run schema:print -- --check` exits 1 when the committed file is stale.
 */
import { printedSchema } from '../schema/printed.js';
import { writeOrCheck } from './generated-file.js';
import { runCli } from './run.js';

export const SCHEMA_FILE = new URL('../../schema.graphql', import.meta.url);

await runCli(() => writeOrCheck(SCHEMA_FILE, printedSchema(), { name: 'schema.graphql', command: 'npm run schema:print' }));

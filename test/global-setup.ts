/**
 * Runs once before all test files. On PGlite it builds a migrated database and dumps it, so each test file
 * starts from a copy in ~0.3 s instead of initdb + migrations; on PostgreSQL (DATABASE_URL set) each file
 * creates its own database instead (see helpers/database.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { unsupportedNode } from '../src/cli/runtime.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}

export default async function setup(project: TestProject) {
  // A suite that passes on a Node.js Tally does not run on proves nothing about the ones it does.
  const unsupported = unsupportedNode(process.version);
  if (unsupported) throw new Error(unsupported);
  const dir = mkdtempSync(join(tmpdir(), 'tally-test-'));
  const template = join(dir, 'template.tar');
  if (!process.env['DATABASE_URL']) {
    const pglite = await PGlite.create();
    const database = await openDatabase({ kind: 'pglite', dataDir: 'memory://' }, { pglite });
    await migrateDatabase(database);
    const dump = await pglite.dumpDataDir('none');
    writeFileSync(template, Buffer.from(await dump.arrayBuffer()));
    await pglite.close();
  }
  project.provide('pgliteTemplate', template);
  return () => rmSync(dir, { recursive: true, force: true });
}

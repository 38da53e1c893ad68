/**
 * A file the repository commits but a command writes (schema.graphql, persisted-queries/manifest.json): written,
 * or, with `--check` on the command line, compared with what is committed, failing when it is stale so CI
 * catches a forgotten rebuild.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { CliError } from './run.js';

export interface GeneratedFile {
  /** As the messages name it: `schema.graphql`. */
  readonly name: string;
  /** The command that writes it: `npm run schema:print`. */
  readonly command: string;
  /** Said after the name in what is printed, as ` (13 operations)`; empty by default. */
  readonly summary?: string;
}

export function writeOrCheck(file: URL, content: string, { name, command, summary = '' }: GeneratedFile): void {
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(file, 'utf8');
    } catch {
      // A missing file is stale too.
    }
    if (committed !== content) throw new CliError(`${name} is stale: run \`${command}\` and commit it.`);
    console.log(`${name} is current${summary}`);
    return;
  }
  writeFileSync(file, content);
  console.log(`wrote ${name}${summary}`);
}

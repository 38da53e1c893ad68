/**
 * Runs a command-line entry point (the server's included): on a Node.js line Tally does not run on it stops at
 * once, saying so; a failure prints its message (no stack for expected errors) and exits 1.
 */
import { ConfigError } from '../config.js';
import { unsupportedNode } from './runtime.js';

/** A failure the user can act on (bad arguments, unknown user): printed as its message alone. */
export class CliError extends Error {
  override name = 'CliError';
}

export async function runCli(main: () => void | Promise<void>): Promise<void> {
  const unsupported = unsupportedNode(process.version);
  if (unsupported) {
    console.error(unsupported);
    process.exitCode = 1;
    return;
  }
  try {
    await main();
  } catch (error) {
    console.error(error instanceof ConfigError || error instanceof CliError ? error.message : whyInOneLine(error));
    process.exitCode = 1;
  }
}

/**
 * What went wrong, in one line: the innermost cause that has a code (PostgreSQL's SQLSTATE, a system error's
 * ECONNREFUSED), its message's first line and that code. A failed connection or statement is the user's to fix
 * (a database that does not exist, a server not running), and its 40-line stack buried the one line that said so.
 * Query parameters never appear: drizzle's "Failed query" wrapper, which lists them, is passed over for its cause.
 */
export function whyInOneLine(error: unknown): string {
  let found: unknown = error;
  for (let at: unknown = error; at instanceof Error; at = at instanceof AggregateError && at.errors.length > 0 ? at.errors[0] : at.cause) {
    if (typeof (at as { code?: unknown }).code === 'string') found = at;
  }
  if (!(found instanceof Error)) return String(found);
  const code = (found as { code?: unknown }).code;
  const message = found.message.split('\n', 1)[0] || found.name;
  return typeof code === 'string' ? `${message} (${code})` : message;
}

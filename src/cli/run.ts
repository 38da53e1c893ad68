/** Runs a command-line entry point: a failure prints its message (no stack for expected errors) and exits 1. */
import { ConfigError } from '../config.js';

/** A failure the user can act on (bad arguments, unknown user): printed as its message alone. */
export class CliError extends Error {
  override name = 'CliError';
}

export async function runCli(main: () => void | Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof ConfigError || error instanceof CliError ? error.message : error);
    process.exitCode = 1;
  }
}

/** Runs a command-line entry point: a failure prints its message (no stack for expected errors) and exits 1. */
import { ConfigError } from '../config.js';

export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exitCode = 1;
  }
}

/**
 * `npm run ledger:check`: verifies every ledger invariant over DATABASE_URL (or the embedded database) and exits 1,
 * listing what is wrong, if any fails. Read-only.
 */
import { loadConfig } from '../config.js';
import { openForCli } from './database.js';
import { checkLedger } from '../ledger/check-ledger.js';
import { CliError, runCli } from './run.js';

await runCli(async () => {
  const config = loadConfig();
  const database = await openForCli(config);
  try {
    const violations = await checkLedger(database.db);
    if (violations.length > 0) {
      const lines = violations.map((violation) => `  ${violation.rule}: ${violation.count} rows, e.g. ${JSON.stringify(violation.examples[0])}`);
      throw new CliError(`the ledger is NOT sound:\n${lines.join('\n')}`);
    }
    console.log(`ledger sound (${database.kind}): every balance is the sum of its entries, none below zero, transfers paired`);
  } finally {
    await database.close();
  }
});

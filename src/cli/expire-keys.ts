/**
 * `npm run db:expire-keys`: removes idempotency keys older than their retention (24 hours), as the server does
 * hourly on its own; for a cron job when servers run with it off or seldom restart.
 */
import { loadConfig } from '../config.js';
import { openForCli } from './database.js';
import { KEY_RETENTION_HOURS, removeExpiredKeys } from '../ledger/idempotency.js';
import { runCli } from './run.js';

await runCli(async () => {
  const config = loadConfig();
  const database = await openForCli(config);
  try {
    const removed = await removeExpiredKeys(database.db);
    console.log(`removed ${removed} idempotency keys older than ${KEY_RETENTION_HOURS} hours`);
  } finally {
    await database.close();
  }
});

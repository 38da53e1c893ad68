/** `npm run db:migrate`: applies the committed migrations to DATABASE_URL (or the embedded database). */
import { loadConfig } from '../config.js';
import { openForCli } from './database.js';
import { migrateDatabase } from '../db/migrate.js';
import { runCli } from './run.js';

await runCli(async () => {
  const config = loadConfig();
  const database = await openForCli(config, { create: true });
  try {
    await migrateDatabase(database);
    console.log(`migrated (${database.kind})`);
  } finally {
    await database.close();
  }
});

/** `npm run db:migrate`: applies the committed migrations to DATABASE_URL (or the embedded database). */
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { runCli } from './run.js';

await runCli(async () => {
  const config = loadConfig();
  const database = await openDatabase(config.database);
  try {
    await migrateDatabase(database);
    console.log(`migrated (${database.kind})`);
  } finally {
    await database.close();
  }
});

/**
 * `npm run db:seed -- --size demo|load [--ledger 2m]`: replaces all data with the deterministic data set.
 * `--ledger 2m` doubles the load ledger to 2M entries for the memory-flatness scenario.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { openForCli } from './database.js';
import { migrateDatabase } from '../db/migrate.js';
import { SEED_SIZES, seed, type SeedSize, type SeedSizeName } from '../db/seed.js';
import { CliError, runCli } from './run.js';

await runCli(async () => {
  const { values } = parseArgs({
    options: { size: { type: 'string', default: 'demo' }, ledger: { type: 'string' } },
  });
  const sizeName = values.size;
  if (!(sizeName in SEED_SIZES)) throw new CliError(`--size must be one of ${Object.keys(SEED_SIZES).join(', ')}`);
  const size: SeedSize = { ...SEED_SIZES[sizeName as SeedSizeName] };
  if (values.ledger !== undefined) {
    const match = /^(\d+)(k|m)?$/i.exec(values.ledger);
    if (!match) throw new CliError('--ledger must be a count such as 2m, 500k or 1000');
    size.ledgerEntries = Number(match[1]) * ({ k: 1_000, m: 1_000_000 }[match[2]?.toLowerCase() ?? ''] ?? 1);
  }
  const config = loadConfig();
  const database = await openForCli(config, { create: true });
  try {
    await migrateDatabase(database);
    const started = performance.now();
    await seed(database.db, size);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`seeded ${sizeName} (${JSON.stringify(size)}) on ${database.kind} in ${seconds} s`);
  } finally {
    await database.close();
  }
});

/**
 * `npm run token -- <username>`: prints a signed token for that user. The token is alone on the last line, so
 * `TOKEN=$(npm run -s token -- demo | tail -1)` works in scripts.
 */
import { signToken } from '../auth/jwt.js';
import { loadConfig } from '../config.js';
import { openForCli } from './database.js';
import { userByUsername } from '../db/queries/users.js';
import { CliError, runCli } from './run.js';

await runCli(async () => {
  const username = process.argv[2];
  if (!username) throw new CliError('usage: npm run token -- <username>');
  const config = loadConfig();
  const database = await openForCli(config);
  try {
    const user = await userByUsername(database.db, username);
    if (!user) throw new CliError(`no user "${username}" in the ${database.kind} database`);
    console.log(`Bearer token for ${user.username} (user id ${user.id}), valid 30 days:`);
    console.log(await signToken(config.jwt, user.id));
  } finally {
    await database.close();
  }
});

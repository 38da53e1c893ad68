/**
 * The peer: PostGraphile v5 (amber preset) over the same database, served by grafserv on node:http. It plans
 * "20 newest posts with their author" into one SQL statement. A devDependency of the load tests only.
 *
 *   PORT, DATABASE_URL, POOL_MAX
 */
import './node22-shims.js';
import { createServer } from 'node:http';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';

const port = Number(process.env['PORT']);
const pool = new pg.Pool({ connectionString: process.env['DATABASE_URL'], max: Number(process.env['POOL_MAX'] ?? 10) });

const pgl = postgraphile({
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ pool, schemas: ['public'] })],
  grafserv: { port, graphiql: false },
  grafast: { explain: false },
});
const serv = pgl.createServ(grafserv);
const server = createServer();
serv.addTo(server).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => console.log(`postgraphile listening on ${port}`));
process.on('SIGTERM', () => {
  server.close();
  void Promise.resolve(pgl.release())
    .then(() => pool.end())
    .then(() => process.exit(0));
});

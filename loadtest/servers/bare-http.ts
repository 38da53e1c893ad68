/**
 * Baseline: node:http answering a fixed 1 KB JSON body. No GraphQL, no database: the ceiling of Node's HTTP
 * stack on this machine, against which every other server's requests/s is a fraction.
 *
 *   PORT
 */
import { createServer } from 'node:http';

const body = Buffer.from(JSON.stringify({ data: { payload: 'x'.repeat(1000) } }));
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    response.end(body);
  });
});
server.keepAliveTimeout = 65_000;
const port = Number(process.env['PORT']);
server.listen(port, '127.0.0.1', () => console.log(`bare-http listening on ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

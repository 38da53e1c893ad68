/**
 * A TCP proxy in front of PostgreSQL (or PgBouncer) that a test controls, so the test can make the database fail
 * the way it fails in production without stopping the server every other test file shares:
 *
 * - `down()`: every open connection is cut and new ones are refused (ECONNREFUSED), as while PostgreSQL restarts
 *   or fails over; `up()` listens again on the same port, as PostgreSQL does once it is back.
 * - `stall()`: connections stay open but nothing passes either way, as with a partitioned network or a host that
 *   froze; `resume()` lets the bytes through again.
 * - `cutWhenSent(text)`: the next connection whose client sends bytes holding `text` is cut instead of forwarding
 *   them, as when a connection dies just as a statement goes out (a server restarting under it).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  down(): Promise<void>;
  up(): Promise<void>;
  stall(): void;
  resume(): void;
  cutWhenSent(text: string): void;
  /** Connections opened through the proxy since it started. */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let stalled = false;
  const held: (() => void)[] = [];
  let cutOn: string | undefined;
  let accepted = 0;
  let server: Server | undefined;

  const onConnection = (client: Socket) => {
    accepted += 1;
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    // Not pipe(): a stalled proxy must hold bytes without ending either side. A chunk read as the stall began is
    // held until resume(), not written.
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (!stalled) {
          to.write(chunk);
          return;
        }
        from.pause();
        held.push(() => to.write(chunk));
      });
    client.on('data', (chunk: Buffer) => {
      if (cutOn !== undefined && chunk.includes(cutOn)) {
        cutOn = undefined;
        end();
      }
    });
    forward(client, upstream);
    forward(upstream, client);
    if (stalled) {
      client.pause();
      upstream.pause();
    }
  };

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const started = createServer(onConnection);
      started.once('error', reject);
      started.listen(port, '127.0.0.1', () => {
        server = started;
        resolve((started.address() as AddressInfo).port);
      });
    });

  const port = await listen(0);
  const down = async () => {
    const running = server;
    server = undefined;
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
    if (running) await new Promise((resolve) => running.close(resolve));
  };

  return {
    port,
    via(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    down,
    async up() {
      if (!server) await listen(port);
    },
    stall() {
      stalled = true;
      for (const [client, upstream] of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    cutWhenSent(text) {
      cutOn = text;
    },
    resume() {
      stalled = false;
      for (const write of held.splice(0)) write();
      for (const [client, upstream] of pairs) {
        client.resume();
        upstream.resume();
      }
    },
    get accepted() {
      return accepted;
    },
    close: down,
  };
}

/**
 * Redis as production runs it when one server is not enough, from private redis-server processes: a primary, its
 * replica and a Sentinel watching both; or a cluster of three masters. Each is stopped (and its files removed) by
 * its own stop(), however the test went, and by itself when starting it fails partway.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../../loadtest/servers.js';
import { redisServer, type RedisServer } from '../../loadtest/redis-server.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** A client of one server of a topology, for the test to look inside (never through the topology's routing). */
export function direct(server: RedisServer): Redis {
  const redis = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => {});
  return redis;
}

/** Runs `use` with a client of `server` of its own, closed after, however `use` went. */
export async function onServer<T>(server: RedisServer, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = direct(server);
  try {
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** `master` or `slave`, as the server says of itself. */
export const roleOf = (server: RedisServer): Promise<string> => onServer(server, async (redis) => ((await redis.call('ROLE')) as string[])[0]!);

/** `count` free ports, all different: each is free when asked for, but none is bound until its server starts. */
async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Runs `build` in a directory of its own; if it fails, stops what it started and removes the directory. */
async function inOwnDirectory<T>(prefix: string, build: (dir: string, started: RedisServer[]) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const started: RedisServer[] = [];
  try {
    return await build(dir, started);
  } catch (error) {
    await Promise.all(started.map((server) => server.stop()));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export interface SentinelSetup {
  /** The two data servers; which one is primary changes with each failover. */
  readonly servers: readonly [RedisServer, RedisServer];
  readonly sentinel: RedisServer;
  /** The name the Sentinel monitors the primary under (REDIS_SENTINEL_NAME). */
  readonly name: string;
  /** The server the Sentinel names primary now. */
  primary(): Promise<RedisServer>;
  /** Asks the Sentinel to fail over now, the primary still up (SENTINEL FAILOVER). */
  failover(): Promise<void>;
  /** Resolves once the other server is a replica in sync with the primary, and the Sentinel knows it. */
  replicated(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One Sentinel (quorum 1) over a primary and its replica. It calls the primary down after 1 s without an answer
 * and then promotes the replica: a failover within seconds, where production's defaults take 30 s or more.
 */
export function sentinelSetup(name = 'tally'): Promise<SentinelSetup> {
  return inOwnDirectory('tally-sentinel-', async (dir, started) => {
    // Each its own snapshot file: a replica writes the primary's to disk whatever --save says.
    const first = await redisServer({ dir, args: ['--dbfilename', 'first.rdb'] });
    started.push(first);
    await first.start();
    const second = await redisServer({ dir, args: ['--dbfilename', 'second.rdb', '--replicaof', '127.0.0.1', String(first.port)] });
    started.push(second);
    await second.start();
    const configFile = join(dir, 'sentinel.conf');
    const settings = [`sentinel monitor ${name} 127.0.0.1 ${first.port} 1`, `sentinel down-after-milliseconds ${name} 1000`, `sentinel failover-timeout ${name} 2000`];
    await writeFile(configFile, `${settings.join('\n')}\n`);
    const sentinel = await redisServer({ configFile, args: ['--sentinel'], dir, readyWhen: '+monitor master' });
    started.push(sentinel);
    await sentinel.start();
    const asked = direct(sentinel);
    const servers = [first, second] as const;
    const primary = async () => {
      const port = Number(((await asked.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string])[1]);
      return servers.find((server) => server.port === port)!;
    };
    // A failover needs a replica in sync that the Sentinel knows of.
    const replicated = async () => {
      const current = await primary();
      await onServer(servers.find((server) => server !== current)!, (replica) =>
        waitFor(async () => /master_link_status:up/.test(await replica.info('replication')), { timeoutMs: 15_000 }),
      );
      await waitFor(
        async () => {
          const known = (await asked.call('SENTINEL', 'replicas', name)) as string[][];
          return known.some((fields) => fields.join(',').includes('master-link-status,ok'));
        },
        { timeoutMs: 15_000 },
      );
    };
    await replicated();
    return {
      servers,
      sentinel,
      name,
      primary,
      failover: async () => void (await asked.call('SENTINEL', 'FAILOVER', name)),
      replicated,
      async stop() {
        asked.disconnect();
        await Promise.all([sentinel.stop(), first.stop(), second.stop()]);
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

export interface ClusterSetup {
  readonly masters: readonly RedisServer[];
  /** REDIS_CLUSTER_NODES for it: one node is enough, the client learns the others from it. */
  readonly nodes: string;
  /** Resolves once every master says the cluster is ok (all 16,384 slots served). */
  healthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Three masters, no replicas, the slots split between them by `redis-cli --cluster create`. */
export function redisCluster(size = 3): Promise<ClusterSetup> {
  return inOwnDirectory('tally-cluster-', async (dir, started) => {
    // Each node's bus port is its own: the default (port + 10000) may not exist for a port above 55535.
    const ports = await distinctPorts(2 * size);
    for (let index = 0; index < size; index += 1) {
      const args = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${index}.conf`, '--cluster-port', String(ports[size + index]), '--cluster-node-timeout', '1000'];
      started.push(await redisServer({ port: ports[index]!, args, dir }));
    }
    const masters = [...started];
    await Promise.all(masters.map((master) => master.start()));
    await run('redis-cli', ['--cluster', 'create', ...masters.map((master) => `127.0.0.1:${master.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const clients = masters.map(direct);
    const healthy = (timeoutMs = 20_000) =>
      waitFor(async () => (await Promise.all(clients.map((client) => client.call('CLUSTER', 'INFO').catch(() => '')))).every((info) => /cluster_state:ok/.test(String(info))), {
        timeoutMs,
      });
    try {
      await healthy();
    } catch (error) {
      for (const client of clients) client.disconnect();
      throw error;
    }
    return {
      masters,
      nodes: `127.0.0.1:${masters[0]!.port}`,
      healthy,
      async stop() {
        for (const client of clients) client.disconnect();
        await Promise.all(masters.map((master) => master.stop()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

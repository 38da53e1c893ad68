/**
 * Redis as production runs it when one server is not enough, from private redis-server processes: a primary, its
 * replica and a Sentinel watching both; or a cluster of three masters. Each is stopped (and its files removed) by
 * its own stop(), however the test went.
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

export interface SentinelSetup {
  readonly primary: RedisServer;
  readonly replica: RedisServer;
  readonly sentinel: RedisServer;
  /** The name the Sentinel monitors the primary under (REDIS_SENTINEL_NAME). */
  readonly name: string;
  /** The port of the server the Sentinel names primary now. */
  primaryPort(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * One Sentinel (quorum 1) over a primary and its replica. It calls the primary down after 1 s without an answer
 * and then promotes the replica: a failover within seconds, where production's defaults take 30 s or more.
 */
export async function sentinelSetup(name = 'tally'): Promise<SentinelSetup> {
  const dir = await mkdtemp(join(tmpdir(), 'tally-sentinel-'));
  // In the setup's own directory: a replica writes the primary's snapshot to disk whatever --save says.
  const primary = await redisServer({ dir });
  await primary.start();
  const replica = await redisServer({ args: ['--replicaof', '127.0.0.1', String(primary.port)], dir });
  await replica.start();
  const configFile = join(dir, 'sentinel.conf');
  await writeFile(
    configFile,
    [`sentinel monitor ${name} 127.0.0.1 ${primary.port} 1`, `sentinel down-after-milliseconds ${name} 1000`, `sentinel failover-timeout ${name} 5000`, ''].join('\n'),
  );
  const sentinel = await redisServer({ configFile, args: ['--sentinel'], dir, readyWhen: '+monitor master' });
  await sentinel.start();
  const asked = direct(sentinel);
  const primaryPort = async () => Number(((await asked.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string])[1]);
  // A failover needs a replica the Sentinel knows of and one in sync: both before the test begins.
  const watching = direct(replica);
  await waitFor(async () => /master_link_status:up/.test(await watching.info('replication')), { timeoutMs: 15_000 });
  await waitFor(async () => ((await asked.call('SENTINEL', 'replicas', name)) as unknown[]).length === 1, { timeoutMs: 15_000 });
  watching.disconnect();
  return {
    primary,
    replica,
    sentinel,
    name,
    primaryPort,
    async stop() {
      asked.disconnect();
      await Promise.all([sentinel.stop(), replica.stop(), primary.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
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
export async function redisCluster(size = 3): Promise<ClusterSetup> {
  const dir = await mkdtemp(join(tmpdir(), 'tally-cluster-'));
  const masters: RedisServer[] = [];
  for (let index = 0; index < size; index += 1) {
    // The bus port is its own: the default (port + 10000) may not exist for a port above 55535.
    const args = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${index}.conf`, '--cluster-port', String(await freePort()), '--cluster-node-timeout', '1000'];
    masters.push(await redisServer({ args, dir }));
  }
  await Promise.all(masters.map((master) => master.start()));
  await run('redis-cli', ['--cluster', 'create', ...masters.map((master) => `127.0.0.1:${master.port}`), '--cluster-replicas', '0', '--cluster-yes']);
  const clients = masters.map(direct);
  const healthy = (timeoutMs = 20_000) =>
    waitFor(async () => (await Promise.all(clients.map((client) => client.call('CLUSTER', 'INFO').catch(() => '')))).every((info) => /cluster_state:ok/.test(String(info))), {
      timeoutMs,
    });
  await healthy();
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
}

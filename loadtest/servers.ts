/**
 * The servers a scenario compares, each started as its own process on a loopback port, and how to tell when it
 * is ready. Every server answers the same question over the same database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { DEFAULT_MANIFEST } from '../src/config.js';
import { writeLoadManifest } from './operations.js';

export type ServerKind = 'bare-http' | 'bare-pg' | 'tally-executor' | 'postgraphile' | 'mercurius' | 'tally-unbatched' | 'tally';

export interface ServerSpec {
  readonly kind: ServerKind;
  readonly databaseUrl?: string;
  readonly poolMax?: number;
  readonly env?: Record<string, string>;
  /** Run under `node --cpu-prof`, the profile written as `dir/name` when the process exits (profile.ts reads it). */
  readonly cpuProfile?: { readonly dir: string; readonly name: string };
  /** Tally only: the checkout whose build runs (another commit's, to compare two builds); this one when not given. */
  readonly checkout?: string;
}

export interface RunningServer {
  readonly kind: ServerKind;
  readonly port: number;
  readonly pid: number;
  readonly url: string;
  /** Of the server's process and those it started (WORKERS), summed. */
  rssBytes(): number;
  /** CPU time (user + system) the server's processes have used so far, in µs (0 once they have exited). */
  cpuMicros(): number;
  stop(): Promise<void>;
}

export const TALLY_TEST_SECRET = 'loadtest-secret-loadtest-secret-loadtest';
export const TALLY_ISSUER = 'tally-loadtest';
export const TALLY_AUDIENCE = 'tally-api';

const TSX = ['--import', 'tsx'];

/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux build this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

export const UNLIMITED_BUDGETS = {
  COST_BUDGET_VIEWER: '100000000',
  COST_RESTORE_VIEWER: '100000000',
  COST_BUDGET_ANONYMOUS: '100000000',
  COST_RESTORE_ANONYMOUS: '100000000',
};

function command(spec: ServerSpec): string[] {
  switch (spec.kind) {
    case 'bare-http':
      return [...TSX, 'loadtest/servers/bare-http.ts'];
    case 'bare-pg':
      return [...TSX, 'loadtest/servers/bare-pg.ts'];
    case 'tally-executor':
      return [...TSX, 'loadtest/servers/tally-executor.ts'];
    case 'postgraphile':
      return [...TSX, 'loadtest/servers/postgraphile.ts'];
    case 'mercurius':
      return [...TSX, 'loadtest/servers/mercurius.ts'];
    case 'tally':
    case 'tally-unbatched':
      return servedAs(spec.checkout ?? '.');
  }
}

/**
 * Tally runs as `npm run serve` runs it in production: that script's node flags (a young generation sized for a
 * server's allocation rate, see README) and entry point, read from package.json so the two cannot drift apart.
 */
function servedAs(checkout: string): string[] {
  const { scripts } = JSON.parse(readFileSync(join(checkout, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [program, ...args] = (scripts['serve'] ?? '').trim().split(/\s+/);
  if (program !== 'node' || args.length === 0) throw new Error('package.json "serve" must be "node [flags] <entry point>"');
  return args;
}

function environment(spec: ServerSpec, port: number): Record<string, string> {
  const common = { PORT: String(port), POOL_MAX: String(spec.poolMax ?? 10), DATABASE_URL: spec.databaseUrl ?? '' };
  if (spec.kind !== 'tally' && spec.kind !== 'tally-unbatched') return common;
  return {
    ...common,
    HOST: '127.0.0.1',
    // The switch is refused in production, so the unbatched baseline runs as "test"; nothing else differs.
    NODE_ENV: spec.kind === 'tally' ? 'production' : 'test',
    UNBATCHED_LOADERS: spec.kind === 'tally-unbatched' ? 'true' : 'false',
    JWT_SECRET: TALLY_TEST_SECRET,
    JWT_ISSUER: TALLY_ISSUER,
    JWT_AUDIENCE: TALLY_AUDIENCE,
    // Production's default: the request log line is part of what is measured (written to /dev/null).
    LOG_LEVEL: 'info',
    // One load generator on one address stands for many clients: budgets no scenario exhausts, so the budget
    // stage runs (priced, charged, refunded, reported) without refusing. `rate-limit` sets the real ones.
    ...UNLIMITED_BUDGETS,
    // Most scenarios send whole documents (the same ones PostGraphile answers), which trusted mode refuses;
    // `feed` and `cached-get` run trusted, as production does, and send the ids of the load generator's own operations.
    PERSISTED_OPERATIONS: 'open',
    PERSISTED_MANIFESTS: [DEFAULT_MANIFEST, writeLoadManifest()].join(','),
    ...spec.env,
  };
}

/** `pid` and every live process below it, from /proc's children lists (empty once it has exited). */
function processTree(pid: number): number[] {
  const tree: number[] = [];
  const visit = (each: number) => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${each}/task`);
    } catch {
      return;
    }
    tree.push(each);
    for (const task of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${each}/task/${task}/children`, 'utf8');
      } catch {
        // The task ended meanwhile.
      }
      for (const child of children.trim().split(/\s+/).filter(Boolean)) visit(Number(child));
    }
  };
  visit(pid);
  return tree;
}

function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) the process has used so far, in µs (0 once it has exited). */
function cpuMicrosOf(pid: number): number {
  try {
    // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command name: utime, stime in clock ticks.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitUntilAnswering(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} before answering`);
    try {
      await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{__typename}"}' });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`server did not answer ${url} within ${timeoutMs / 1000} s`);
}

export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const port = await freePort();
  const profiling = spec.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${spec.cpuProfile.dir}`, `--cpu-prof-name=${spec.cpuProfile.name}`] : [];
  const child = spawn(process.execPath, [...profiling, ...command(spec)], {
    ...(spec.checkout ? { cwd: spec.checkout } : {}),
    env: { ...process.env, ...environment(spec, port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(`${url}/graphql`, child, 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${spec.kind}: ${(error as Error).message}\n${stderr}`, { cause: error });
  }
  const pid = child.pid!;
  return {
    kind: spec.kind,
    port,
    pid,
    url,
    // Summed over the server's process tree: under WORKERS the serving is done by the primary's workers.
    rssBytes: () => processTree(pid).reduce((total, each) => total + rssOf(each), 0),
    cpuMicros: () => processTree(pid).reduce((total, each) => total + cpuMicrosOf(each), 0),
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    },
  };
}

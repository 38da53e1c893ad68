/**
 * A private redis-server child on a free port, for tests and load tests that kill Redis and start it again:
 * nothing saved, nothing shared with the Redis other tests use. Needs the `redis-server` binary on PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './servers.js';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Starts it (again, on the same port); resolves once it accepts connections. */
  start(): Promise<void>;
  /** Kills it (SIGKILL: an outage, not a shutdown); resolves once it has exited. Safe to call when stopped. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Its port; a free one by default. */
  readonly port?: number;
  /** A configuration file, read before the arguments (a Sentinel must have one: it writes what it learns there). */
  readonly configFile?: string;
  /** More arguments, such as `--sentinel`, `--replicaof` or `--cluster-enabled yes`. */
  readonly args?: readonly string[];
  /** The working directory, where a cluster node keeps its nodes.conf across restarts. */
  readonly dir?: string;
  /** What its log says once it serves (a Sentinel never says it accepts connections). */
  readonly readyWhen?: string;
}

export async function redisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const readyWhen = options.readyWhen ?? 'Ready to accept connections';
  let child: ChildProcess | undefined;

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const args = [...(options.configFile ? [options.configFile] : []), '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(options.args ?? [])];
      const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: options.dir });
      child = started;
      // A Redis this process started never outlives it, however the run that wanted it ended.
      const killOnExit = () => started.kill('SIGKILL');
      process.once('exit', killOnExit);
      started.once('exit', () => process.off('exit', killOnExit));
      let log = '';
      started.stdout.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes(readyWhen)) resolve();
      });
      started.once('error', reject);
      started.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${log}`)));
    });

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };

  return { port, url: `redis://127.0.0.1:${port}`, start, stop };
}

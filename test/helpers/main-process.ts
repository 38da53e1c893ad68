/**
 * src/main.ts as its own process, as production runs it (under tsx): started with an environment of the test's
 * choosing and nothing of the machine's (no DATABASE_URL, REDIS_URL or JWT settings leak in unless given),
 * resolved once it logs that it is listening, its stdout and stderr kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START_TIMEOUT_MS = 45_000;
const INHERITED_NOT = ['DATABASE_URL', 'REDIS_URL', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_CLUSTER_NODES', 'REDIS_PASSWORD', 'JWT_SECRET', 'JWT_JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE', 'HOST', 'WORKERS', 'REDIS_KEY_PREFIX'];

export interface MainProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Everything it wrote so far. */
  output(): string;
  /** Resolves with its exit once it has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs it (and, for a primary, its workers are orphaned to exit on their own) if still running. */
  kill(): void;
}

export async function startMain(env: Record<string, string>, { listening = 1 } = {}): Promise<MainProcess> {
  const base: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: '0' };
  for (const name of INHERITED_NOT) delete base[name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = (once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>).then(([code, signal]) => ({ code, signal }));
  const began = Date.now();
  const port = await new Promise<number>((resolve, reject) => {
    const check = () => {
      const ports = [...output.matchAll(/"port":(\d+),[^\n]*"msg":"listening"/g)].map((match) => Number(match[1]));
      if (ports.length >= listening) resolve(ports[0]!);
      else if (child.exitCode !== null) reject(new Error(`server exited with ${child.exitCode}:\n${output}`));
      else if (Date.now() - began > START_TIMEOUT_MS) {
        // Never left running behind a test that gave up on it.
        child.kill('SIGKILL');
        reject(new Error(`server did not listen within ${START_TIMEOUT_MS} ms:\n${output}`));
      } else setTimeout(check, 100);
    };
    check();
  });
  return {
    child,
    port,
    output: () => output,
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

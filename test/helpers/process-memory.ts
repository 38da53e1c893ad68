/**
 * The resident memory of a server started with startMain (helpers/main-process.ts), as the kernel counts it
 * (/proc/<pid>/status VmRSS, so Linux only), before and after a full garbage collection.
 *
 * Collected, because what a process holds after its start is far from steady: main.ts measured 912 MB after its
 * warm-up and 630 MB after the first burst of traffic, once V8 got round to a full collection. A growth measured
 * from such a baseline would hide 280 MB. `collectOnSignal` has the process collect its garbage when sent
 * SIGUSR2 (nothing of main.ts listens for it) and say so on stderr, so both ends of a measurement are what it
 * holds, not what it has yet to collect.
 */
import { readFileSync } from 'node:fs';
import type { MainProcess } from './main-process.js';
import { waitFor } from './wait.js';

const PRELOAD = [
  "import v8 from 'node:v8';",
  "import vm from 'node:vm';",
  "v8.setFlagsFromString('--expose-gc');",
  "const gc = vm.runInNewContext('gc');",
  'let collections = 0;',
  // Twice: the first collection's finalizers free what the second then reclaims (buffers' backing stores).
  "process.on('SIGUSR2', () => { gc(); gc(); collections += 1; process.stderr.write(`{\"gcCollections\":${collections}}\\n`); });",
].join('\n');

/** For startMain's environment: NODE_OPTIONS that load the SIGUSR2 handler, keeping any NODE_OPTIONS already set. */
export function collectOnSignal(): Record<string, string> {
  const options = process.env['NODE_OPTIONS'] ?? '';
  return { NODE_OPTIONS: `${options} --import=data:text/javascript,${encodeURIComponent(PRELOAD)}`.trim() };
}

/** Its VmRSS now, in MB. */
export function rssMb(main: MainProcess): number {
  const status = readFileSync(`/proc/${main.child.pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

/** Its VmRSS in MB after a full collection (it must have been started with collectOnSignal's environment). */
export async function collectedRssMb(main: MainProcess): Promise<number> {
  const collections = () => [...main.output().matchAll(/"gcCollections":(\d+)/g)].length;
  const before = collections();
  main.child.kill('SIGUSR2');
  await waitFor(() => collections() > before, { timeoutMs: 10_000, intervalMs: 20 });
  return rssMb(main);
}

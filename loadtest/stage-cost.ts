/**
 * `npm run loadtest:stages -- [--pairs N] [--rate R] [--duration S] [--against DIR [--variant DIR]]`: what the
 * limits, the cost report and the budget (over Redis, round trips included) add to the feed's CPU per request,
 * measured side by side. With `--against DIR`, a checkout of another commit (`git worktree add DIR <rev>`, its
 * `npm ci` done): what this build (or the one at `--variant DIR`) adds to the feed's CPU per request over that one's,
 * every stage on in both: the way to measure a change to the request path before and after
 * (loadtest/reports/build-<variant>-over-<baseline>.md, the two commits by hash).
 *
 * The feed scenario measures its rows one after another, so a drift of the machine between two rows (another
 * process, PostgreSQL's own work, a noisy neighbour of the VM) reads as a difference between stages; on a
 * machine where rows drift by ±10% a 5% budget cannot be checked that way. Here each variant runs at the same
 * moment as the baseline (Tally without limits or budget), both under the same paced load of the feed query,
 * and the ratio of their CPU per request is taken within that pair; the pair is repeated with the two swapped
 * (which starts first, which port), and the report gives every pair's ratio and their mean.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { SEED_SIZES } from '../src/db/seed.js';
import { buildTally, databaseUrl, ensureServices, prepareDatabase } from './prepare.js';
import { LOAD_OPERATIONS } from './operations.js';
import { FEED_BY_ID, STAGE_ENVS } from './scenarios.js';
import { startServer, type RunningServer } from './servers.js';

const log = (line: string) => console.log(`[stage-cost] ${line}`);

/** The bound on what the limits, the cost report and the budget may add: ratio to the baseline. */
const GOAL = 1.05;

interface Variant {
  readonly label: string;
  readonly env: Record<string, string>;
  /** The checkout whose build runs; this one when not given. */
  readonly checkout?: string;
}

const BASELINE: Variant = { label: 'Tally without limits or budget', env: STAGE_ENVS.withoutLimitsOrBudget };
const VARIANTS: Variant[] = [
  { label: 'Tally (limits, cost report, budget over Redis)', env: STAGE_ENVS.all },
  { label: 'Tally without the budget (limits only)', env: STAGE_ENVS.withoutBudget },
  // Every stage on, through yoga: against the same baseline, what the lane saves shows beside what the stages add.
  { label: 'Tally without the prepared lane (every stage, through yoga)', env: STAGE_ENVS.withoutLane },
];

const revision = (where: string) => execFileSync('git', ['-C', where, 'log', '-1', '--format=%h'], { encoding: 'utf8' }).trim();

/** One build against another checkout's, every stage on in both. */
function againstCheckout(checkout: string, variant: string | undefined): { baseline: Variant; variants: Variant[] } {
  return {
    baseline: { label: `Tally at ${revision(checkout)}`, env: STAGE_ENVS.all, checkout },
    variants: [
      variant === undefined
        ? { label: `Tally at ${revision('.')} (this checkout, with its changes)`, env: STAGE_ENVS.all }
        : { label: `Tally at ${revision(variant)}`, env: STAGE_ENVS.all, checkout: variant },
    ],
  };
}

interface Side {
  readonly requests: number;
  readonly p99: number;
  readonly cpuMicrosPerRequest: number;
}

function paced(url: string, rate: number, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}/graphql`,
        connections: 25,
        overallRate: rate,
        duration: seconds,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(FEED_BY_ID),
        timeout: 30,
      },
      (error, result) => (error ? reject(error as Error) : resolve(result)),
    );
  });
}

/** Both servers under the same load at once: warm-up, then the measured run; CPU per answered request of each. */
async function measurePair(servers: readonly RunningServer[], rate: number, seconds: number): Promise<Side[]> {
  await Promise.all(servers.map((server) => paced(server.url, rate, 3)));
  const before = servers.map((server) => server.cpuMicros());
  const results = await Promise.all(servers.map((server) => paced(server.url, rate, seconds)));
  const after = servers.map((server) => server.cpuMicros());
  return results.map((result, index) => {
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx and ${result.errors} errors: the run is not comparable`);
    return { requests: result.requests.total, p99: result.latency.p99, cpuMicrosPerRequest: (after[index]! - before[index]!) / result.requests.total };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pairs: { type: 'string', default: '4' },
      rate: { type: 'string', default: '150' },
      duration: { type: 'string', default: '20' },
      out: { type: 'string', default: 'loadtest/reports' },
      against: { type: 'string' },
      variant: { type: 'string' },
    },
  });
  const checkout = values.against === undefined ? undefined : resolve(values.against);
  const variantCheckout = values.variant === undefined ? undefined : resolve(values.variant);
  if (variantCheckout && !checkout) throw new Error('--variant needs --against: the build it is compared with');
  const { baseline, variants } = checkout ? againstCheckout(checkout, variantCheckout) : { baseline: BASELINE, variants: VARIANTS };
  const [pairs, rate, duration] = [Number(values.pairs), Number(values.rate), Number(values.duration)];
  for (const [flag, value] of [['pairs', pairs], ['rate', rate], ['duration', duration]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 10_000) throw new Error(`--${flag} must be a whole number from 1`);
  }

  await ensureServices(true, log);
  const database = 'tally_loadtest_load';
  await prepareDatabase(database, SEED_SIZES.load, log);
  buildTally(log);
  for (const other of [checkout, variantCheckout]) {
    if (!other) continue;
    log(`building the checkout ${other}`);
    execFileSync('npm', ['run', '-s', 'build'], { cwd: other, stdio: ['ignore', 'ignore', 'inherit'] });
  }

  const lines: string[] = [];
  const summary: string[] = [];
  let verdict = '';
  for (const variant of variants) {
    const ratios: number[] = [];
    lines.push(`### ${variant.label} ÷ ${baseline.label}`, '', '| pair | first started | variant µs/request | baseline µs/request | variant p99 ms | baseline p99 ms | ratio |', '| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
    for (let pair = 1; pair <= pairs; pair += 1) {
      // Swapped every other pair: which process starts first and which port it gets must not decide the result.
      const order = pair % 2 === 1 ? [variant, baseline] : [baseline, variant];
      const servers: RunningServer[] = [];
      try {
        for (const each of order) {
          servers.push(await startServer({ kind: 'tally', databaseUrl: databaseUrl(database), env: each.env, ...(each.checkout ? { checkout: each.checkout } : {}) }));
        }
        const sides = await measurePair(servers, rate, duration);
        const [mine, base] = order[0] === variant ? [sides[0]!, sides[1]!] : [sides[1]!, sides[0]!];
        const ratio = mine.cpuMicrosPerRequest / base.cpuMicrosPerRequest;
        ratios.push(ratio);
        log(`${variant.label}, pair ${pair}: ${mine.cpuMicrosPerRequest.toFixed(0)} against ${base.cpuMicrosPerRequest.toFixed(0)} µs/request, ratio ${ratio.toFixed(3)}`);
        lines.push(`| ${pair} | ${order[0] === variant ? 'variant' : 'baseline'} | ${mine.cpuMicrosPerRequest.toFixed(0)} | ${base.cpuMicrosPerRequest.toFixed(0)} | ${mine.p99} | ${base.p99} | ${ratio.toFixed(3)} |`);
      } finally {
        await Promise.all(servers.map((server) => server.stop()));
      }
    }
    const mean = ratios.reduce((sum, ratio) => sum + ratio, 0) / ratios.length;
    const spread = Math.sqrt(ratios.reduce((sum, ratio) => sum + (ratio - mean) ** 2, 0) / Math.max(1, ratios.length - 1) / ratios.length);
    lines.push('', `Mean ratio ${mean.toFixed(3)} (standard error ${spread.toFixed(3)}): ${((mean - 1) * 100).toFixed(1)}% CPU per request.`, '');
    summary.push(`| ${variant.label} | ${((mean - 1) * 100).toFixed(1)}% ± ${(spread * 100).toFixed(1)} | ${ratios.length} |`);
    if (variant === variants[0]) {
      const what = checkout ? `this build adds to ${baseline.label}` : 'the limits, the cost report and the budget (Redis round trip included) add';
      verdict = `${mean < GOAL ? 'holds' : 'MISSED'}: ${what} < 5% CPU per request (mean ratio ${mean.toFixed(3)})`;
    }
  }

  const report = [
    checkout ? `# Build cost: what this build adds to the feed over ${baseline.label}, side by side` : '# Stage cost: what the limits and the budget add to the feed, side by side',
    '',
    `${new Date().toISOString()}, Node ${process.version}. Each variant runs at the same time as ${baseline.label}, both sent the feed (\`${LOAD_OPERATIONS.LoadFeed}\`, with \`${JSON.stringify(FEED_BY_ID.variables)}\`) by its manifest id in trusted mode, to ${rate} requests/s each (25 connections, paced) for ${duration} s after a 3 s warm-up, on the \`load\` data in PostgreSQL, Redis at 127.0.0.1; the order swaps every pair. CPU is the server process's (user + system) over the measured run, divided by the requests it answered. Goal: ${checkout ? 'this build adds' : 'the limits, the cost report and the budget add'} < 5%.`,
    '',
    `Goal ${verdict}.`,
    '',
    '| variant | CPU per request added (mean ± standard error) | pairs |',
    '| --- | ---: | ---: |',
    ...summary,
    '',
    ...lines,
  ].join('\n');
  mkdirSync(values.out, { recursive: true });
  const file = join(values.out, checkout ? `build-${revision(variantCheckout ?? '.')}-over-${revision(checkout)}.md` : 'stage-cost.md');
  writeFileSync(file, `${report}\n`);
  log(verdict);
  log(`report: ${file}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/**
 * The report of one run, as markdown (for the repository and the closing note) and as one self-contained HTML
 * page with charts (requests/s over time, latency by percentile): no script, no external asset.
 */
import { hitRate, type CacheDrop, type Measurement, type Refusal } from './measure.js';
import type { ProfileSummary } from './profile.js';
import type { Scenario, Verdict } from './scenarios.js';

export interface RunInfo {
  readonly startedAt: Date;
  readonly machine: Record<string, string>;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
}

export interface ReportInput {
  readonly scenario: Scenario;
  readonly info: RunInfo;
  readonly results: ReadonlyMap<string, Measurement>;
  /** What the scenario checked in the database after the load (see Scenario.verify). */
  readonly verdicts: readonly Verdict[];
  /** Where the profiled row's CPU went (`--profile`). */
  readonly profile?: ProfileSummary | undefined;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const fixed = (value: number | undefined, digits = 1) => (value === undefined ? '–' : value.toFixed(digits));
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function statuses(m: Measurement): string {
  const parts = Object.entries(m.statusCounts)
    .filter(([status]) => status !== '200')
    .map(([status, count]) => `${status}: ${count}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

/** Refusals grouped by all they said but RateLimit-Remaining, which is given as a range. */
function refusalRows(refusals: readonly Refusal[]): string[] {
  const groups = new Map<string, { remaining: number[]; count: number }>();
  for (const r of refusals) {
    const key = `${r.status} | ${r.code ?? '–'} | ${r.requestedCost ?? '–'} | ${r.retryAfter ?? '–'}`;
    const group = groups.get(key) ?? { remaining: [], count: 0 };
    if (r.remaining !== undefined) group.remaining.push(r.remaining);
    group.count += r.count;
    groups.set(key, group);
  }
  return [...groups].map(([key, { remaining, count }]) => {
    const range = remaining.length === 0 ? '–' : Math.min(...remaining) === Math.max(...remaining) ? String(remaining[0]) : `${Math.min(...remaining)}–${Math.max(...remaining)}`;
    return `${key} | ${range} | ${count}`;
  });
}

/** The baselines and the peer every server is compared with, where the scenario has them. */
function references(results: ReadonlyMap<string, Measurement>): [string, Measurement][] {
  return [...results].filter(([label]) => !label.startsWith('Tally') || results.size <= 2);
}

export function goalLines(input: ReportInput): string[] {
  const goals = input.scenario.goals.map((goal) => {
    const holds = goal.holds(input.results);
    const detail = goal.detail?.(input.results);
    return `${holds === undefined ? '–' : holds ? 'holds' : 'MISSED'}: ${goal.description}${detail ? ` (${detail})` : ''}`;
  });
  return [...goals, ...input.verdicts.map((verdict) => `${verdict.holds ? 'holds' : 'MISSED'}: ${verdict.description}`)];
}

/** Rows whose load is their own (Target.connections, Target.durationSeconds), said under the run's line. */
function loadExceptions(info: RunInfo, results: ReadonlyMap<string, Measurement>): string[] {
  const apart = [...results].filter(([, m]) => m.load.connections !== info.connections || m.load.durationSeconds !== info.durationSeconds);
  return apart.length === 0 ? [] : [`Except: ${apart.map(([label, m]) => `${label}, ${m.load.connections} connections and ${m.load.durationSeconds} s measured`).join('; ')}.`, ''];
}

function responseCacheLines(results: ReadonlyMap<string, Measurement>): string[] {
  const cached = [...results].filter(([, m]) => m.responseCache && m.responseCache.hits + m.responseCache.notModified + m.responseCache.misses > 0);
  if (cached.length === 0) return [];
  return [
    "Tally's response cache over the measured run (/metrics: tally_response_cache_requests_total by result; hit rate = (hits + 304s) / (hits + 304s + misses); a hit or a 304 is answered by the node:http front without GraphQL, a miss runs the operation and keeps its answer; SQL statements are tally_sql_statements_per_request_sum over every operation, the runner's own writes included):",
    '',
    '| server | answered (load generator) | hits | 304s | misses | hit rate | SQL statements | SQL/request answered |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...cached.map(([label, m]) => {
      const c = m.responseCache!;
      return `| ${label} | ${m.totalRequests} | ${c.hits} | ${c.notModified} | ${c.misses} | ${((hitRate(c) ?? 0) * 100).toFixed(2)}% | ${c.sqlStatements} | ${fixed(c.sqlStatements / Math.max(1, m.totalRequests), 4)} |`;
    }),
    '',
  ];
}

const cell = (text: string) => text.replace(/\|/g, '\\|');
const share = (fraction: number) => `${(100 * fraction).toFixed(1)}%`;

function profileLines(profile: ProfileSummary | undefined, results: ReadonlyMap<string, Measurement>): string[] {
  if (!profile) return [];
  const row = results.get(profile.label);
  const sampled = profile.onCpuMicros + profile.idleMicros;
  return [
    `Where ${profile.label}'s CPU went (\`node --cpu-prof\`, a sample about each ms, written as the server exited: \`${profile.file}\`, for Chrome DevTools or speedscope). Only the ${profile.samples} samples of its measured run count (${profile.windowSeconds.toFixed(1)} s; start-up, the answer check, the warm-up and the drain are left out). On-CPU is every sample not idle, ${(profile.onCpuMicros / 1e6).toFixed(2)} s of the ${(sampled / 1e6).toFixed(2)} s sampled, on the main thread (V8 samples by the wall clock, so a moment the thread waited for a core counts where it stood; the CPU table's µs/request counts every thread, GC helpers and libuv's pool too). µs/request is over the ${profile.requests} requests answered in the window. Builtins and native bindings (writev, utf8Slice, JSON.parse) and Node's sockets, streams, buffers and events count in the area of their nearest caller that has one: a socket's writev is the driver's when pg sent a query and the transport's when node:http sent an answer; graphql-jit's compiled queries are GraphQL execution (loadtest/profile.ts). That row ran under the profiler, its requests/s and CPU above with the profiler's own cost${row ? ` (${row.requestsPerSecond.toFixed(0)} requests/s, ${row.cpuMicrosPerRequest.toFixed(0)} µs a request)` : ''}; the row it copies ran without it, and the targets are read from that one.`,
    '',
    '| area | share of on-CPU time | µs/request |',
    '| --- | ---: | ---: |',
    ...profile.areas.map((a) => `| ${cell(a.area)} | ${share(a.share)} | ${fixed(a.microsPerRequest, 1)} |`),
    `| all on-CPU | 100% | ${fixed(profile.onCpuMicros / Math.max(1, profile.requests), 1)} |`,
    '',
    `The ${profile.topFunctions.length} functions with the most self time in it:`,
    '',
    '| function | where | area | share of on-CPU time | µs/request |',
    '| --- | --- | --- | ---: | ---: |',
    ...profile.topFunctions.map((f) => `| ${cell(f.functionName)} | ${cell(f.where)} | ${cell(f.area.replace(/ \(.*/, ''))} | ${share(f.share)} | ${fixed(f.microsPerRequest, 1)} |`),
    '',
  ];
}

function dropLines(results: ReadonlyMap<string, Measurement>): string[] {
  const rows = [...results].flatMap(([label, m]) => (m.drops ?? []).map((drop, i): [string, number, CacheDrop] => [label, i + 1, drop]));
  if (rows.length === 0) return [];
  return [
    'The cached answer dropped under load (each by a createPost the runner sent; the window runs from just before it was sent until the counts were read):',
    '',
    '| row | drop | at s | write ms | entries dropped | window s | misses | SQL statements (LoadFeed) | hits in the window | window under load | next answer holds the post |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...rows.map(
      ([label, n, d]) =>
        `| ${label} | ${n} | ${d.atSecond.toFixed(1)} | ${d.writeMs.toFixed(0)} | ${d.entriesDropped} | ${d.windowSeconds.toFixed(1)} | ${d.misses} | ${d.sqlStatements} | ${d.hits} | ${d.underLoad ? 'yes' : 'no'} | ${d.answerHoldsWrite ? 'yes' : 'no'} |`,
    ),
    '',
  ];
}

export function markdown(input: ReportInput): string {
  const { scenario, info, results } = input;
  const lines = [
    `# Load test: ${scenario.name}`,
    '',
    scenario.description,
    '',
    `Run ${info.startedAt.toISOString()}: ${info.connections} connections, ${info.warmupSeconds} s warm-up, ${info.durationSeconds} s measured per server, one server after another; data set \`${scenario.sizeName}\`${scenario.throughPgBouncer ? ', through PgBouncer (transaction mode)' : ''}.`,
    '',
    ...loadExceptions(info, results),
    '| server | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors / timeouts | non-2xx | SQL/request (PostgreSQL) | SQL/request (Tally) | peak PG connections | RSS start / peak / end MB | CPU µs/request |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: |',
    ...[...results].map(
      ([label, m]) =>
        `| ${label} | ${m.requestsPerSecond.toFixed(0)} | ${m.latencyMs.p50} | ${m.latencyMs.p90} | ${m.latencyMs.p99} | ${m.latencyMs.max} | ${m.connectionErrors} / ${m.timeouts} | ${statuses(m)} | ${fixed(m.sqlPerRequestPg, 2)} | ${fixed(m.sqlPerRequestTally, 2)} | ${m.peakPgConnections} | ${mb(m.rssBytes.start)} / ${mb(m.rssBytes.peak)} / ${mb(m.rssBytes.end)} | ${fixed(m.cpuMicrosPerRequest, 0)} |`,
    ),
    '',
  ];
  const refs = references(results);
  if (refs.length > 0 && results.size > 2) {
    lines.push('Ratios (requests/s of the row ÷ requests/s of the column; p99 ratio in brackets, lower is better):', '');
    lines.push(`| server | ${refs.map(([label]) => `÷ ${label}`).join(' | ')} |`, `| --- | ${refs.map(() => '---:').join(' | ')} |`);
    for (const [label, m] of results) {
      const cells = refs.map(([, ref]) => `${(m.requestsPerSecond / ref.requestsPerSecond).toFixed(2)}× (${(m.latencyMs.p99 / Math.max(ref.latencyMs.p99, 1)).toFixed(2)})`);
      lines.push(`| ${label} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  lines.push(...responseCacheLines(results), ...dropLines(results));
  const withBackground = [...results].filter(([, m]) => m.background);
  if (withBackground.length > 0) {
    lines.push(
      'Beside the measured load, from before its warm-up until it ended (not part of the latencies above):',
      '',
      '| row | client | connections | seconds | requests | requests/s | 200 | 429 | 429 share | other statuses | errors / timeouts |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
      ...withBackground.map(([label, { background: b }]) => {
        const other = Object.entries(b!.statusCounts).filter(([status]) => status !== '200' && status !== '429');
        const refused = b!.statusCounts['429'] ?? 0;
        return `| ${label} | ${b!.label} | ${b!.connections} | ${b!.seconds.toFixed(1)} | ${b!.totalRequests} | ${b!.requestsPerSecond.toFixed(0)} | ${b!.statusCounts['200'] ?? 0} | ${refused} | ${(100 * refused / Math.max(1, b!.totalRequests)).toFixed(1)}% | ${other.map(([status, count]) => `${status}: ${count}`).join(', ') || 'none'} | ${b!.connectionErrors} / ${b!.timeouts} |`;
      }),
      '',
      'Its refusals, by what they said (each RateLimit-Remaining value apart in the JSON):',
      '',
      '| row | status | code | requested cost | Retry-After s | RateLimit-Remaining | count |',
      '| --- | ---: | --- | ---: | ---: | ---: | ---: |',
      ...withBackground.flatMap(([label, { background: b }]) => refusalRows(b!.refusals).map((row) => `| ${label} | ${row} |`)),
      '',
    );
  }
  lines.push(
    'CPU over the measured run (µs/request counts the requests of both loads answered in it):',
    '',
    '| server | server CPU cores | server CPU µs/request | load generator CPU cores | load generator event-loop delay p99 / max ms | machine CPU busy |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...[...results].map(
      ([label, m]) =>
        `| ${label} | ${m.cpu.serverCores.toFixed(2)} | ${fixed(m.cpuMicrosPerRequest, 0)} | ${m.cpu.loadGeneratorCores.toFixed(2)} | ${m.loadGeneratorLoopDelayMs.p99} / ${m.loadGeneratorLoopDelayMs.max} | ${(m.cpu.machineBusy * 100).toFixed(0)}% |`,
    ),
    '',
  );
  lines.push(...profileLines(input.profile, results));
  for (const note of scenario.notes?.(results) ?? []) lines.push(note, '');
  lines.push('Targets:', '', ...goalLines(input).map((line) => `- ${line}`), '');
  lines.push('Machine and versions:', '', ...Object.entries(info.machine).map(([key, value]) => `- ${key}: ${value}`), '');
  lines.push(
    'SQL/request (PostgreSQL) is the database\'s committed and rolled-back transaction count over requests (every statement outside a transaction block is one); SQL/request (Tally) is Tally\'s own per-request count from /metrics.',
    '',
  );
  return lines.join('\n');
}

const COLORS = ['#7a7a7a', '#2f6db5', '#c2452d', '#d99a1e', '#2c9a5b', '#8a4fbf'];

function lineChart(
  title: string,
  yLabel: string,
  series: { label: string; points: [number, number][] }[],
  xLabel: string,
  options: { xTicks?: string[]; log?: boolean } = {},
): string {
  const { xTicks, log = false } = options;
  const width = 760;
  const height = 300;
  const left = 60;
  const bottom = 40;
  const top = 30;
  const right = 200;
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map(([x]) => x));
  const yMax = Math.max(1, ...all.map(([, y]) => y)) * 1.1;
  const x = (value: number) => left + (value / xMax) * (width - left - right);
  // A log scale lets a ceiling 30× above the rest share the chart with them.
  const scale = (value: number) => (log ? Math.log10(Math.max(value, 1)) / Math.log10(yMax) : value / yMax);
  const y = (value: number) => height - bottom - scale(value) * (height - bottom - top);
  const gridValues = log
    ? Array.from({ length: Math.floor(Math.log10(yMax)) + 1 }, (_, i) => 10 ** i)
    : [0, 0.25, 0.5, 0.75, 1].map((f) => yMax * f);
  const grid = gridValues.map((value) => {
    return `<line x1="${left}" x2="${width - right}" y1="${y(value)}" y2="${y(value)}" stroke="#e4e4e4"/><text x="${left - 6}" y="${y(value) + 4}" text-anchor="end" font-size="11">${value >= 100 ? value.toFixed(0) : value.toFixed(1)}</text>`;
  });
  const xTickMarks = (xTicks ?? []).map((label, i, ticks) => `<text x="${x((i / Math.max(1, ticks.length - 1)) * xMax)}" y="${height - bottom + 16}" text-anchor="middle" font-size="11">${escape(label)}</text>`);
  const paths = series.map((s, i) => {
    const d = s.points.map(([px, py], j) => `${j === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
    const color = COLORS[i % COLORS.length]!;
    return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/><rect x="${width - right + 12}" y="${top + i * 20}" width="12" height="12" fill="${color}"/><text x="${width - right + 30}" y="${top + i * 20 + 10}" font-size="12">${escape(s.label)}</text>`;
  });
  return `<figure><figcaption>${escape(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escape(title)}">
${grid.join('\n')}
<line x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}" stroke="#999"/><line x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}" stroke="#999"/>
${xTickMarks.join('\n')}
<text x="${(left + width - right) / 2}" y="${height - 6}" text-anchor="middle" font-size="12">${escape(xLabel)}</text>
<text x="14" y="${(top + height - bottom) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${(top + height - bottom) / 2})">${escape(yLabel)}</text>
${paths.join('\n')}
</svg></figure>`;
}

const PERCENTILES = ['p50', 'p75', 'p90', 'p97_5', 'p99', 'p99_9', 'max'] as const;

export function html(input: ReportInput): string {
  const { results } = input;
  const md = markdown(input);
  const throughput = lineChart(
    'Requests per second, each second of the measured run (log scale)',
    'requests/s',
    [...results].map(([label, m]) => ({
      label,
      // autocannon's last tick can be a fraction of a second after the run ended: only whole seconds are plotted.
      points: m.perSecond.slice(0, m.load.durationSeconds).map((count, i) => [i + 1, count] as [number, number]),
    })),
    'second',
    { log: true },
  );
  const latency = lineChart(
    'Latency by percentile',
    'ms',
    [...results].map(([label, m]) => ({ label, points: PERCENTILES.map((p, i) => [i, m.latencyMs[p]] as [number, number]) })),
    'percentile',
    { xTicks: PERCENTILES.map((p) => p.replace('_', '.')) },
  );
  const rss = lineChart(
    'Server memory (RSS) each second',
    'MB',
    [...results].map(([label, m]) => ({ label, points: m.rssBytes.samples.map((bytes, i) => [i + 1, bytes / 1024 / 1024] as [number, number]) })),
    'second',
  );
  const body = md
    .split('\n\n')
    .map((block) => {
      if (block.startsWith('# ')) return `<h1>${escape(block.slice(2))}</h1>`;
      if (block.startsWith('|')) {
        const rows = block.split('\n').filter((row, i) => i !== 1);
        return `<table>${rows
          .map((row, i) => {
            const cells = row.split('|').slice(1, -1).map((cell) => cell.trim());
            const tag = i === 0 ? 'th' : 'td';
            return `<tr>${cells.map((cell) => `<${tag}>${escape(cell)}</${tag}>`).join('')}</tr>`;
          })
          .join('')}</table>`;
      }
      if (block.startsWith('- ')) {
        return `<ul>${block
          .split('\n')
          .map((item) => {
            const text = escape(item.slice(2));
            const cls = text.startsWith('MISSED') ? ' class="missed"' : text.startsWith('holds') ? ' class="holds"' : '';
            return `<li${cls}>${text}</li>`;
          })
          .join('')}</ul>`;
      }
      return `<p>${escape(block)}</p>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tally load test: ${escape(input.scenario.name)}</title>
<style>
body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; padding: 0 1rem; }
table { border-collapse: collapse; margin: 1rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; } th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; } figure { margin: 1.5rem 0; } figcaption { font-weight: 600; margin-bottom: .25rem; }
li.holds { color: #1d7a45; } li.missed { color: #b3261e; font-weight: 600; }
</style></head><body>
${body}
${throughput}
${latency}
${rss}
</body></html>
`;
}

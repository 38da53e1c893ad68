/**
 * Where a server's CPU went under load: its `node --cpu-prof` profile (written when the process exits), read back
 * as self time by area of the code (GraphQL execution, SQL building, the driver, the transport, logging, metrics,
 * Redis, GC, Tally's own stages) and as the functions with the most self time.
 *
 * The profile covers the process's whole life (start-up, the answer check, the warm-up, the drain); only the samples
 * taken during the measured run count. A profile's timestamps are µs on the machine's monotonic clock, the clock
 * `process.hrtime` reads in the runner, so the measured run's bounds (Measurement.measuredWindow) select them.
 *
 * Each sample's self time is the time until the next sample, as Chrome's DevTools counts it; idle samples are left
 * out. V8 samples the main thread by the wall clock, so the rest is the time it was busy, a moment it waited for a
 * core included (two cores here, shared with PostgreSQL and the load generator).
 *
 * Areas come from each frame's script: a package's, a file of Tally's, Node's HTTP modules (the transport's). Code
 * compiled at run time (a script without a URL) is graphql-jit's compiled queries, the only such code a server
 * compiles while it serves (zod compiles Tally's configuration at start-up, outside the window). The rest is
 * generic and counts in the area of its nearest caller that has one, where its cost is clearer: a V8 builtin or
 * native binding (`writev`, `utf8Slice`, `JSON.parse`), Node's sockets and streams, and its other modules (buffer,
 * events, util, timers). So a socket `writev` is the driver's when pg's connection sent its query and the
 * transport's when node:http sent an answer; Buffer's `utf8Slice` under pg-protocol is the driver's. With no such
 * caller, socket and stream code (reads the event loop delivers) is the transport's, and the rest (promise jobs and
 * timers themselves) Node's runtime. The top functions list every frame by its own name.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  /** '0' for V8's builtins and native bindings; another id with no url for code compiled at run time. */
  readonly scriptId: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

/** What `node --cpu-prof` writes (the DevTools protocol's Profiler.Profile). */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface AreaTime {
  readonly area: string;
  readonly micros: number;
  /** Of on-CPU time in the window. */
  readonly share: number;
  readonly microsPerRequest: number;
}

export interface FunctionTime extends AreaTime {
  readonly functionName: string;
  /** A package's file, Tally's source file or a node: module, with its line; '(native)' without a script. */
  readonly where: string;
}

export interface ProfileSummary {
  /** The .cpuprofile file, as the runner wrote its path. */
  readonly file: string;
  readonly label: string;
  /** The measured run's span (s), the samples in it, and their time on and off the CPU (µs). */
  readonly windowSeconds: number;
  readonly samples: number;
  readonly onCpuMicros: number;
  readonly idleMicros: number;
  /** Requests the server answered in the window, for µs/request. */
  readonly requests: number;
  readonly areas: readonly AreaTime[];
  readonly topFunctions: readonly FunctionTime[];
}

/** Where a frame's code lives: a package (the innermost node_modules one), a file of Tally's, or a node: module. */
interface Origin {
  readonly pkg?: string;
  readonly tally?: string;
  readonly builtin?: string;
}

function originOf(url: string): Origin {
  if (url.startsWith('node:')) return { builtin: url.slice('node:'.length) };
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + '/node_modules/'.length).split('/');
    return { pkg: scope?.startsWith('@') ? `${scope}/${name}` : scope };
  }
  // Compiled (dist/src/…) as production runs it, or src/… under tsx.
  const source = /\/(?:dist\/)?(src\/.+?)\.[jt]s$/.exec(url);
  return source ? { tally: source[1] } : {};
}

const GRAPHQL = 'GraphQL execution (graphql, graphql-jit and its compiled queries, @envelop, @pothos, dataloader, src/schema, src/loaders)';

/** Node's HTTP modules: the transport's whoever calls them. */
const HTTP_BUILTIN = /^(_http_|https?$|internal\/http)/;
/** Node's sockets and streams: whoever called them, or the transport's when nothing did (a read). */
const SOCKET_BUILTIN = /^(net$|stream$|internal\/(streams\/|stream_base_commons|net$|webstreams\/))/;

const TRANSPORT = "transport (node:http and the sockets under it, yoga, @whatwg-node, Tally's node:http layer)";

const inPackages = (pkg: string | undefined, names: readonly string[], prefixes: readonly string[] = []) =>
  pkg !== undefined && (names.includes(pkg) || prefixes.some((prefix) => pkg.startsWith(prefix)));

/** The areas, in the order the report lists them; the first rule that matches a frame's origin names its area. */
const AREAS: readonly { readonly area: string; matches(origin: Origin): boolean }[] = [
  {
    area: GRAPHQL,
    matches: ({ pkg, tally }) =>
      inPackages(pkg, ['graphql', 'graphql-jit', 'dataloader', 'fast-json-stringify', 'generate-function'], ['@envelop/', '@pothos/', '@graphql-tools/']) ||
      /^src\/(schema|loaders)\//.test(tally ?? ''),
  },
  { area: 'SQL building (drizzle-orm, src/db)', matches: ({ pkg, tally }) => pkg === 'drizzle-orm' || /^src\/db\//.test(tally ?? '') },
  {
    area: 'driver (pg, pg-protocol, pg-pool, pg-types)',
    matches: ({ pkg }) => inPackages(pkg, ['pg', 'pg-protocol', 'pg-pool', 'pg-types', 'pg-int8', 'pg-connection-string', 'pgpass', 'split2'], ['postgres-']),
  },
  {
    area: TRANSPORT,
    matches: ({ pkg, tally, builtin }) =>
      inPackages(pkg, ['graphql-yoga', 'urlpattern-polyfill'], ['@whatwg-node/', '@graphql-yoga/']) ||
      /^src\/(server|client-address)$|^src\/http\//.test(tally ?? '') ||
      HTTP_BUILTIN.test(builtin ?? ''),
  },
  { area: 'logging (pino, src/observability/logger)', matches: ({ pkg, tally }) => inPackages(pkg, ['pino', 'sonic-boom', 'thread-stream', 'fast-redact', 'quick-format-unescaped', 'atomic-sleep', 'on-exit-leak-free'], ['pino-', '@pinojs/']) || tally === 'src/observability/logger' },
  { area: 'metrics (prom-client, src/observability/metrics)', matches: ({ pkg, tally }) => inPackages(pkg, ['prom-client', 'tdigest', 'bintrees']) || tally === 'src/observability/metrics' },
  {
    area: 'Redis (ioredis, src/store)',
    matches: ({ pkg, tally }) => inPackages(pkg, ['ioredis', 'redis-errors', 'redis-parser', 'denque', 'cluster-key-slot', 'standard-as-callback'], ['@ioredis/']) || /^src\/store\//.test(tally ?? ''),
  },
  {
    area: "Tally's own stages (src/plugins, src/cache, src/cost, src/limits, src/persisted, src/auth, jose, …)",
    matches: ({ pkg, tally }) => tally !== undefined || inPackages(pkg, ['jose', 'graphql-query-complexity', 'lru-cache', 'zod']),
  },
  { area: 'other packages', matches: ({ pkg }) => pkg !== undefined },
];

const GC = 'GC (garbage collector)';
const PROGRAM = 'native, no JavaScript on the stack ((program))';
const RUNTIME = 'Node runtime (promise jobs, ticks and timers themselves)';
const IDLE = '(idle)';

/** A frame's own area, or undefined for a generic one (a builtin, or a Node module other than the transport's). */
function ownArea({ functionName, scriptId, url }: CallFrame): string | undefined {
  if (functionName === '(garbage collector)') return GC;
  if (functionName === '(idle)') return IDLE;
  if (functionName === '(program)') return PROGRAM;
  if (!url) return scriptId !== '0' ? GRAPHQL : undefined;
  const origin = originOf(url);
  if (origin.builtin !== undefined && !HTTP_BUILTIN.test(origin.builtin)) return undefined;
  return AREAS.find((rule) => rule.matches(origin))?.area ?? 'other scripts';
}

function whereOf({ scriptId, url, lineNumber }: CallFrame): string {
  if (!url) return scriptId === '0' ? '(native)' : '(compiled at run time)';
  const { pkg, tally } = originOf(url);
  const line = lineNumber >= 0 ? `:${lineNumber + 1}` : '';
  if (pkg) return `${url.slice(url.lastIndexOf('/node_modules/') + '/node_modules/'.length)}${line}`;
  if (tally) return `${tally}${line}`;
  return `${url}${line}`;
}

export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}

/**
 * The samples between `fromMicros` and `toMicros` (monotonic µs), by area and by function. `requests` is what the
 * server answered in that span.
 */
export function summarize(
  profile: CpuProfile,
  window: { readonly fromMicros: number; readonly toMicros: number },
  requests: number,
  names: { readonly file: string; readonly label: string },
): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);

  // A frame's own area or, for a generic frame, its nearest caller's that has one; with none, the transport's if
  // socket or stream code is on the stack, else the runtime's.
  const areas = new Map<number, { area: string | undefined; sockets: boolean }>();
  const resolved = (node: ProfileNode | undefined): { area: string | undefined; sockets: boolean } => {
    if (!node) return { area: undefined, sockets: false };
    const known = areas.get(node.id);
    if (known) return known;
    const own = ownArea(node.callFrame);
    const above = own ? { area: own, sockets: false } : resolved(parentOf.get(node.id));
    const { url } = node.callFrame;
    const result = { area: above.area, sockets: above.sockets || (url.startsWith('node:') && SOCKET_BUILTIN.test(url.slice('node:'.length))) };
    areas.set(node.id, result);
    return result;
  };
  const areaOfNode = (node: ProfileNode): string => {
    const { area, sockets } = resolved(node);
    return area ?? (sockets ? TRANSPORT : RUNTIME);
  };

  const areaMicros = new Map<string, number>();
  const functionMicros = new Map<string, { frame: CallFrame; area: string; micros: number }>();
  let samples = 0;
  let idleMicros = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i += 1) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < window.fromMicros || at > window.toMicros) continue;
    // The time until the next sample (the profile's end after the last one).
    const micros = Math.max(0, i + 1 < profile.samples.length ? (profile.timeDeltas[i + 1] ?? 0) : profile.endTime - at);
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    const area = areaOfNode(node);
    samples += 1;
    if (area === IDLE) {
      idleMicros += micros;
      continue;
    }
    areaMicros.set(area, (areaMicros.get(area) ?? 0) + micros);
    const { functionName, url, lineNumber } = node.callFrame;
    // By area too: a socket's writev for pg's query and for node:http's answer are two lines.
    const key = `${functionName}\u0000${url}\u0000${lineNumber}\u0000${area}`;
    const entry = functionMicros.get(key) ?? { frame: node.callFrame, area, micros: 0 };
    entry.micros += micros;
    functionMicros.set(key, entry);
  }

  const onCpuMicros = [...areaMicros.values()].reduce((sum, micros) => sum + micros, 0);
  const timed = (area: string, micros: number): AreaTime => ({
    area,
    micros,
    share: onCpuMicros > 0 ? micros / onCpuMicros : 0,
    microsPerRequest: requests > 0 ? micros / requests : 0,
  });
  return {
    ...names,
    windowSeconds: (window.toMicros - window.fromMicros) / 1e6,
    samples,
    onCpuMicros,
    idleMicros,
    requests,
    areas: [...areaMicros].map(([area, micros]) => timed(area, micros)).sort((a, b) => b.micros - a.micros),
    topFunctions: [...functionMicros.values()]
      .sort((a, b) => b.micros - a.micros)
      .slice(0, 15)
      .map(({ frame, area, micros }) => ({ ...timed(area, micros), functionName: frame.functionName || '(anonymous)', where: whereOf(frame) })),
  };
}

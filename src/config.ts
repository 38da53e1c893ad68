/**
 * The process environment, parsed once. This is the only module that reads `process.env`; everything else
 * receives the frozen `Config` it returns, so a bad value stops the process at start, naming the variable,
 * instead of failing on the first request that needs it.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Which documents run: `trusted`, only those of the manifests built with the clients (production's default);
 * `open`, those and automatic persisted queries and any document sent (everywhere else).
 */
export const PERSISTED_MODES = ['trusted', 'open'] as const;
export type PersistedMode = (typeof PERSISTED_MODES)[number];

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Where the shared state lives. */
export type RedisTarget =
  | { readonly kind: 'single'; readonly url: string }
  | { readonly kind: 'sentinel'; readonly sentinels: readonly HostPort[]; readonly name: string; readonly password: string | undefined }
  | { readonly kind: 'cluster'; readonly nodes: readonly HostPort[]; readonly password: string | undefined };

/** Tally's own operations (persisted-queries/), built by `npm run persisted:build`. */
export const DEFAULT_MANIFEST = fileURLToPath(new URL('../persisted-queries/manifest.json', import.meta.url));

/** Request-path stages a load test may turn off to measure what each costs (DISABLE_STAGES, never in production). */
export const STAGES = ['limits', 'budget', 'lane'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * Every variable goes through this: an empty (or blank) value counts as unset, so `HOST=` in a compose file or
 * an `export LOG_LEVEL=` in a shell means "the default", never an empty host or a parse error.
 */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : value), schema);

const optionalString = unsetIfEmpty(z.string().trim().optional());

const isUrlOf = (protocols: readonly string[], value: string) => {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
};
const startingWith = (protocols: readonly string[]) => protocols.map((p) => `${p}//`).join(' or ');

const url = (protocols: readonly string[]) =>
  optionalString.refine((value) => value === undefined || isUrlOf(protocols, value), { message: `must be a URL starting with ${startingWith(protocols)}` });

/** A comma-separated list of such URLs. */
const urls = (protocols: readonly string[]) =>
  optionalString.refine((value) => value === undefined || value.split(',').every((entry) => isUrlOf(protocols, entry.trim())), {
    message: `must be a comma-separated list of URLs starting with ${startingWith(protocols)}`,
  });

/** `host:port` (an IPv6 address in brackets), as Redis Sentinel and Cluster name their servers. */
const parseHostPort = (entry: string): HostPort | undefined => {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry.trim());
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65_535) return undefined;
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
};

/** A comma-separated list of `host:port`. */
const hostPorts = optionalString.refine((value) => value === undefined || value.split(',').every((entry) => parseHostPort(entry) !== undefined), {
  message: 'must be a comma-separated list of host:port (such as 10.0.0.1:26379,10.0.0.2:26379)',
});
const hostPortList = (value: string) => value.split(',').map((entry) => parseHostPort(entry)!);

const integer = (defaultValue: number, min: number, max: number) =>
  unsetIfEmpty(z.coerce.number().int().min(min).max(max).default(defaultValue));

const boolean = unsetIfEmpty(z.enum(['true', 'false']).optional());

const envSchema = z
  .object({
    NODE_ENV: unsetIfEmpty(z.enum(['development', 'production', 'test']).default('development')),
    PORT: integer(4000, 0, 65535),
    // The default depends on NODE_ENV (see loadConfig).
    HOST: optionalString,
    DATABASE_URL: url(['postgres:', 'postgresql:']),
    PGLITE_DIR: unsetIfEmpty(z.string().default('.data/pglite')),
    POOL_MAX: integer(10, 1, 1000),
    DB_STATEMENT_TIMEOUT_MS: integer(5000, 100, 600_000),
    DB_CONNECT_TIMEOUT_MS: integer(5000, 100, 60_000),
    DATABASE_REPLICA_URLS: urls(['postgres:', 'postgresql:']),
    OUTBOX_POLL_MS: integer(1_000, 50, 600_000),
    OUTBOX_RETENTION_HOURS: integer(24, 1, 24 * 90),
    REPLICA_AFTER_WRITE_MS: integer(5000, 0, 600_000),
    REDIS_URL: url(['redis:', 'rediss:']),
    REDIS_SENTINELS: hostPorts,
    REDIS_SENTINEL_NAME: optionalString,
    REDIS_CLUSTER_NODES: hostPorts,
    // Not trimmed: a password may begin or end with a space.
    REDIS_PASSWORD: unsetIfEmpty(z.string().optional()),
    REDIS_KEY_PREFIX: unsetIfEmpty(z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be 1–64 letters, digits or : _ . - (no braces: they would change the keys\' hash slots in a Redis Cluster)').default('tally:')),
    JWT_SECRET: optionalString.refine((value) => value === undefined || value.length >= 32, {
      message: 'must be at least 32 characters (HS256 needs a 256-bit secret)',
    }),
    JWT_JWKS_URL: url(['https:', 'http:']),
    JWT_ISSUER: optionalString,
    JWT_AUDIENCE: optionalString,
    // 30 days: what `npm run token` and the demo token are given. An identity provider's tokens live far less.
    JWT_MAX_LIFETIME_SECONDS: integer(30 * 86_400, 60, 366 * 86_400),
    LOG_LEVEL: unsetIfEmpty(z.enum(LOG_LEVELS).optional()),
    UNBATCHED_LOADERS: unsetIfEmpty(z.enum(['true', 'false']).optional()),
    DISABLE_STAGES: optionalString.refine((value) => value === undefined || value.split(',').every((stage) => STAGES.includes(stage.trim() as Stage)), {
      message: `must be a comma-separated list of ${STAGES.join(', ')}`,
    }),
    MAX_MONEY_AMOUNT: integer(1_000_000, 1, 1_000_000_000_000),
    MAX_CONCURRENT_REQUESTS: integer(64, 1, 100_000),
    WORKERS: integer(1, 1, 64),
    // Inside Kubernetes' default terminationGracePeriodSeconds (30 s), with room for a preStop delay and the close.
    SHUTDOWN_GRACE_MS: integer(25_000, 0, 600_000),
    // What a slow or stalled client may hold (src/http/): a whole request's time, its headers' time, body bytes.
    REQUEST_TIMEOUT_MS: integer(30_000, 1_000, 600_000),
    HEADERS_TIMEOUT_MS: integer(10_000, 1_000, 600_000),
    MAX_BODY_BYTES_IN_FLIGHT: integer(16 * 1024 * 1024, 100 * 1024, 1024 * 1024 * 1024),
    MAX_BODY_BYTES_IN_FLIGHT_PER_CLIENT: integer(1024 * 1024, 100 * 1024, 1024 * 1024 * 1024),
    // Static limits on one operation (src/limits/): checked before execution, before any SQL.
    MAX_DOCUMENT_LENGTH: integer(100_000, 100, 10_000_000),
    MAX_TOKENS: integer(5_000, 10, 1_000_000),
    MAX_DEPTH: integer(12, 2, 1_000),
    MAX_ALIASES: integer(30, 0, 100_000),
    MAX_DIRECTIVES: integer(50, 0, 100_000),
    MAX_ROOT_FIELDS: integer(10, 1, 1_000),
    MAX_SELECTIONS: integer(100, 1, 100_000),
    MAX_COST: integer(1_000, 1, 100_000_000),
    MAX_STRING_VARIABLE_LENGTH: integer(10_000, 100, 10_000_000),
    MAX_BATCH_OPERATIONS: integer(0, 0, 100),
    MAX_ERRORS: integer(20, 1, 1_000),
    // The cost budget per client (src/plugins/use-cost-budget.ts).
    COST_BUDGET_VIEWER: integer(1_000, 1, 100_000_000),
    COST_RESTORE_VIEWER: integer(50, 1, 100_000_000),
    COST_BUDGET_ANONYMOUS: integer(200, 1, 100_000_000),
    COST_RESTORE_ANONYMOUS: integer(10, 1, 100_000_000),
    TRUSTED_PROXIES: optionalString,
    ANONYMOUS_IPV6_PREFIX: integer(64, 1, 128),
    // Production hardening; each defaults to on in production and off elsewhere (see loadConfig).
    INTROSPECTION: boolean,
    FIELD_SUGGESTIONS: boolean,
    GRAPHIQL: boolean,
    GET_QUERIES: boolean,
    LIMIT_DETAILS: boolean,
    // Persisted operations and caching (src/persisted/, src/cache/).
    PERSISTED_OPERATIONS: unsetIfEmpty(z.enum(PERSISTED_MODES).optional()),
    PERSISTED_MANIFESTS: optionalString,
    APQ_TTL_SECONDS: integer(86_400, 1, 30 * 86_400),
    APQ_MAX_DOCUMENTS: integer(10_000, 1, 10_000_000),
    RESPONSE_CACHE: boolean,
    RESPONSE_CACHE_MAX_ENTRIES: integer(10_000, 1, 10_000_000),
    USER_CACHE_TTL_SECONDS: integer(60, 0, 86_400),
    // OpenTelemetry (src/observability/tracing.ts): the standard variables' names, read here like every other.
    OTEL_EXPORTER_OTLP_ENDPOINT: url(['http:', 'https:']),
    OTEL_EXPORTER_OTLP_HEADERS: optionalString.refine((value) => value === undefined || value.split(',').every((pair) => /^[^=]+=.*$/.test(pair.trim())), {
      message: 'must be comma-separated key=value pairs',
    }),
    OTEL_SERVICE_NAME: unsetIfEmpty(z.string().trim().min(1).max(200).default('tally')),
    OTEL_TRACES_SAMPLER_ARG: unsetIfEmpty(z.coerce.number().min(0).max(1).default(1)),
  })
  .superRefine((env, ctx) => {
    if (env.TRUSTED_PROXIES !== undefined) {
      for (const entry of env.TRUSTED_PROXIES.split(',')) {
        if (!parseAddressRange(entry.trim())) {
          ctx.addIssue({ code: 'custom', path: ['TRUSTED_PROXIES'], message: `"${entry.trim()}" is not an IP address or CIDR range (such as 10.0.0.0/8)` });
        }
      }
    }
    for (const loadTestSwitch of ['UNBATCHED_LOADERS', 'DISABLE_STAGES'] as const) {
      const value = env[loadTestSwitch];
      if (value !== undefined && value !== 'false' && env.NODE_ENV === 'production') {
        ctx.addIssue({ code: 'custom', path: [loadTestSwitch], message: 'is a load-test switch and never allowed in production' });
      }
    }
    // Workers share nothing but PostgreSQL and Redis: PGlite's files belong to one process, and in-process budgets,
    // registrations and cached answers would be each worker's own (a client's budget n times over).
    const redisKinds = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter((name) => env[name]);
    if (env.WORKERS > 1) {
      if (!env.DATABASE_URL) ctx.addIssue({ code: 'custom', path: ['WORKERS'], message: 'more than 1 needs DATABASE_URL: workers share state only through PostgreSQL and Redis' });
      if (redisKinds.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['WORKERS'], message: 'more than 1 needs REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES: workers share state only through PostgreSQL and Redis' });
      }
    }
    if (redisKinds.length > 1) {
      ctx.addIssue({ code: 'custom', path: [redisKinds[1]!], message: `set one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES, not ${redisKinds.join(' and ')}` });
    }
    if (env.REDIS_SENTINEL_NAME && !env.REDIS_SENTINELS) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINEL_NAME'], message: 'needs REDIS_SENTINELS, the Sentinels that know the primary by this name' });
    }
    // One place for a password: the URL's own, or REDIS_PASSWORD where there is no URL to hold it.
    if (env.REDIS_PASSWORD && !env.REDIS_SENTINELS && !env.REDIS_CLUSTER_NODES) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_PASSWORD'], message: 'is for REDIS_SENTINELS or REDIS_CLUSTER_NODES; with REDIS_URL the password goes in the URL (redis://:password@host:6379)' });
    }
    // Replicas copy a primary: without one (the embedded PGlite) there is nothing for them to be replicas of.
    if (env.DATABASE_REPLICA_URLS && !env.DATABASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_REPLICA_URLS'], message: 'needs DATABASE_URL, the primary the replicas copy' });
    }
    // node checks the headers' deadline against the smaller of the two and the whole request's against the larger,
    // so a longer HEADERS_TIMEOUT_MS would quietly stretch the whole request's limit to it.
    if (env.HEADERS_TIMEOUT_MS > env.REQUEST_TIMEOUT_MS) {
      ctx.addIssue({ code: 'custom', path: ['HEADERS_TIMEOUT_MS'], message: `must not be above REQUEST_TIMEOUT_MS (${env.REQUEST_TIMEOUT_MS})` });
    }
    if (env.MAX_BODY_BYTES_IN_FLIGHT_PER_CLIENT > env.MAX_BODY_BYTES_IN_FLIGHT) {
      ctx.addIssue({ code: 'custom', path: ['MAX_BODY_BYTES_IN_FLIGHT_PER_CLIENT'], message: `must not be above MAX_BODY_BYTES_IN_FLIGHT (${env.MAX_BODY_BYTES_IN_FLIGHT})` });
    }
    if (env.JWT_SECRET && env.JWT_JWKS_URL) {
      ctx.addIssue({ code: 'custom', path: ['JWT_JWKS_URL'], message: 'set JWT_SECRET or JWT_JWKS_URL, not both' });
    }
    if (env.NODE_ENV === 'production' && !env.JWT_SECRET && !env.JWT_JWKS_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: 'production needs JWT_SECRET or JWT_JWKS_URL (there is no development secret in production)',
      });
    }
    // An identity provider signs tokens for many services: without its issuer and audience pinned, a token it
    // minted for any of them would be accepted here, in development as much as in production.
    const pinned = env.JWT_JWKS_URL ? 'with JWT_JWKS_URL' : env.NODE_ENV === 'production' ? 'in production' : undefined;
    for (const variable of ['JWT_ISSUER', 'JWT_AUDIENCE'] as const) {
      if (pinned && !env[variable]) {
        ctx.addIssue({ code: 'custom', path: [variable], message: `is required ${pinned}, so tokens minted for another service are refused` });
      }
    }
  });

/**
 * Outside production with no JWT configuration, tokens are signed and verified with this well-known secret so
 * a newcomer can explore as the demo user. It is public on purpose: production refuses to start without its own.
 */
export const DEVELOPMENT_JWT_SECRET = 'tally-development-secret-not-for-production-use';
const DEFAULT_ISSUER = 'tally';
const DEFAULT_AUDIENCE = 'tally-api';

/** `maxLifetimeSeconds`: the longest a token may be valid for, from its `iat` (or now) to its `exp`. */
export type JwtConfig =
  | { kind: 'secret'; secret: string; issuer: string; audience: string; maxLifetimeSeconds: number; development: boolean }
  | { kind: 'jwks'; jwksUrl: string; issuer: string; audience: string; maxLifetimeSeconds: number };

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  readonly database:
    | {
        readonly kind: 'postgres';
        readonly url: string;
        readonly poolMax: number;
        readonly statementTimeoutMs: number;
        /** How long a query waits for a pooled connection, or for a new one to open, before it fails. */
        readonly connectTimeoutMs: number;
        /** Query operations go to one of these (src/plugins/use-read-routing.ts); empty: everything to `url`. */
        readonly replicaUrls: readonly string[];
        /** How long after a viewer's mutation their own reads still go to the primary, past the replicas' lag. */
        readonly afterWriteMs: number;
      }
    | { readonly kind: 'pglite'; readonly dataDir: string };
  /** Unset: the in-process twins of every store. */
  readonly redis: RedisTarget | undefined;
  /** Every Redis key of this deployment starts with it: deployments (or tests) sharing one Redis keep apart. */
  readonly redisKeyPrefix: string;
  readonly jwt: JwtConfig;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** Load tests only: every loader fetches one key per statement, the N+1 that batching removes. */
  readonly unbatchedLoaders: boolean;
  /** Load tests only: stages left out of the request path, to measure what each costs. */
  readonly disabledStages: ReadonlySet<Stage>;
  /** The largest amount one deposit, withdrawal or transfer may move, in major units of its currency. */
  readonly maxMoneyAmount: bigint;
  /** GraphQL requests run at once; more wait their turn in arrival order (src/http/admission.ts). */
  readonly maxConcurrentRequests: number;
  /** Processes serving the port on this host (node:cluster, src/cluster.ts); 1 runs no cluster. */
  readonly workers: number;
  /** After SIGTERM, how long requests in flight may take to finish before their connections are closed. */
  readonly shutdownGraceMs: number;
  readonly http: HttpLimits;
  readonly limits: Limits;
  readonly budget: { readonly viewer: BudgetPolicy; readonly anonymous: BudgetPolicy };
  /** Peers whose X-Forwarded-For names the client; empty: the socket's peer is the client. */
  readonly trustedProxies: readonly AddressRange[];
  /** Leading bits of an IPv6 address that name one anonymous client (src/request/client-address.ts). */
  readonly anonymousIpv6Prefix: number;
  readonly hardening: Hardening;
  readonly persisted: PersistedConfig;
  readonly cache: CacheConfig;
  readonly outbox: OutboxConfig;
  /** Undefined: no tracing, and no OpenTelemetry module loaded. */
  readonly tracing: TracingConfig | undefined;
}

/** The outbox relay (src/outbox/relay.ts). */
export interface OutboxConfig {
  /** How often the relay looks for events that no commit of this process woke it for (another's, or a crashed one's). */
  readonly pollMs: number;
  /** How long relayed events are kept before they are deleted. */
  readonly retentionMs: number;
}

/** Where spans go, when they go anywhere (OTEL_EXPORTER_OTLP_ENDPOINT set). */
export interface TracingConfig {
  /** The collector's base URL; spans are POSTed to `<endpoint>/v1/traces` (OTLP/HTTP, JSON). */
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  /** The share of new traces kept; a trace a client started keeps its own decision. */
  readonly sampleRatio: number;
}

export interface PersistedConfig {
  readonly mode: PersistedMode;
  /** Manifest files of trusted documents, absolute paths. */
  readonly manifests: readonly string[];
  /** How long an automatic persisted query stays registered after its registration. */
  readonly apqTtlSeconds: number;
  /** Documents the in-process APQ store keeps (least recently used go first); Redis bounds by time. */
  readonly apqMaxDocuments: number;
}

export interface CacheConfig {
  /** Queries over GET answered from the response cache (src/cache/). */
  readonly responses: boolean;
  /** Entries the in-process response cache keeps; Redis bounds by time (each entry's max-age). */
  readonly maxEntries: number;
  /** Users by id kept this long behind the loader (cache-aside); 0 turns it off. */
  readonly userTtlSeconds: number;
}

/** An address (`10.0.0.5`, `::1`) or a CIDR range (`10.0.0.0/8`, `fd00::/8`), or undefined when it is neither. */
export function parseAddressRange(text: string): AddressRange | undefined {
  const [address = '', bits, ...rest] = text.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return undefined;
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

export interface AddressRange {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** What one client's connection may hold of the server before its request is whole (src/http/). */
export interface HttpLimits {
  /** The whole request, headers and body, must arrive within this; else 408 and the connection closes. */
  readonly requestTimeoutMs: number;
  /** The headers must arrive within this (a connection that sends nothing is closed after it too). */
  readonly headersTimeoutMs: number;
  /** Bytes of request bodies read and not yet handed on, in all: past it a body is refused with 503. */
  readonly bodyBytesInFlight: number;
  /** The same for one client (src/request/client-address.ts): past it, 429. */
  readonly bodyBytesInFlightPerClient: number;
}

/** What one operation may be, before it runs (README "Limits" lists each with its code). */
export interface Limits {
  /** Characters of the document, checked before it is parsed. */
  readonly maxDocumentLength: number;
  /** Lexical tokens of the document; the parser stops at this many. */
  readonly maxTokens: number;
  /** Nesting of selection sets (fragments expanded, introspection included). */
  readonly maxDepth: number;
  /** Aliased fields, `__typename` included. */
  readonly maxAliases: number;
  /** Directives used in the operation, fragments expanded. */
  readonly maxDirectives: number;
  /** Fields at the root of the operation. */
  readonly maxRootFields: number;
  /** Fields in any one selection set, fragments expanded. */
  readonly maxSelections: number;
  /** Requested (static) cost of one operation, in points. */
  readonly maxCost: number;
  /** The longest string a variable may hold. */
  readonly maxStringVariableLength: number;
  /** Operations in one batched request; 0 turns batching off. */
  readonly maxBatchOperations: number;
  /** Errors in one response; the rest are summed up in one last error. */
  readonly maxErrors: number;
}

/** A client's bucket: this many points at most, restored at this rate per second. */
export interface BudgetPolicy {
  readonly capacity: number;
  readonly restorePerSecond: number;
}

export interface Hardening {
  /** `__schema` and `__type` answered (off in production). */
  readonly introspection: boolean;
  /** "Did you mean …?" left in error messages (off in production). */
  readonly fieldSuggestions: boolean;
  readonly graphiql: boolean;
  /** Whole documents over GET (off in production, where GET carries a persisted operation's id). */
  readonly getQueries: boolean;
  /** Limit errors say the measured value and the limit (off in production, except for cost). */
  readonly limitDetails: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A URL's user and password, such as a bad DATABASE_URL's, never reach the message that names it. */
const withoutCredentials = (value: string) => value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@\s]*@/, '$1***@');

const flag = (value: 'true' | 'false' | undefined, otherwise: boolean) => (value === undefined ? otherwise : value === 'true');

/** The schema has let through at most one of the three. */
function redisTarget(env: z.infer<typeof envSchema>): RedisTarget | undefined {
  if (env.REDIS_URL) return { kind: 'single', url: env.REDIS_URL };
  if (env.REDIS_SENTINELS) return { kind: 'sentinel', sentinels: hostPortList(env.REDIS_SENTINELS), name: env.REDIS_SENTINEL_NAME ?? 'mymaster', password: env.REDIS_PASSWORD };
  if (env.REDIS_CLUSTER_NODES) return { kind: 'cluster', nodes: hostPortList(env.REDIS_CLUSTER_NODES), password: env.REDIS_PASSWORD };
  return undefined;
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const variable = issue.path.join('.') || '(environment)';
      const value = source[variable];
      const shown = value === undefined || /SECRET|PASSWORD/.test(variable) ? '' : ` (got ${JSON.stringify(withoutCredentials(value))})`;
      return `  ${variable}: ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  const production = env.NODE_ENV === 'production';
  const jwt: JwtConfig = env.JWT_JWKS_URL
    ? // Both are present: the schema refuses JWT_JWKS_URL without them.
      { kind: 'jwks', jwksUrl: env.JWT_JWKS_URL, issuer: env.JWT_ISSUER!, audience: env.JWT_AUDIENCE!, maxLifetimeSeconds: env.JWT_MAX_LIFETIME_SECONDS }
    : {
        kind: 'secret',
        secret: env.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET,
        issuer: env.JWT_ISSUER ?? DEFAULT_ISSUER,
        audience: env.JWT_AUDIENCE ?? DEFAULT_AUDIENCE,
        maxLifetimeSeconds: env.JWT_MAX_LIFETIME_SECONDS,
        development: env.JWT_SECRET === undefined,
      };
  return Object.freeze({
    env: env.NODE_ENV,
    port: env.PORT,
    // The development JWT secret is public: a server using it must not be reachable from the network by
    // default. In production (a container, behind a load balancer) all interfaces is what is wanted.
    host: env.HOST ?? (env.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
    database: env.DATABASE_URL
      ? {
          kind: 'postgres',
          url: env.DATABASE_URL,
          poolMax: env.POOL_MAX,
          statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
          connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
          replicaUrls: Object.freeze(env.DATABASE_REPLICA_URLS?.split(',').map((entry) => entry.trim()) ?? []),
          afterWriteMs: env.REPLICA_AFTER_WRITE_MS,
        }
      : { kind: 'pglite', dataDir: env.PGLITE_DIR },
    redis: redisTarget(env),
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    jwt,
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'silent' : 'info'),
    unbatchedLoaders: env.UNBATCHED_LOADERS === 'true',
    disabledStages: new Set((env.DISABLE_STAGES?.split(',') ?? []).map((stage) => stage.trim() as Stage)),
    maxMoneyAmount: BigInt(env.MAX_MONEY_AMOUNT),
    maxConcurrentRequests: env.MAX_CONCURRENT_REQUESTS,
    workers: env.WORKERS,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    http: Object.freeze({
      requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
      headersTimeoutMs: env.HEADERS_TIMEOUT_MS,
      bodyBytesInFlight: env.MAX_BODY_BYTES_IN_FLIGHT,
      bodyBytesInFlightPerClient: env.MAX_BODY_BYTES_IN_FLIGHT_PER_CLIENT,
    }),
    limits: Object.freeze({
      maxDocumentLength: env.MAX_DOCUMENT_LENGTH,
      maxTokens: env.MAX_TOKENS,
      maxDepth: env.MAX_DEPTH,
      maxAliases: env.MAX_ALIASES,
      maxDirectives: env.MAX_DIRECTIVES,
      maxRootFields: env.MAX_ROOT_FIELDS,
      maxSelections: env.MAX_SELECTIONS,
      maxCost: env.MAX_COST,
      maxStringVariableLength: env.MAX_STRING_VARIABLE_LENGTH,
      maxBatchOperations: env.MAX_BATCH_OPERATIONS,
      maxErrors: env.MAX_ERRORS,
    }),
    budget: Object.freeze({
      viewer: Object.freeze({ capacity: env.COST_BUDGET_VIEWER, restorePerSecond: env.COST_RESTORE_VIEWER }),
      anonymous: Object.freeze({ capacity: env.COST_BUDGET_ANONYMOUS, restorePerSecond: env.COST_RESTORE_ANONYMOUS }),
    }),
    trustedProxies: Object.freeze((env.TRUSTED_PROXIES?.split(',') ?? []).map((entry) => parseAddressRange(entry.trim())!)),
    anonymousIpv6Prefix: env.ANONYMOUS_IPV6_PREFIX,
    hardening: Object.freeze({
      introspection: flag(env.INTROSPECTION, !production),
      fieldSuggestions: flag(env.FIELD_SUGGESTIONS, !production),
      graphiql: flag(env.GRAPHIQL, !production),
      getQueries: flag(env.GET_QUERIES, !production),
      limitDetails: flag(env.LIMIT_DETAILS, !production),
    }),
    persisted: Object.freeze({
      mode: env.PERSISTED_OPERATIONS ?? (production ? 'trusted' : 'open'),
      manifests: Object.freeze(env.PERSISTED_MANIFESTS?.split(',').map((path) => resolve(path.trim())) ?? [DEFAULT_MANIFEST]),
      apqTtlSeconds: env.APQ_TTL_SECONDS,
      apqMaxDocuments: env.APQ_MAX_DOCUMENTS,
    }),
    outbox: Object.freeze({ pollMs: env.OUTBOX_POLL_MS, retentionMs: env.OUTBOX_RETENTION_HOURS * 3_600_000 }),
    cache: Object.freeze({
      responses: flag(env.RESPONSE_CACHE, true),
      maxEntries: env.RESPONSE_CACHE_MAX_ENTRIES,
      userTtlSeconds: env.USER_CACHE_TTL_SECONDS,
    }),
    tracing: env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? Object.freeze({
          endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
          headers: Object.freeze(
            Object.fromEntries(
              (env.OTEL_EXPORTER_OTLP_HEADERS?.split(',') ?? []).map((pair) => {
                const at = pair.indexOf('=');
                return [decodeURIComponent(pair.slice(0, at).trim()), decodeURIComponent(pair.slice(at + 1).trim())];
              }),
            ),
          ),
          serviceName: env.OTEL_SERVICE_NAME,
          sampleRatio: env.OTEL_TRACES_SAMPLER_ARG,
        })
      : undefined,
  } satisfies Config);
}

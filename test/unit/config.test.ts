import { describe, expect, it } from 'vitest';
import { ConfigError, DEVELOPMENT_JWT_SECRET, loadConfig } from '../../src/config.js';

const SECRET = 'a-production-secret-of-at-least-32-chars';

/** The ConfigError loadConfig throws for this environment (fails the test when it does not throw one). */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  it('runs with no configuration at all: port 4000, embedded PGlite, development secret', () => {
    const config = loadConfig({});
    expect(config.env).toBe('development');
    expect(config.port).toBe(4000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.database).toEqual({ kind: 'pglite', dataDir: '.data/pglite' });
    expect(config.redis).toBeUndefined();
    expect(config.jwt).toEqual({ kind: 'secret', secret: DEVELOPMENT_JWT_SECRET, issuer: 'tally', audience: 'tally-api', maxLifetimeSeconds: 2_592_000, development: true });
    expect(config.logLevel).toBe('info');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('uses PostgreSQL with a pool of 10 when DATABASE_URL is set', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://app@db:5432/tally' });
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgres://app@db:5432/tally',
      poolMax: 10,
      statementTimeoutMs: 5000,
      connectTimeoutMs: 5000,
      replicaUrls: [],
      afterWriteMs: 5000,
    });
  });

  it('reads the replicas of DATABASE_REPLICA_URLS, and how long a writer keeps to the primary', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://app@primary/tally',
      DATABASE_REPLICA_URLS: 'postgres://app@replica-1/tally, postgresql://app@replica-2/tally',
      REPLICA_AFTER_WRITE_MS: '2000',
    });
    expect(config.database).toMatchObject({ replicaUrls: ['postgres://app@replica-1/tally', 'postgresql://app@replica-2/tally'], afterWriteMs: 2000 });
  });

  it('reads the outbox relay\'s settings: how often it polls, how long relayed events are kept', () => {
    expect(loadConfig({}).outbox).toEqual({ pollMs: 1_000, retentionMs: 24 * 3_600_000 });
    expect(loadConfig({ OUTBOX_POLL_MS: '250', OUTBOX_RETENTION_HOURS: '48' }).outbox).toEqual({ pollMs: 250, retentionMs: 48 * 3_600_000 });
  });

  it('reads one Redis, the Sentinels that name its primary, or a Redis Cluster', () => {
    expect(loadConfig({ REDIS_URL: 'redis://:secret@cache:6379/0' }).redis).toEqual({ kind: 'single', url: 'redis://:secret@cache:6379/0' });
    expect(loadConfig({ REDIS_SENTINELS: 'sentinel-1:26379, 10.0.0.2:26380,[fd00::3]:26379', REDIS_PASSWORD: 'secret' }).redis).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: 'fd00::3', port: 26379 },
      ],
      name: 'mymaster',
      password: 'secret',
    });
    expect(loadConfig({ REDIS_SENTINELS: 'sentinel-1:26379', REDIS_SENTINEL_NAME: 'tally' }).redis).toMatchObject({ name: 'tally', password: undefined });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'node-1:6379,node-2:6379' }).redis).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'node-1', port: 6379 },
        { host: 'node-2', port: 6379 },
      ],
      password: undefined,
    });
  });

  it('treats an empty DATABASE_URL as unset', () => {
    expect(loadConfig({ DATABASE_URL: '' }).database.kind).toBe('pglite');
  });

  it('listens on loopback only outside production (the development JWT secret is public), on all interfaces in production', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).host).toBe('127.0.0.1');
    expect(loadConfig({ NODE_ENV: 'test' }).host).toBe('127.0.0.1');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, JWT_ISSUER: 'tally', JWT_AUDIENCE: 'tally-api' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ NODE_ENV: 'production', HOST: '10.0.0.5', JWT_SECRET: SECRET, JWT_ISSUER: 'tally', JWT_AUDIENCE: 'tally-api' }).host).toBe('10.0.0.5');
  });

  const VARIABLES = [
    'NODE_ENV', 'PORT', 'HOST', 'DATABASE_URL', 'PGLITE_DIR', 'POOL_MAX', 'DB_STATEMENT_TIMEOUT_MS', 'DATABASE_REPLICA_URLS',
    'REPLICA_AFTER_WRITE_MS', 'REDIS_URL', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_CLUSTER_NODES', 'REDIS_PASSWORD',
    'JWT_SECRET', 'JWT_JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE', 'LOG_LEVEL', 'UNBATCHED_LOADERS', 'DISABLE_STAGES',
    'MAX_DOCUMENT_LENGTH', 'MAX_TOKENS', 'MAX_DEPTH', 'MAX_ALIASES', 'MAX_DIRECTIVES', 'MAX_ROOT_FIELDS', 'MAX_SELECTIONS', 'MAX_COST',
    'MAX_STRING_VARIABLE_LENGTH', 'MAX_BATCH_OPERATIONS', 'MAX_ERRORS', 'COST_BUDGET_VIEWER', 'COST_RESTORE_VIEWER',
    'COST_BUDGET_ANONYMOUS', 'COST_RESTORE_ANONYMOUS', 'TRUSTED_PROXIES', 'INTROSPECTION', 'FIELD_SUGGESTIONS', 'GRAPHIQL',
    'GET_QUERIES', 'LIMIT_DETAILS', 'OUTBOX_POLL_MS', 'OUTBOX_RETENTION_HOURS',
  ];

  it.each(VARIABLES.flatMap((variable) => [[variable, ''], [variable, '  ']]))('treats %s=%j as unset', (variable, value) => {
    expect(loadConfig({ [variable]: value })).toEqual(loadConfig({}));
  });

  it('treats empty values as unset in production too (HOST, issuer and audience keep their rules)', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: SECRET, JWT_ISSUER: 'tally', JWT_AUDIENCE: 'tally-api' };
    expect(loadConfig({ ...production, HOST: '', LOG_LEVEL: '', PGLITE_DIR: '' })).toEqual(loadConfig(production));
    expect(configError({ ...production, JWT_ISSUER: '' }).message).toContain('JWT_ISSUER:');
  });

  it('treats an empty PORT as unset, not as port 0 (a random port)', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(4000);
  });

  it('reads numbers, and is silent under test', () => {
    const config = loadConfig({ NODE_ENV: 'test', PORT: '8080', POOL_MAX: '25', DATABASE_URL: 'postgresql://x/y' });
    expect(config.port).toBe(8080);
    expect(config.database).toMatchObject({ kind: 'postgres', poolMax: 25 });
    expect(config.logLevel).toBe('silent');
  });

  it('uses the JWKS of an identity provider when JWT_JWKS_URL is set', () => {
    const config = loadConfig({ JWT_JWKS_URL: 'https://idp.example/.well-known/jwks.json', JWT_ISSUER: 'https://idp.example/', JWT_AUDIENCE: 'tally' });
    expect(config.jwt).toEqual({ kind: 'jwks', jwksUrl: 'https://idp.example/.well-known/jwks.json', issuer: 'https://idp.example/', audience: 'tally', maxLifetimeSeconds: 2_592_000 });
  });

  it('accepts a complete production configuration', () => {
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, JWT_ISSUER: 'tally', JWT_AUDIENCE: 'tally-api' });
    expect(config.jwt).toMatchObject({ kind: 'secret', secret: SECRET, development: false });
  });
});

describe('loadConfig refuses bad values, naming the variable', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['POOL_MAX', '0'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://cache:6379'],
    ['JWT_JWKS_URL', 'ftp://idp/jwks'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'verbose'],
    ['DB_CONNECT_TIMEOUT_MS', '10'],
    ['SHUTDOWN_GRACE_MS', '-1'],
    ['WORKERS', '0'],
    ['REDIS_KEY_PREFIX', 'tally:{slot}:'],
    ['DATABASE_REPLICA_URLS', 'postgres://replica/tally,mysql://other'],
    ['REPLICA_AFTER_WRITE_MS', '-5'],
    ['OUTBOX_POLL_MS', '10'],
    ['OUTBOX_RETENTION_HOURS', '0'],
    ['REDIS_SENTINELS', 'sentinel-1'],
    ['REDIS_SENTINELS', 'sentinel-1:26379,sentinel-2:99999'],
    ['REDIS_CLUSTER_NODES', 'redis://node-1:6379'],
  ])('%s=%j', (variable, value) => {
    const error = configError({ [variable]: value });
    expect(error.message).toContain(`${variable}:`);
    expect(error.message).toContain(JSON.stringify(value));
  });

  it('a JWT_SECRET shorter than 32 characters, without echoing the secret', () => {
    const error = configError({ JWT_SECRET: 'short-secret' });
    expect(error.message).toContain('JWT_SECRET:');
    expect(error.message).toMatch(/32/);
    expect(error.message).not.toContain('short-secret');
  });

  it('WORKERS above 1 without PostgreSQL and Redis to share state through', () => {
    expect(configError({ WORKERS: '2' }).message).toMatch(/WORKERS: more than 1 needs DATABASE_URL[\s\S]*WORKERS: more than 1 needs REDIS_URL/);
    expect(configError({ WORKERS: '2', DATABASE_URL: 'postgres://db/tally' }).message).toContain('needs REDIS_URL');
    expect(loadConfig({ WORKERS: '2', DATABASE_URL: 'postgres://db/tally', REDIS_URL: 'redis://cache' }).workers).toBe(2);
    expect(loadConfig({ WORKERS: '2', DATABASE_URL: 'postgres://db/tally', REDIS_SENTINELS: 'sentinel-1:26379' }).workers).toBe(2);
    expect(loadConfig({ WORKERS: '2', DATABASE_URL: 'postgres://db/tally', REDIS_CLUSTER_NODES: 'node-1:6379' }).workers).toBe(2);
  });

  it('a URL that holds a password, without echoing it', () => {
    const error = configError({ DATABASE_URL: 'mysql://tally:hunter2-hunter2@db/tally', REDIS_URL: 'http://:hunter3@cache:6379' });
    expect(error.message).toContain('DATABASE_URL: must be a URL starting with postgres:// or postgresql:// (got "mysql://***@db/tally")');
    expect(error.message).toContain('(got "http://***@cache:6379")');
    expect(error.message).not.toMatch(/hunter/);
  });

  it('REDIS_SENTINEL_NAME without Sentinels to ask', () => {
    expect(configError({ REDIS_SENTINEL_NAME: 'tally' }).message).toContain('REDIS_SENTINEL_NAME: needs REDIS_SENTINELS');
    expect(loadConfig({ REDIS_SENTINELS: 'sentinel-1:26379', REDIS_PASSWORD: ' spaced ' }).redis).toMatchObject({ password: ' spaced ' });
  });

  it('more than one Redis, or REDIS_PASSWORD where the URL holds it, without echoing the password', () => {
    expect(configError({ REDIS_URL: 'redis://cache', REDIS_CLUSTER_NODES: 'node-1:6379' }).message).toContain('REDIS_CLUSTER_NODES: set one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES');
    const error = configError({ REDIS_URL: 'redis://cache', REDIS_PASSWORD: 'hunter2-hunter2' });
    expect(error.message).toContain('REDIS_PASSWORD: is for REDIS_SENTINELS or REDIS_CLUSTER_NODES');
    expect(error.message).not.toContain('hunter2');
  });

  it('DATABASE_REPLICA_URLS without a primary (DATABASE_URL) for them to copy', () => {
    expect(configError({ DATABASE_REPLICA_URLS: 'postgres://replica/tally' }).message).toContain('DATABASE_REPLICA_URLS: needs DATABASE_URL');
  });

  it('both JWT_SECRET and JWT_JWKS_URL', () => {
    const error = configError({ JWT_SECRET: SECRET, JWT_JWKS_URL: 'https://idp.example/jwks' });
    expect(error.message).toContain('JWT_JWKS_URL:');
    expect(error.message).not.toContain(SECRET);
  });

  it('production without any JWT configuration (no development secret there)', () => {
    const error = configError({ NODE_ENV: 'production', JWT_ISSUER: 'tally', JWT_AUDIENCE: 'tally-api' });
    expect(error.message).toContain('JWT_SECRET:');
  });

  it('JWT_JWKS_URL without issuer or audience, in development too', () => {
    const jwks = 'https://idp.example/.well-known/jwks.json';
    const both = configError({ JWT_JWKS_URL: jwks });
    expect(both.message).toContain('JWT_ISSUER:');
    expect(both.message).toContain('JWT_AUDIENCE:');
    expect(configError({ NODE_ENV: 'development', JWT_JWKS_URL: jwks, JWT_AUDIENCE: 'tally' }).message).toContain('JWT_ISSUER:');
    expect(configError({ NODE_ENV: 'test', JWT_JWKS_URL: jwks, JWT_ISSUER: 'https://idp.example/' }).message).toContain('JWT_AUDIENCE:');
    expect(configError({ JWT_JWKS_URL: jwks, JWT_ISSUER: '', JWT_AUDIENCE: 'tally' }).message).toContain('JWT_ISSUER:');
  });

  it('production without issuer or audience', () => {
    expect(configError({ NODE_ENV: 'production', JWT_SECRET: SECRET, JWT_AUDIENCE: 'tally-api' }).message).toContain('JWT_ISSUER:');
    expect(configError({ NODE_ENV: 'production', JWT_SECRET: SECRET, JWT_ISSUER: 'tally' }).message).toContain('JWT_AUDIENCE:');
  });

  it('lists every bad variable at once', () => {
    const error = configError({ PORT: 'abc', DATABASE_URL: 'mysql://x' });
    expect(error.message).toContain('PORT:');
    expect(error.message).toContain('DATABASE_URL:');
  });
});

describe('limits, budgets and hardening', () => {
  const production = { NODE_ENV: 'production', JWT_SECRET: SECRET, JWT_ISSUER: 'tally', JWT_AUDIENCE: 'tally-api' };

  it('defaults to the documented limits and budgets', () => {
    const config = loadConfig({});
    expect(config.limits).toEqual({
      maxDocumentLength: 100_000,
      maxTokens: 5_000,
      maxDepth: 12,
      maxAliases: 30,
      maxDirectives: 50,
      maxRootFields: 10,
      maxSelections: 100,
      maxCost: 1_000,
      maxStringVariableLength: 10_000,
      maxBatchOperations: 0,
      maxErrors: 20,
    });
    expect(config.budget).toEqual({ viewer: { capacity: 1_000, restorePerSecond: 50 }, anonymous: { capacity: 200, restorePerSecond: 10 } });
    expect(config.trustedProxies).toEqual([]);
    expect(config.anonymousIpv6Prefix).toBe(64);
  });

  it('hardens production by default, each switch on its own', () => {
    const off = { introspection: false, fieldSuggestions: false, graphiql: false, getQueries: false, limitDetails: false };
    const on = { introspection: true, fieldSuggestions: true, graphiql: true, getQueries: true, limitDetails: true };
    expect(loadConfig(production).hardening).toEqual(off);
    expect(loadConfig({}).hardening).toEqual(on);
    expect(loadConfig({ ...production, INTROSPECTION: 'true' }).hardening).toEqual({ ...off, introspection: true });
    expect(loadConfig({ GET_QUERIES: 'false' }).hardening).toEqual({ ...on, getQueries: false });
    expect(configError({ INTROSPECTION: 'yes' }).message).toContain('INTROSPECTION:');
  });

  it('reads trusted proxies as addresses and CIDR ranges, and refuses anything else', () => {
    expect(loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, ::1,192.168.1.7' }).trustedProxies).toEqual([
      { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { address: '::1', prefix: 128, family: 'ipv6' },
      { address: '192.168.1.7', prefix: 32, family: 'ipv4' },
    ]);
    for (const bad of ['10.0.0.0/33', 'proxy.internal', '10.0.0/8', '::1/129', '1.2.3.4/8/8']) {
      expect(configError({ TRUSTED_PROXIES: bad }).message).toContain('TRUSTED_PROXIES:');
    }
  });

  it('reads the IPv6 prefix that names one anonymous client, 1 to 128 bits', () => {
    expect(loadConfig({ ANONYMOUS_IPV6_PREFIX: '48' }).anonymousIpv6Prefix).toBe(48);
    expect(loadConfig({ ANONYMOUS_IPV6_PREFIX: '128' }).anonymousIpv6Prefix).toBe(128);
    for (const bad of ['0', '129', '64.5', 'wide']) {
      expect(configError({ ANONYMOUS_IPV6_PREFIX: bad }).message).toContain('ANONYMOUS_IPV6_PREFIX:');
    }
  });

  it('refuses limits out of range', () => {
    expect(configError({ MAX_DEPTH: '1' }).message).toContain('MAX_DEPTH:');
    expect(configError({ MAX_COST: '0' }).message).toContain('MAX_COST:');
    expect(configError({ MAX_BATCH_OPERATIONS: '101' }).message).toContain('MAX_BATCH_OPERATIONS:');
  });

  it('lets load tests turn stages off, never in production', () => {
    expect([...loadConfig({ DISABLE_STAGES: 'limits, budget' }).disabledStages]).toEqual(['limits', 'budget']);
    expect(configError({ DISABLE_STAGES: 'auth' }).message).toContain('DISABLE_STAGES:');
    expect(configError({ ...production, DISABLE_STAGES: 'budget' }).message).toContain('never allowed in production');
  });
});

/**
 * The entry point: the config first, then tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set, and only then the server
 * (src/serve.ts). The order matters: OpenTelemetry's instrumentations patch modules as they load, so nothing they
 * patch (node:http's server, pg, ioredis, graphql) may load before src/observability/tracing.ts has run. Without tracing neither
 * the SDK nor an instrumentation loads.
 */
import cluster from 'node:cluster';
import { runCli } from './cli/run.js';
import { loadConfig } from './config.js';

await runCli(async () => {
  const config = loadConfig();
  // A cluster's primary serves nothing (src/cluster.ts): only what serves requests is traced.
  const serving = config.workers === 1 || cluster.isWorker;
  const tracing = config.tracing && serving ? (await import('./observability/tracing.js')).startTracing(config.tracing) : undefined;
  const { serve } = await import('./serve.js');
  await serve(config, tracing);
});
// A start that failed (a database not there, not migrated) must end the process, whatever handles it opened.
if (process.exitCode) process.exit();

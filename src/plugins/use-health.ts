/**
 * `/healthz`: the process is alive (no I/O). `/readyz`: the process can serve, i.e. the database answers; a load
 * balancer stops routing to an instance whose readiness fails. A check that only degrades service (Redis: every
 * use has a fallback) is reported but keeps the instance ready ("degraded"): were Redis to fail readiness, an
 * outage of it would take every instance out of the load balancer at once, although each could serve.
 */
import type { Plugin } from 'graphql-yoga';
import type { ReadinessCheck } from '../observability/readiness.js';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } });

export function useHealth(readinessChecks: readonly ReadinessCheck[], timeoutMs = 2_000): Plugin {
  return {
    async onRequest(event) {
      const { url } = event;
      if (url.pathname === '/healthz') {
        event.endResponse(json(200, { status: 'ok' }));
      } else if (url.pathname === '/readyz') {
        const results = await Promise.all(
          readinessChecks.map(async (readiness) => {
            try {
              await Promise.race([
                readiness.check(),
                new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref()),
              ]);
              return { readiness, status: 'ok' } as const;
            } catch {
              return { readiness, status: 'unavailable' } as const;
            }
          }),
        );
        const failed = results.filter(({ status }) => status !== 'ok');
        const ready = failed.every(({ readiness }) => readiness.degrades === true);
        const status = !ready ? 'not ready' : failed.length > 0 ? 'degraded' : 'ready';
        const checks = Object.fromEntries(results.map(({ readiness, status: result }) => [readiness.name, result]));
        event.endResponse(json(ready ? 200 : 503, { status, checks }));
      }
    },
  };
}

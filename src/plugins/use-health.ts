/**
 * `/healthz`: the process is alive (no I/O). `/readyz`: the process can serve, i.e. the database (and Redis,
 * when configured) answer; a load balancer stops routing to an instance whose readiness fails.
 */
import type { Plugin } from 'graphql-yoga';

export interface ReadinessCheck {
  readonly name: string;
  readonly check: () => Promise<void>;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } });

export function useHealth(checks: readonly ReadinessCheck[], timeoutMs = 2_000): Plugin {
  return {
    async onRequest(event) {
      const { url } = event;
      if (url.pathname === '/healthz') {
        event.endResponse(json(200, { status: 'ok' }));
      } else if (url.pathname === '/readyz') {
        const results = await Promise.all(
          checks.map(async (readiness) => {
            try {
              await Promise.race([
                readiness.check(),
                new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref()),
              ]);
              return [readiness.name, 'ok'] as const;
            } catch {
              return [readiness.name, 'unavailable'] as const;
            }
          }),
        );
        const ready = results.every(([, status]) => status === 'ok');
        event.endResponse(json(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) }));
      }
    },
  };
}

/**
 * Admission control in front of yoga: at most `limit` GraphQL requests run at once, the rest wait in arrival
 * order before any work is done for them. With 1,000 connections and 10 database connections, letting every
 * request start means each of its SQL round trips joins the back of the pool's queue again: a request with three
 * round trips waits three times (p99 16 s against a mean of 2.4 s in seed-challenge), and a thousand half-done
 * requests hold their memory. A queued request costs only its socket; an admitted one runs at full speed.
 * Other paths (/healthz, /readyz, /metrics) are never queued: a busy server must still look alive.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

export interface AdmissionOptions {
  /** Requests running at once; the rest wait. */
  readonly limit: number;
  /** The path whose requests are admitted in turn (yoga's GraphQL endpoint). */
  readonly path: string;
}

export function withAdmission(handler: RequestListener, { limit, path }: AdmissionOptions): RequestListener {
  let running = 0;
  const waiting: [IncomingMessage, ServerResponse][] = [];

  const admitNext = () => {
    while (running < limit && waiting.length > 0) {
      const [request, response] = waiting.shift()!;
      // A client that gave up while waiting takes no turn.
      if (!response.destroyed) run(request, response);
    }
  };

  const run = (request: IncomingMessage, response: ServerResponse) => {
    running += 1;
    let finished = false;
    const release = () => {
      if (finished) return;
      finished = true;
      running -= 1;
      admitNext();
    };
    response.once('finish', release);
    response.once('close', release);
    handler(request, response);
  };

  return (request, response) => {
    const target = request.url ?? '/';
    const onPath = target === path || target.startsWith(`${path}?`);
    if (!onPath) return handler(request, response);
    if (running < limit) run(request, response);
    else waiting.push([request, response]);
  };
}

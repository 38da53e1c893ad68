/**
 * Admission control in front of yoga: at most `limit` GraphQL requests run at once, the rest wait in arrival
 * order before any work is done for them. With 1,000 connections and 10 database connections, letting every
 * request start means each of its SQL round trips joins the back of the pool's queue again: a request with three
 * round trips waits three times (p99 16 s against a mean of 2.4 s in seed-challenge), and a thousand half-done
 * requests hold their memory. A queued request costs only its socket; an admitted one runs at full speed.
 * Other paths (/healthz, /readyz, /metrics) are never queued: a busy server must still look alive.
 *
 * It sits behind the body reader (a slow body must not hold a turn) and a turn ends when the handler's work ends,
 * not when the client leaves: a client that gives up does not stop the execution or transaction it started.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A node:http handler; yoga's returns a promise that settles when its work for the request is done. */
export type Handler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface AdmissionOptions {
  /** Requests running at once; the rest wait. */
  readonly limit: number;
  /** Paths never queued (health checks, metrics). */
  readonly exempt: readonly string[];
}

/** Whether the request's path (its query string aside) is one of `exempt`. */
export const isExempt = (request: IncomingMessage, exempt: readonly string[]): boolean => exempt.includes((request.url ?? '/').split('?', 1)[0]!);

export function withAdmission(handler: Handler, { limit, exempt }: AdmissionOptions): Handler {
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
    let work: unknown;
    try {
      work = handler(request, response);
    } catch (error) {
      release();
      throw error;
    }
    if (work instanceof Promise) {
      // The handler's own failures are its to report; here they only end the turn.
      work.then(release, release);
    } else {
      response.once('finish', release);
      response.once('close', release);
    }
  };

  return (request, response) => {
    if (isExempt(request, exempt)) return handler(request, response);
    if (running < limit) run(request, response);
    else waiting.push([request, response]);
  };
}

/**
 * Where a client that keeps asking after the cost budget refused it waits. The budget stage answers a client
 * short of points with 429 and a Retry-After (src/plugins/use-cost-budget.ts) and tells this box when that is; a
 * request from the same client that arrives before then is held here, in front of admission and before any
 * work, until then or for HOLD_MS at most, and handed on: the budget admits it if the points are back, or
 * refuses it again with a Retry-After true at that moment. Nothing else is slowed.
 *
 * Without it, one client that never pauses was refused about 2,650 times a second at some 265 µs of CPU each
 * (auth, parse, Redis, the error): a saturated event loop that took the other clients' p99 from 6.8 to 13-26 ms
 * in the rate-limit scenario (loadtest/reports/rate-limit.md). Held requests cost a socket and a timer.
 *
 * A client is its token's viewer (see clientKey), else its address. Held requests are bounded per client and
 * in all; past either bound the request is refused at once, with the same truthful Retry-After.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientAddress } from './client-address.js';
import type { Handler } from './admission.js';
import { parsePositiveId } from './ids.js';
import { requestIdFor } from './plugins/use-request-id.js';

/**
 * The longest one request is held. A client that never pauses then costs the server 1 refusal per held
 * connection every quarter second (16 connections: 64 refusals/s, under 2% of a core) instead of thousands, and
 * a client that does wait as told is never held at all.
 */
const HOLD_MS = 250;
/** Requests held for one client: a browser's or an app's concurrency, not a script's. */
const MAX_HELD_PER_CLIENT = 16;
/** Requests held in all (each a socket and a small closure). */
const MAX_HELD = 10_000;
/** Clients remembered; past this, those whose time has come are forgotten first. */
const MAX_CLIENTS = 100_000;

export interface PenaltyBox {
  /** The client `key` was refused and told to come back at `untilMs` (epoch ms). */
  hold(key: string, untilMs: number): void;
  /** When the client `key` may be served again; undefined when it may be now. */
  heldUntil(key: string): number | undefined;
}

/**
 * The client a request comes from, named as the budget names it (`viewer:<id>`, else `ip:<address>`), read from
 * the token's `sub` without verifying it: only a verified refusal places a hold, so a forged `sub` can only delay
 * its forger, and respelling the header (case, spaces) no longer makes a new client.
 */
export function clientKey(authorization: string | null | undefined, address: string): string {
  const token = authorization ? /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(authorization)?.[1] : undefined;
  const payload = token?.split('.')[1];
  if (payload) {
    try {
      const { sub } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown };
      const id = typeof sub === 'string' ? parsePositiveId(sub) : undefined;
      if (id !== undefined) return `viewer:${id}`;
    } catch {
      // Not a JWT: auth refuses it; until then it is its address's.
    }
  }
  return `ip:${address}`;
}

export function createPenaltyBox(now: () => number = Date.now): PenaltyBox {
  const until = new Map<string, number>();
  return {
    hold(key, untilMs) {
      if (until.size >= MAX_CLIENTS) {
        const time = now();
        for (const [client, at] of until) if (at <= time) until.delete(client);
      }
      if (until.size < MAX_CLIENTS || until.has(key)) until.set(key, Math.max(untilMs, until.get(key) ?? 0));
    },
    heldUntil(key) {
      const at = until.get(key);
      if (at === undefined) return undefined;
      if (at > now()) return at;
      until.delete(key);
      return undefined;
    },
  };
}

export interface PenaltyBoxOptions {
  readonly box: PenaltyBox;
  readonly clientAddress: ClientAddress;
  /** Paths never held (health checks, metrics). */
  readonly exempt: readonly string[];
}

function refuseNow(request: IncomingMessage, response: ServerResponse, waitMs: number): void {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  const body = JSON.stringify({
    errors: [
      {
        message: `Rate limited: this client was told to retry in ${seconds} s and has too many requests waiting already.`,
        extensions: { code: 'RATE_LIMITED', retryAfterSeconds: seconds },
      },
    ],
  });
  const sent = request.headers['x-request-id'];
  response.writeHead(429, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'retry-after': String(seconds),
    'x-request-id': requestIdFor(typeof sent === 'string' ? sent : undefined),
  });
  response.end(body);
}

export function withPenaltyBox(handler: Handler, { box, clientAddress, exempt }: PenaltyBoxOptions): Handler {
  const heldPerClient = new Map<string, number>();
  let held = 0;

  return (request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0]!;
    if (exempt.includes(path)) return handler(request, response);
    const forwarded = request.headers['x-forwarded-for'];
    const key = clientKey(request.headers.authorization, clientAddress(request.socket.remoteAddress, typeof forwarded === 'string' ? forwarded : null));
    const until = box.heldUntil(key);
    if (until === undefined) return handler(request, response);

    const waiting = heldPerClient.get(key) ?? 0;
    if (waiting >= MAX_HELD_PER_CLIENT || held >= MAX_HELD) {
      refuseNow(request, response, until - Date.now());
      return;
    }
    heldPerClient.set(key, waiting + 1);
    held += 1;
    let released = false;
    const release = () => {
      if (released) return false;
      released = true;
      held -= 1;
      const left = (heldPerClient.get(key) ?? 1) - 1;
      if (left > 0) heldPerClient.set(key, left);
      else heldPerClient.delete(key);
      return true;
    };
    const timer = setTimeout(() => {
      // A client that gave up while held takes no turn.
      if (release() && !response.destroyed) void handler(request, response);
    }, Math.min(until - Date.now(), HOLD_MS));
    response.once('close', () => {
      if (release()) clearTimeout(timer);
    });
  };
}

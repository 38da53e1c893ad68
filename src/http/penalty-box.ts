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
 * A client is named as the budget names it (src/request/client.ts), its viewer read from the token's `sub`
 * unverified (src/auth/viewer.ts), else its address. Held requests are bounded per client and
 * in all; past either bound the request is refused at once, with the same truthful Retry-After.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientAddress } from '../request/client-address.js';
import { isExempt, type Handler } from './admission.js';
import type { Refuse } from './errors.js';
import type { Hold, PenaltyBox } from '../store/penalty-box.js';
import { unverifiedViewerId } from '../auth/viewer.js';
import { addressOf, clientKey } from '../request/client.js';

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
export interface PenaltyBoxOptions {
  readonly box: PenaltyBox;
  readonly clientAddress: ClientAddress;
  /** Paths never held (health checks, metrics). */
  readonly exempt: readonly string[];
  readonly refuse: Refuse;
}

function refuseNow(refuse: Refuse, request: IncomingMessage, response: ServerResponse, hold: Hold): void {
  const time = Date.now();
  const seconds = Math.max(1, Math.ceil((hold.untilMs - time) / 1000));
  const error = {
    message: `Rate limited: this client was told to retry in ${seconds} s and has too many requests waiting already.`,
    extensions: { code: 'RATE_LIMITED', retryAfterSeconds: seconds },
  };
  // The budget's RateLimit fields, refilled since its refusal: the same meaning as on every other answer.
  const remaining = Math.min(hold.limit, hold.remaining + (Math.max(0, time - hold.atMs) * hold.restorePerSecond) / 1000);
  refuse(request, response, 429, error, {
    'retry-after': String(seconds),
    'ratelimit-limit': String(hold.limit),
    'ratelimit-remaining': String(Math.floor(remaining)),
    'ratelimit-reset': String(Math.ceil((hold.limit - remaining) / hold.restorePerSecond)),
  });
}

export function withPenaltyBox(handler: Handler, { box, clientAddress, exempt, refuse }: PenaltyBoxOptions): Handler {
  const heldPerClient = new Map<string, number>();
  let held = 0;

  return (request, response) => {
    if (isExempt(request, exempt)) return handler(request, response);
    const key = clientKey(unverifiedViewerId(request.headers.authorization), () => addressOf(clientAddress, request));
    const hold = box.heldUntil(key);
    if (hold === undefined) return handler(request, response);

    const waiting = heldPerClient.get(key) ?? 0;
    if (waiting >= MAX_HELD_PER_CLIENT || held >= MAX_HELD) {
      refuseNow(refuse, request, response, hold);
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
    }, Math.min(hold.untilMs - Date.now(), HOLD_MS));
    response.once('close', () => {
      if (release()) clearTimeout(timer);
    });
  };
}

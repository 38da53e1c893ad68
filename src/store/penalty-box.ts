/**
 * The penalty box's memory: which clients the cost budget refused, and until when (src/http/penalty-box.ts holds
 * their requests by it; src/cost/charge.ts places each hold). In-process: a hold only spares this instance the
 * work of refusing a client again and again, and the budget itself is shared (src/store/cost-bucket.ts).
 */
/** Clients remembered; past this, those whose time has come are forgotten first. */
const MAX_CLIENTS = 100_000;

/** A refusal the box holds a client to: when it may come back, and its bucket as the refusal left it. */
export interface Hold {
  /** Epoch ms. */
  readonly untilMs: number;
  /** Points in a full bucket, those left at the refusal, and its restore rate: what it holds later follows. */
  readonly limit: number;
  readonly remaining: number;
  readonly restorePerSecond: number;
  /** Epoch ms of the refusal. */
  readonly atMs: number;
}

export interface PenaltyBox {
  /** The client `key` was refused and told to come back at `hold.untilMs`. */
  hold(key: string, hold: Hold): void;
  /** The client's hold; undefined when it may be served now. */
  heldUntil(key: string): Hold | undefined;
}

export function createPenaltyBox(now: () => number = Date.now): PenaltyBox {
  const holds = new Map<string, Hold>();
  return {
    hold(key, hold) {
      if (holds.size >= MAX_CLIENTS) {
        const time = now();
        for (const [client, held] of holds) if (held.untilMs <= time) holds.delete(client);
      }
      const previous = holds.get(key);
      // The newest refusal's figures, and the later of the two times to come back.
      if (holds.size < MAX_CLIENTS || previous) holds.set(key, { ...hold, untilMs: Math.max(hold.untilMs, previous?.untilMs ?? 0) });
    },
    heldUntil(key) {
      const hold = holds.get(key);
      if (hold === undefined) return undefined;
      if (hold.untilMs > now()) return hold;
      holds.delete(key);
      return undefined;
    },
  };
}


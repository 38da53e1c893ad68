/**
 * Charging a client's bucket, and refusing it when the bucket holds too little: one rule for the budget stage
 * (src/plugins/use-cost-budget.ts), which charges an operation's requested cost, and the cached-GET front
 * (src/http/cached-get.ts), which charges a hit. A refused client is told when to come back (Retry-After,
 * RateLimit-*) and held in the penalty box until then (src/http/penalty-box.ts).
 *
 * A client is its signed-in viewer, or, when anonymous, its address (src/request/client-address.ts); anonymous clients
 * get a smaller bucket.
 */
import { GraphQLError } from 'graphql';
import type { ClientAddress } from '../request/client-address.js';
import { clientKey } from '../request/client.js';
import type { BudgetPolicy } from '../config.js';
import type { PenaltyBox } from '../store/penalty-box.js';
import type { BucketState, CostBucket } from '../store/cost-bucket.js';

export interface BudgetOptions {
  readonly bucket: CostBucket;
  readonly policies: { readonly viewer: BudgetPolicy; readonly anonymous: BudgetPolicy };
  readonly clientAddress: ClientAddress;
  /** Told of every refusal, so the client's next requests wait in front of admission until then. */
  readonly penaltyBox?: PenaltyBox | undefined;
}

/** Who is charged, and by which policy. */
export interface Client {
  readonly key: string;
  readonly policy: BudgetPolicy;
}

export interface Charged {
  readonly charge: BucketState;
  /** Set when the bucket held too little: the error to answer (429), the client already held. */
  readonly refusal?: GraphQLError;
}

export interface Budget {
  readonly bucket: CostBucket;
  clientOf(viewerId: number | undefined, socketAddress: string | undefined, forwardedFor: string | null | undefined): Client;
  charge(client: Client, cost: number): Promise<Charged>;
}

/** The IETF draft's RateLimit fields: points in a full bucket, points left, seconds until it is full again. */
export function rateLimitHeaders(budget: BucketState): Record<string, string> {
  return {
    'RateLimit-Limit': String(budget.capacity),
    'RateLimit-Remaining': String(budget.remaining),
    'RateLimit-Reset': String(Math.ceil(budget.resetAfterMs / 1000)),
  };
}

/** `extensions.cost`, in Shopify's words, so its clients' throttling code reads Tally's too. */
export function costExtension(requested: number, actual: number | undefined, limit: number, budget: BucketState | undefined) {
  return {
    requestedQueryCost: requested,
    ...(actual === undefined ? {} : { actualQueryCost: actual }),
    maximumQueryCost: limit,
    ...(budget
      ? {
          throttleStatus: {
            maximumAvailable: budget.capacity,
            currentlyAvailable: budget.remaining,
            restoreRate: budget.restorePerSecond,
            resetAfterMs: budget.resetAfterMs,
          },
        }
      : {}),
  };
}

/** Whole seconds, at least 1: what Retry-After says, and so when the client is told to come back. */
const retryAfterSeconds = (budget: BucketState) => Math.max(1, Math.ceil(budget.retryAfterMs / 1000));

function rateLimited(cost: number, budget: BucketState, seconds: number): GraphQLError {
  return new GraphQLError(
    `Rate limited: this ${cost === 1 ? 'request costs 1 point' : `operation costs ${cost} points`} and ${budget.remaining} of ${budget.capacity} are left (${budget.restorePerSecond} restored per second). Retry in ${seconds} s.`,
    {
      extensions: {
        code: 'RATE_LIMITED',
        retryAfterSeconds: seconds,
        http: { status: 429, headers: { 'Retry-After': String(seconds), ...rateLimitHeaders(budget) } },
      },
    },
  );
}

export function createBudget({ bucket, policies, clientAddress, penaltyBox }: BudgetOptions): Budget {
  return {
    bucket,
    clientOf(viewerId, socketAddress, forwardedFor) {
      const key = clientKey(viewerId, () => clientAddress(socketAddress, forwardedFor ?? null));
      return { key, policy: viewerId === undefined ? policies.anonymous : policies.viewer };
    },
    async charge({ key, policy }, cost) {
      const charge = await bucket.take(key, cost, policy);
      if (charge.allowed) return { charge };
      const seconds = retryAfterSeconds(charge);
      const time = Date.now();
      penaltyBox?.hold(key, { untilMs: time + seconds * 1000, limit: charge.capacity, remaining: charge.remaining, restorePerSecond: charge.restorePerSecond, atMs: time });
      return { charge, refusal: rateLimited(cost, charge, seconds) };
    },
  };
}

/**
 * Charging a client's bucket, and refusing it when the bucket holds too little: one rule for the budget stage
 * (src/plugins/use-cost-budget.ts), which charges an operation's requested cost, and the cached-GET front
 * (src/http/cached-get.ts), which charges a hit. A refused client is told when to come back (Retry-After,
 * RateLimit-*) and held in the penalty box until then (src/http/penalty-box.ts).
 *
 * A client is its signed-in viewer, or, when anonymous, its address (src/request/client-address.ts); anonymous clients
 * get a smaller bucket.
 */
import { GraphQLError, type DocumentNode, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import type { ClientAddress } from '../request/client-address.js';
import { clientKey } from '../request/client.js';
import type { BudgetPolicy } from '../config.js';
import type { PenaltyBox } from '../store/penalty-box.js';
import type { BucketState, CostBucket } from '../store/cost-bucket.js';
import { limitError } from '../limits/errors.js';
import type { CostModel } from './estimate.js';
import type { CostReport } from '../request/scope.js';

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

/** An operation priced and charged: the answer that refuses it, or what it cost and what its client has left. */
export type OperationCharge = { readonly refused: ExecutionResult } | { readonly refused?: undefined; readonly report: CostReport };

/**
 * Prices an operation and charges its client, one rule for yoga's budget stage (src/plugins/use-cost-budget.ts) and
 * the prepared lane: above what one operation may cost for this client it is refused (COST_LIMIT_EXCEEDED, with the
 * price), and a client whose bucket holds too little is refused by the budget (RATE_LIMITED).
 */
export async function chargeOperation(
  budget: Budget,
  { model, maxCost }: { readonly model: CostModel; readonly maxCost: number },
  client: Client,
  signedIn: boolean,
  operation: { readonly document: DocumentNode; readonly operation: OperationDefinitionNode; readonly variables: Record<string, unknown> },
): Promise<OperationCharge> {
  const limit = Math.min(maxCost, client.policy.capacity);
  let requested: number;
  try {
    requested = model.requested(operation.document, operation.operation, operation.variables);
  } catch {
    // graphql-query-complexity gives up on a document whose fragments expand past its node bound.
    requested = Number.POSITIVE_INFINITY;
  }
  if (requested > limit) {
    const message = signedIn || limit === maxCost ? 'The operation costs too much' : 'The operation costs too much for an anonymous client: sign in for a larger budget';
    return {
      refused: Number.isFinite(requested)
        ? { errors: [limitError('COST_LIMIT_EXCEEDED', message, { value: requested, limit })], extensions: { cost: costExtension(requested, undefined, limit, undefined) } }
        : { errors: [limitError('COST_LIMIT_EXCEEDED', `${message}: its fragments expand too far to price`)] },
    };
  }
  const { charge, refusal } = await budget.charge(client, requested);
  if (refusal) return { refused: { errors: [refusal], extensions: { cost: costExtension(requested, undefined, limit, charge) } } };
  return { report: { requested, limit, budget: charge } };
}

/**
 * After the operation ran: its client refunded down to the actual cost, priced from what the result holds, and the
 * result with `extensions.cost`; the report with the bucket as the refund left it.
 */
export async function settleOperation(
  budget: Budget,
  model: CostModel,
  client: Client,
  charged: CostReport,
  operation: { readonly document: DocumentNode; readonly operation: OperationDefinitionNode },
  result: ExecutionResult,
): Promise<{ readonly result: ExecutionResult; readonly report: CostReport }> {
  const { requested, limit, budget: charge } = charged;
  const actual = Math.min(requested, model.actual(operation.document, operation.operation, result.data));
  // Most reads return what they asked for: no refund, no second round trip.
  const left = actual < requested ? await budget.bucket.refund(client.key, requested - actual, client.policy, charge) : charge;
  return { result: { ...result, extensions: { ...result.extensions, cost: costExtension(requested, actual, limit, left) } }, report: { requested, limit, budget: left } };
}

/**
 * Traffic for fault tests: `clients` signed-in users at once, each reading the timeline and its own ledger and
 * moving money (deposits and withdrawals of small amounts, each under a new idempotency key), over HTTP against a
 * running server, until stopped. A request answered with a retryable fault (503 + Retry-After) is sent again
 * after its Retry-After with the same idempotency key, as a well-behaved client does; a lost connection likewise.
 * Everything is recorded: each answer's time, status and codes, each connection error, and each money mutation
 * the server acknowledged (200, no error), so a test can check the ledger holds every one of them exactly once.
 */
import { randomUUID } from 'node:crypto';
import { sleep } from './wait.js';

export interface Answer {
  /** ms since the traffic started, when the request was sent and when its answer came. */
  readonly sentAt: number;
  readonly at: number;
  readonly status: number;
  readonly codes: readonly string[];
  readonly retryAfter: string | null;
  /** The answer's errors all say `retryable: true`. */
  readonly retryable: boolean;
}

export interface Traffic {
  readonly answers: Answer[];
  /** Connection errors (ECONNREFUSED, ECONNRESET, …) with when they happened. */
  readonly connectionErrors: { readonly at: number; readonly code: string }[];
  /** Idempotency keys of the money mutations the server acknowledged, with the user and the entry's id. */
  readonly acknowledged: Map<string, { readonly userId: number; readonly entryId: string }>;
  /** A marker in every mutation's description: no log line may hold it. */
  readonly marker: string;
  /** ms since the traffic started. */
  now(): number;
  stop(): Promise<void>;
}

const READS = [
  '{ posts(first: 10) { edges { node { id body author { id name } } } } }',
  '{ viewer { id balance { amount } transactions(first: 5) { edges { node { id kind amount { amount } } } } } }',
];
const MOVE = (kind: 'deposit' | 'withdraw') => /* GraphQL */ `
  mutation ($input: ${kind === 'deposit' ? 'DepositInput' : 'WithdrawInput'}!) {
    ${kind}(input: $input) { entry { id } errors { code } }
  }
`;

interface Body {
  data?: Record<string, { entry?: { id: string } | null; errors?: { code: string }[] } | null> | null;
  errors?: { extensions?: { code?: string; retryable?: boolean } }[];
}

export function startTraffic(base: string, users: readonly { id: number; token: string }[], options: { retryAfterCapMs?: number } = {}): Traffic {
  const started = performance.now();
  const now = () => performance.now() - started;
  const answers: Answer[] = [];
  const connectionErrors: { at: number; code: string }[] = [];
  const acknowledged = new Map<string, { userId: number; entryId: string }>();
  const marker = `fault-marker-${randomUUID()}`;
  let running = true;
  // A fault test waits Retry-After as told, up to this cap, so it stays short.
  const cap = options.retryAfterCapMs ?? 1_000;

  /** One request, sent until it is answered with something other than a retryable fault or a lost connection. */
  async function send(token: string, body: unknown): Promise<Body | undefined> {
    for (let attempt = 0; running || attempt === 0; attempt += 1) {
      const sentAt = now();
      let response: Response;
      try {
        response = await fetch(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        connectionErrors.push({ at: now(), code: cause?.code ?? 'UNKNOWN' });
        await sleep(100);
        continue;
      }
      const parsed = (await response.json().catch(() => ({}))) as Body;
      const codes = (parsed.errors ?? []).map((error) => error.extensions?.code ?? 'UNKNOWN');
      const retryable = codes.length > 0 && (parsed.errors ?? []).every((error) => error.extensions?.retryable === true);
      const retryAfter = response.headers.get('retry-after');
      answers.push({ sentAt, at: now(), status: response.status, codes, retryAfter, retryable });
      if (response.status === 503 && retryable) {
        await sleep(Math.min(cap, Number(retryAfter ?? 1) * 1_000));
        continue;
      }
      return parsed;
    }
    return undefined;
  }

  async function client(user: { id: number; token: string }, index: number) {
    for (let turn = index; running; turn += 1) {
      await send(user.token, { query: READS[turn % READS.length] });
      if (!running) break;
      const kind = turn % 3 === 2 ? 'withdraw' : 'deposit';
      const idempotencyKey = `load-${randomUUID()}`;
      const input = { amount: kind === 'deposit' ? '1.00' : '0.01', currency: 'USD', description: `${marker} ${turn}`, idempotencyKey };
      const body = await send(user.token, { query: MOVE(kind), variables: { input } });
      const payload = body?.data?.[kind];
      if (payload?.entry && payload.errors?.length === 0) acknowledged.set(idempotencyKey, { userId: user.id, entryId: payload.entry.id });
    }
  }

  const clients = users.map((user, index) => client(user, index));
  return {
    answers,
    connectionErrors,
    acknowledged,
    marker,
    now,
    async stop() {
      running = false;
      await Promise.all(clients);
    },
  };
}

/**
 * Waiting in tests: for a fixed time, or for a condition to hold.
 */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  /** How long the condition has to come true before the wait fails. Default 10 s. */
  readonly timeoutMs?: number;
  /** How long between two checks. Default 100 ms. */
  readonly intervalMs?: number;
}

/** Resolves once `condition` holds, checked every `intervalMs`; throws once `timeoutMs` has passed without it. */
export async function waitFor(condition: () => boolean | Promise<boolean>, { timeoutMs = 10_000, intervalMs = 100 }: WaitOptions = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

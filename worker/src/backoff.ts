/**
 * Every wait between two attempts in the worker comes from one formula and a named policy, so that
 * "how long until we try again" has one answer to read and one to test (graphile-worker's
 * `calculateDelay` and named option sets are the model).
 *
 * The formula is capped exponential growth, then jitter, in the order the AWS Architecture Blog's
 * "Exponential Backoff And Jitter" gives: cap first, so a capped wait is still spread out.
 */
import { setTimeout as sleep } from "node:timers/promises";

/**
 * - `none`: exactly the exponential wait (a schedule, or one process probing one server).
 * - `full`: anywhere from 0 to it (many callers contending for one row: spread them widest).
 * - `equal`: half fixed, half random (many jobs retrying: never sooner than half the wait).
 */
export type Jitter = "none" | "full" | "equal";

export interface BackoffPolicy {
  /** The wait before the second attempt. */
  readonly firstMs: number;
  /** No wait is longer than this. */
  readonly maxMs: number;
  /** Each wait is this many times the one before; 2 unless said. */
  readonly factor?: number;
  readonly jitter: Jitter;
}

/**
 * The wait before attempt `retry + 1`: `retry` is 1 for the first retry. Whole milliseconds.
 */
export function backoffMs(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const growth = (policy.factor ?? 2) ** Math.max(0, retry - 1);
  const capped = Math.min(policy.maxMs, policy.firstMs * growth);
  switch (policy.jitter) {
    case "none":
      return Math.round(capped);
    case "full":
      return Math.round(capped * random());
    case "equal":
      return Math.round(capped / 2 + (capped / 2) * random());
  }
}

/** The named policies for the worker's fixed waits; the configurable ones are built from configuration where they are used. */
export const BACKOFF = {
  /** Start-up: SQS or MySQL not reachable yet (a Spot task may start before its network is ready). */
  startup: { firstMs: 1_000, maxMs: 30_000, jitter: "none" },
  /** A failed receive: an unreachable SQS is asked at most every ~30 s, the workers spread out. */
  receive: { firstMs: 500, maxMs: 30_000, jitter: "equal" },
  /** A failed SQS batch call (delete, change visibility, send to the DLQ) or a retryable entry in it. */
  sqsBatch: { firstMs: 200, maxMs: 5_000, jitter: "none" },
  /** Probing a database marked unreachable, until it answers. */
  databaseProbe: { firstMs: 250, maxMs: 5_000, jitter: "none" },
  /** Writing jobs' ends into the send log, which a brief failure or a deadlock must not lose. */
  sendLogWrite: { firstMs: 100, maxMs: 6_400, factor: 4, jitter: "full" },
} as const satisfies Record<string, BackoffPolicy>;

export interface RetryOptions {
  policy: BackoffPolicy;
  /** Attempts in all, the first included. */
  attempts: number;
  /** Whether a failed attempt may be tried again; the error is thrown at once otherwise. */
  retryable: (error: unknown) => boolean;
  signal?: AbortSignal;
  random?: () => number;
}

/**
 * Runs `attempt` until it succeeds, its error is not retryable, or the attempts are spent. A small
 * loop rather than a library's so that its waits come from `backoffMs` like every other wait.
 */
export async function withRetries<T>(attempt: (number: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let number = 1; ; number += 1) {
    try {
      return await attempt(number);
    } catch (error) {
      if (number >= options.attempts || !options.retryable(error) || options.signal?.aborted) throw error;
      await sleep(backoffMs(number, options.policy, options.random), undefined, { signal: options.signal });
    }
  }
}

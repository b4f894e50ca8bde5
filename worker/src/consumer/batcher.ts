import { setTimeout as sleep } from "node:timers/promises";
import { BACKOFF, type BackoffPolicy, backoffMs } from "../backoff";
import { errorMessage } from "../error-message";
import type { Logger } from "../log";
import type { BatchFailure, BatchOutcome } from "../sqs/queue";

/** SQS batch calls take at most 10 entries. */
export const SQS_BATCH_LIMIT = 10;

export type EntryResult = { ok: true } | { ok: false; failure: BatchFailure };

interface Pending<T> {
  id: string;
  item: T;
  resolve: (result: EntryResult) => void;
}

export interface BatcherOptions<T> {
  name: string;
  call: (entries: readonly { id: string; item: T }[]) => Promise<BatchOutcome>;
  log: Logger;
  /** Back-off between attempts after a failed call or a retryable entry failure; `BACKOFF.sqsBatch` unless said. */
  backoff?: BackoffPolicy;
}

/**
 * Collects entries submitted in the same tick into SQS batch calls of up to 10, and keeps
 * retrying an entry until SQS confirms it or says the entry itself is wrong (a stale receipt
 * handle). An acknowledgement is never dropped because SQS was briefly unreachable.
 */
export class Batcher<T> {
  private queue: Pending<T>[] = [];
  private flushScheduled = false;
  private readonly inFlight = new Set<Promise<void>>();
  private sequence = 0;

  constructor(private readonly options: BatcherOptions<T>) {}

  submit(item: T): Promise<EntryResult> {
    return new Promise((resolve) => {
      this.queue.push({ id: String(this.sequence++), item, resolve });
      if (this.queue.length >= SQS_BATCH_LIMIT) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Resolves when every entry submitted so far has its answer. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private flush(): void {
    this.flushScheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, SQS_BATCH_LIMIT);
      const work = this.deliver(batch).finally(() => this.inFlight.delete(work));
      this.inFlight.add(work);
    }
  }

  private async deliver(batch: Pending<T>[]): Promise<void> {
    let remaining = batch;
    for (let attempt = 0; remaining.length > 0; attempt += 1) {
      if (attempt > 0) await sleep(backoffMs(attempt, this.options.backoff ?? BACKOFF.sqsBatch));
      let outcome: BatchOutcome;
      try {
        outcome = await this.options.call(remaining.map(({ id, item }) => ({ id, item })));
      } catch (error) {
        this.options.log.warn(`SQS ${this.options.name} failed; retrying`, {
          entries: remaining.length,
          attempt: attempt + 1,
          error: errorMessage(error),
        });
        continue;
      }
      const retry: Pending<T>[] = [];
      const codes = new Set<string>();
      for (const pending of remaining) {
        const failure = outcome.get(pending.id);
        if (!failure) pending.resolve({ ok: true });
        else if (failure.senderFault) pending.resolve({ ok: false, failure });
        else {
          retry.push(pending);
          codes.add(failure.code);
        }
      }
      if (retry.length > 0) {
        this.options.log.warn(`SQS ${this.options.name}: ${retry.length} entries failed; retrying`, {
          attempt: attempt + 1,
          codes: [...codes],
        });
      }
      remaining = retry;
    }
  }
}

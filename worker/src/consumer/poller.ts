import { setTimeout as sleep } from "node:timers/promises";
import { BACKOFF, type BackoffPolicy, backoffMs } from "../backoff";
import type { Logger } from "../log";
import type { JobQueue, ReceivedMessage } from "../sqs/queue";
import { SQS_BATCH_LIMIT } from "./batcher";
import type { Slots } from "./slots";

export interface PollerOptions {
  queue: Pick<JobQueue, "receive">;
  slots: Slots;
  waitSeconds: number;
  visibilityTimeoutSeconds: number;
  log: Logger;
  /** Gets each non-empty receive; the messages hold one slot each until it gives them back. */
  onMessages: (messages: ReceivedMessage[]) => void;
  /** Waited for before each receive: a dependency the jobs need may be down. */
  ready?: (signal: AbortSignal) => Promise<void>;
  /** The wait after a failed receive; `BACKOFF.receive` unless said. */
  backoff?: BackoffPolicy;
}

function isAbort(error: unknown): boolean {
  return (error as { name?: string }).name === "AbortError";
}

/**
 * Long-polls the queue while slots are free. One loop runs at all times; while receives come back
 * full, more loops join (up to one per 10 slots), and they leave again once the queue runs short,
 * so an idle worker makes one request per wait period and a busy one keeps every slot fed.
 */
export class Poller {
  private readonly stopping = new AbortController();
  private readonly loops = new Set<Promise<void>>();
  private readonly maxLoops: number;
  private consecutiveFailures = 0;

  constructor(private readonly options: PollerOptions) {
    this.maxLoops = Math.max(1, Math.ceil(options.slots.capacity / SQS_BATCH_LIMIT));
  }

  get polling(): boolean {
    return !this.stopping.signal.aborted;
  }

  start(): void {
    this.spawn(true);
  }

  /** Stops receiving at once, abandoning any long poll under way; resolves when every loop has ended. */
  async stop(): Promise<void> {
    this.stopping.abort();
    while (this.loops.size > 0) await Promise.allSettled([...this.loops]);
  }

  private spawn(primary: boolean): void {
    const loop = this.run(primary).finally(() => this.loops.delete(loop));
    this.loops.add(loop);
  }

  private async run(primary: boolean): Promise<void> {
    const { slots, queue } = this.options;
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      await this.options.ready?.(signal);
      if (signal.aborted) break;
      const wanted = await slots.take(SQS_BATCH_LIMIT, signal);
      if (wanted === 0) break;
      let messages: ReceivedMessage[];
      try {
        messages = await queue.receive(wanted, this.options.waitSeconds, this.options.visibilityTimeoutSeconds, signal);
        this.consecutiveFailures = 0;
      } catch (error) {
        slots.give(wanted);
        if (signal.aborted || isAbort(error)) break;
        if (!primary) return;
        await this.backOff(error);
        continue;
      }
      slots.give(wanted - messages.length);
      if (messages.length > 0) this.options.onMessages(messages);
      const full = messages.length === wanted && wanted === SQS_BATCH_LIMIT;
      if (full && this.loops.size < this.maxLoops && slots.free >= SQS_BATCH_LIMIT) this.spawn(false);
      if (!primary && !full) return;
    }
  }

  private async backOff(error: unknown): Promise<void> {
    this.consecutiveFailures += 1;
    const delay = backoffMs(this.consecutiveFailures, this.options.backoff ?? BACKOFF.receive);
    const level = this.consecutiveFailures >= 5 ? "error" : "warn";
    this.options.log.log(level, "SQS receive failed; backing off", {
      failures_in_a_row: this.consecutiveFailures,
      retry_in_ms: delay,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }
}

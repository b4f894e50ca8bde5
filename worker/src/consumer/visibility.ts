import { errorMessage } from "../error-message";
import { LeaseKeeper } from "../lease-keeper";
import type { Logger } from "../log";
import type { ReceivedMessage } from "../sqs/queue";
import type { EntryResult } from "./batcher";

export interface VisibilityOptions {
  visibilityTimeoutSeconds: number;
  changeVisibility: (message: ReceivedMessage, seconds: number) => Promise<EntryResult>;
  log: Logger;
  clock?: () => number;
}

/**
 * Keeps a received message hidden while its job is in flight: a message whose visibility has less
 * than half of the timeout left is extended by a full timeout. The due messages of a tick go to SQS
 * together (the Acknowledger batches them), each settled on its own entry's answer. A job that
 * finishes well within the timeout (the usual case) costs no request here.
 */
export class VisibilityKeeper {
  private readonly leases: LeaseKeeper<string, ReceivedMessage>;
  private readonly timeoutMs: number;

  constructor(options: VisibilityOptions) {
    const seconds = options.visibilityTimeoutSeconds;
    this.timeoutMs = seconds * 1000;
    this.leases = new LeaseKeeper({
      leaseMs: this.timeoutMs,
      renewWhenLeft: 1 / 2,
      tickMs: Math.max(250, Math.floor(this.timeoutMs / 4)),
      clock: options.clock,
      renew: (due) =>
        due.map(async ({ value: message }) => {
          const result = await options.changeVisibility(message, seconds);
          if (!result.ok) throw new Error(result.failure.message);
        }),
      onFailure: (error, leases) => {
        for (const { value: message } of leases) {
          options.log.warn("could not extend a message's visibility; another worker may receive it", {
            sqs_message_id: message.messageId,
            error: errorMessage(error),
          });
        }
      },
    });
  }

  hold(message: ReceivedMessage): void {
    this.leases.hold(message.receiptHandle, message, message.receivedAt + this.timeoutMs);
  }

  release(message: ReceivedMessage): void {
    this.leases.forget(message.receiptHandle);
  }

  get held(): number {
    return this.leases.held;
  }

  /** Extends every message that is due at `now`; the timer calls this on its own. */
  renewDue(now?: number): Promise<void> {
    return this.leases.renewDue(now);
  }

  stop(): void {
    this.leases.stop();
  }
}

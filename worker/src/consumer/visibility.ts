import type { Logger } from "../log";
import type { ReceivedMessage } from "../sqs/queue";
import type { EntryResult } from "./batcher";

interface Lease {
  message: ReceivedMessage;
  /** When SQS would make the message visible again, in ms since the epoch. */
  expiresAt: number;
  extending: boolean;
}

export interface VisibilityOptions {
  visibilityTimeoutSeconds: number;
  changeVisibility: (message: ReceivedMessage, seconds: number) => Promise<EntryResult>;
  log: Logger;
}

/**
 * Keeps a received message hidden while its job is in flight: a message whose visibility has less
 * than half of the timeout left is extended by a full timeout. Extensions made in the same tick are
 * batched. A job that finishes well within the timeout (the usual case) costs no request here.
 */
export class VisibilityKeeper {
  private readonly leases = new Map<string, Lease>();
  private readonly timer: NodeJS.Timeout;
  private readonly timeoutMs: number;

  constructor(private readonly options: VisibilityOptions) {
    this.timeoutMs = options.visibilityTimeoutSeconds * 1000;
    const checkEveryMs = Math.max(250, Math.floor(this.timeoutMs / 4));
    this.timer = setInterval(() => this.extendExpiring(), checkEveryMs);
    this.timer.unref();
  }

  hold(message: ReceivedMessage): void {
    this.leases.set(message.receiptHandle, { message, expiresAt: message.receivedAt + this.timeoutMs, extending: false });
  }

  release(message: ReceivedMessage): void {
    this.leases.delete(message.receiptHandle);
  }

  get held(): number {
    return this.leases.size;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private extendExpiring(): void {
    const now = Date.now();
    for (const lease of this.leases.values()) {
      if (lease.extending || lease.expiresAt - now > this.timeoutMs / 2) continue;
      lease.extending = true;
      const requestedAt = Date.now();
      void this.options.changeVisibility(lease.message, this.options.visibilityTimeoutSeconds).then((result) => {
        lease.extending = false;
        if (result.ok) {
          lease.expiresAt = requestedAt + this.timeoutMs;
          return;
        }
        this.options.log.warn("could not extend a message's visibility; another worker may receive it", {
          sqs_message_id: lease.message.messageId,
          error: result.failure.message,
        });
      });
    }
  }
}

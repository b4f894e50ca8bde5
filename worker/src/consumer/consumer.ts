import { EventEmitter } from "node:events";
import { errorMessage } from "../error-message";
import type { Job } from "../job";
import { type Logger, maskRecipient } from "../log";
import { type AckAction, ackActionFor, outcomeForCopy, type RetryPolicy } from "../pipeline/decide";
import type { Conclusion, Ledger, ReceivedJob } from "../pipeline/ledger-port";
import { type JobOutcome, retry } from "../pipeline/outcome";
import { deliverGroup } from "../pipeline/process";
import type { SolapiGateway } from "../solapi/client";
import type { JobQueue, ReceivedMessage } from "../sqs/queue";
import { Acknowledger } from "./acks";
import { type Entry, readEntry } from "./entry";
import { partitionKeepAlives } from "./keep-alive";
import { Poller } from "./poller";
import { Slots } from "./slots";
import { VisibilityKeeper } from "./visibility";

export interface ConsumerOptions {
  queue: JobQueue;
  solapi: SolapiGateway;
  ledger: Ledger;
  concurrency: number;
  waitSeconds: number;
  visibilityTimeoutSeconds: number;
  retry: Omit<RetryPolicy, "maxReceives">;
  log: Logger;
}

/** One job's end, as reported to listeners (demo, stress, tests). */
export interface JobReport {
  key: string;
  tenantId?: number;
  job?: Job;
  sqsMessageId: string;
  receiveCount: number;
  outcome: JobOutcome;
  action: AckAction;
  /** SQS confirmed the action. */
  acknowledged: boolean;
}

export interface ConsumerStats {
  received: number;
  sent: number;
  failed: number;
  skipped: number;
  duplicates: number;
  retried: number;
  deadLettered: number;
  released: number;
}

const LOG_LEVEL: Record<JobOutcome["kind"], "info" | "warn" | "error"> = {
  sent: "info",
  failed: "warn",
  skipped: "info",
  duplicate: "info",
  retry: "warn",
  poison: "error",
  released: "info",
};

/**
 * The consumer: receives jobs while slots are free, keeps them hidden while they are in flight,
 * delivers each receive as one group, and acknowledges every job by its own outcome.
 */
export class Consumer extends EventEmitter<{ job: [JobReport] }> {
  private readonly slots: Slots;
  private readonly poller: Poller;
  private readonly acks: Acknowledger;
  private readonly visibility: VisibilityKeeper;
  private readonly shutdown = new AbortController();
  private readonly handling = new Set<Promise<void>>();
  /** The outcome, once known, of each job (tenant and key) in flight in this process. */
  private readonly jobsInFlight = new Map<string, Promise<JobOutcome>>();
  private stopping?: Promise<void>;
  readonly stats: ConsumerStats = { received: 0, sent: 0, failed: 0, skipped: 0, duplicates: 0, retried: 0, deadLettered: 0, released: 0 };

  constructor(private readonly options: ConsumerOptions) {
    super();
    this.slots = new Slots(options.concurrency);
    this.acks = new Acknowledger(options.queue, options.log);
    this.visibility = new VisibilityKeeper({
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
      changeVisibility: (message, seconds) => this.acks.changeVisibility(message, seconds),
      log: options.log,
    });
    this.poller = new Poller({
      queue: options.queue,
      slots: this.slots,
      waitSeconds: options.waitSeconds,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
      log: options.log,
      ready: (signal) => options.ledger.ready(signal),
      onMessages: (messages) => this.track(this.handle(messages)),
    });
  }

  get inFlight(): number {
    return this.slots.inUse;
  }

  start(): void {
    this.poller.start();
  }

  /**
   * Stops polling at once, releases jobs not yet started, lets started ones finish and flushes
   * their acknowledgements. Resolves when nothing is left in flight.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.shutdown.abort();
      await this.poller.stop();
      while (this.handling.size > 0) await Promise.allSettled([...this.handling]);
      await this.acks.drain();
      this.visibility.stop();
    })();
    return this.stopping;
  }

  private track(work: Promise<void>): void {
    const tracked = work
      .catch((error: unknown) => {
        this.options.log.error("job handling failed unexpectedly", { error });
      })
      .finally(() => this.handling.delete(tracked));
    this.handling.add(tracked);
  }

  private async handle(received: ReceivedMessage[]): Promise<void> {
    const { keepAlives, jobs: messages } = partitionKeepAlives(received);
    for (const message of keepAlives) this.track(this.discardKeepAlive(message));
    if (messages.length === 0) return;
    this.stats.received += messages.length;
    const entries = messages.map(readEntry);
    for (const entry of entries) this.visibility.hold(entry.message);
    const policy = this.retryPolicy();
    const decided = (entry: Entry, outcome: JobOutcome): Conclusion => ({
      outcome,
      action: ackActionFor(outcome, entry.message.receiveCount, policy),
    });
    const group: ReceivedJob[] = [];
    const owners = new Map<string, Entry>();
    const copies: { entry: Entry; original: Promise<JobOutcome> }[] = [];
    const finished = new Map<Entry, Conclusion>();
    let settleOwned!: (outcomes: Map<string, JobOutcome>) => void;
    const owned = new Promise<Map<string, JobOutcome>>((resolve) => (settleOwned = resolve));
    const visibilityMs = this.options.visibilityTimeoutSeconds * 1000;

    for (const entry of entries) {
      const original = this.jobsInFlight.get(entry.id);
      if (entry.poisonReason !== undefined) {
        finished.set(entry, decided(entry, { kind: "poison", reason: entry.poisonReason }));
      } else if (original) {
        // The same job twice at once (a producer retry): the copy waits for the first and mirrors it.
        copies.push({ entry, original });
      } else {
        entry.ownsKey = true;
        owners.set(entry.id, entry);
        this.jobsInFlight.set(
          entry.id,
          owned.then((outcomes) => outcomes.get(entry.id)!),
        );
        group.push({
          id: entry.id,
          key: entry.key,
          job: entry.job!,
          sqsMessageId: entry.message.messageId,
          receiveCount: entry.message.receiveCount,
          enqueuedAt: entry.message.sentAt,
          leaseMs: Math.max(0, entry.message.receivedAt + visibilityMs - Date.now()),
        });
      }
    }

    const delivered = await this.deliver(group, owners, policy);
    for (const [entry, result] of delivered) finished.set(entry, result);
    settleOwned(new Map([...delivered].map(([entry, result]) => [entry.id, result.outcome])));
    await Promise.all([
      ...[...finished].map(([entry, result]) => this.acknowledge(entry, result)),
      ...copies.map(async ({ entry, original }) => this.acknowledge(entry, decided(entry, outcomeForCopy(await original)))),
    ]);
  }

  /** Not a job (keep-alive.ts): deleted at once, nothing sent, charged, recorded or reported. */
  private async discardKeepAlive(message: ReceivedMessage): Promise<void> {
    const result = await this.acks.apply(message, { action: "delete" }, { key: message.messageId });
    this.options.log.debug("keep-alive message deleted", { sqs_message_id: message.messageId, deleted: result.ok });
    this.slots.give(1);
  }

  private async deliver(group: ReceivedJob[], owners: Map<string, Entry>, policy: RetryPolicy): Promise<Map<Entry, Conclusion>> {
    const results = new Map<Entry, Conclusion>();
    try {
      const delivered = await deliverGroup(
        group,
        { solapi: this.options.solapi, ledger: this.options.ledger, retry: policy, log: this.options.log },
        this.shutdown.signal,
      );
      for (const [id, result] of delivered) results.set(owners.get(id)!, result);
    } catch (error) {
      // A defect, not a Solapi answer: nothing is known about the send, so treat it as uncertain.
      const reason = `internal error: ${errorMessage(error)}`;
      for (const entry of owners.values()) {
        const outcome = retry(reason, { ambiguous: true, alert: true });
        results.set(entry, { outcome, action: ackActionFor(outcome, entry.message.receiveCount, policy) });
      }
    }
    return results;
  }

  private retryPolicy(): RetryPolicy {
    return { ...this.options.retry, maxReceives: this.options.queue.addresses.maxReceiveCount };
  }

  private async acknowledge(entry: Entry, { outcome, action }: Conclusion): Promise<void> {
    const { message } = entry;
    this.logOutcome(entry, outcome, action);
    const result = await this.acks.apply(message, action, { key: entry.key, tenantId: entry.tenantId });
    if (!result.ok) {
      this.options.log.warn("SQS did not take the acknowledgement; the message may be received again", {
        job: entry.key,
        tenant_id: entry.tenantId,
        sqs_message_id: message.messageId,
        action: action.action,
        error: result.failure.message,
      });
    }
    this.visibility.release(message);
    if (entry.ownsKey) this.jobsInFlight.delete(entry.id);
    this.count(outcome, action);
    this.slots.give(1);
    this.emit("job", {
      key: entry.key,
      tenantId: entry.tenantId,
      job: entry.job,
      sqsMessageId: message.messageId,
      receiveCount: message.receiveCount,
      outcome,
      action,
      acknowledged: result.ok,
    });
  }

  private count(outcome: JobOutcome, action: AckAction): void {
    if (action.action === "dead-letter") this.stats.deadLettered += 1;
    else if (outcome.kind === "sent") this.stats.sent += 1;
    else if (outcome.kind === "failed") this.stats.failed += 1;
    else if (outcome.kind === "skipped") this.stats.skipped += 1;
    else if (outcome.kind === "duplicate") this.stats.duplicates += 1;
    else if (outcome.kind === "retry") this.stats.retried += 1;
    else if (outcome.kind === "released") this.stats.released += 1;
  }

  private logOutcome(entry: Entry, outcome: JobOutcome, action: AckAction): void {
    const fields: Record<string, unknown> = {
      job: entry.key,
      tenant_id: entry.tenantId,
      sqs_message_id: entry.message.messageId,
      receive_count: entry.message.receiveCount,
      mode: entry.job?.mode,
      to: entry.job ? maskRecipient(entry.job.to) : undefined,
      event_type: entry.job?.eventType,
      action: action.action,
    };
    if (outcome.kind === "sent") {
      Object.assign(fields, { channel: outcome.channel, group_id: outcome.groupId, message_id: outcome.messageId });
      if (outcome.fellBackFrom) Object.assign(fields, { fell_back_from: outcome.fellBackFrom, fallback_reason: outcome.fallbackReason });
      if (outcome.recovered) fields.recovered = true;
    } else {
      fields.reason = outcome.reason;
      if (outcome.kind === "skipped" || outcome.kind === "duplicate") fields.status = outcome.status;
    }
    if (action.action === "retry-later") fields.retry_in_s = action.delaySeconds;
    if (outcome.kind === "retry" && outcome.alert) fields.alert = true;
    const level = action.action === "dead-letter" ? "error" : LOG_LEVEL[outcome.kind];
    const message = action.action === "dead-letter" ? "job dead-lettered" : `job ${outcome.kind}`;
    this.options.log.log(level, message, fields);
  }
}

import { EventEmitter } from "node:events";
import { JobValidationError, parseJobBody, type Job } from "../job";
import type { Logger } from "../log";
import { type AckAction, ackActionFor, type JobOutcome, type RetryPolicy, type SendDefaults } from "../pipeline/decide";
import { deliverGroup, type ReceivedJob } from "../pipeline/process";
import type { SolapiGateway } from "../solapi/client";
import type { JobQueue, ReceivedMessage } from "../sqs/queue";
import { Acknowledger } from "./acks";
import { Poller } from "./poller";
import { Slots } from "./slots";
import { VisibilityKeeper } from "./visibility";

export interface ConsumerOptions {
  queue: JobQueue;
  solapi: SolapiGateway;
  defaults: SendDefaults;
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
  retried: number;
  deadLettered: number;
  released: number;
}

interface Entry {
  message: ReceivedMessage;
  key: string;
  tenantId?: number;
  job?: Job;
  poisonReason?: string;
  /** This entry holds its key in keysInFlight (it is not a concurrent copy). */
  ownsKey?: boolean;
}

function readEntry(message: ReceivedMessage): Entry {
  try {
    const job = parseJobBody(message.body);
    return { message, job, key: job.businessIdempotencyKey ?? message.messageId, tenantId: job.tenantId };
  } catch (error) {
    const reason = error instanceof JobValidationError ? error.message : `invalid job: ${String(error)}`;
    return { message, key: message.messageId, tenantId: tenantIdOf(message.body), poisonReason: reason };
  }
}

/** The tenant of a message that is not a valid job, when it can be read, for the log line. */
function tenantIdOf(body: string): number | undefined {
  try {
    const value = (JSON.parse(body) as { tenant_id?: unknown }).tenant_id;
    return typeof value === "number" ? value : undefined;
  } catch {
    return undefined;
  }
}

const LOG_LEVEL: Record<JobOutcome["kind"], "info" | "warn" | "error"> = {
  sent: "info",
  failed: "warn",
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
  private readonly keysInFlight = new Set<string>();
  private stopping?: Promise<void>;
  readonly stats: ConsumerStats = { received: 0, sent: 0, failed: 0, retried: 0, deadLettered: 0, released: 0 };

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
      onMessages: (messages) => this.track(this.handle(messages)),
    });
  }

  get inFlight(): number {
    return this.slots.inUse;
  }

  get lastReceiveAt(): number {
    return this.poller.lastReceiveAt;
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

  private async handle(messages: ReceivedMessage[]): Promise<void> {
    this.stats.received += messages.length;
    const entries = messages.map(readEntry);
    for (const entry of entries) this.visibility.hold(entry.message);

    const outcomes = new Map<Entry, JobOutcome>();
    const group: ReceivedJob[] = [];
    const owners = new Map<string, Entry>();
    for (const entry of entries) {
      if (entry.poisonReason !== undefined) outcomes.set(entry, { kind: "poison", reason: entry.poisonReason });
      else if (this.keysInFlight.has(entry.key)) {
        // The same job twice at once (a producer retry): the copy waits and is checked on its next receive.
        outcomes.set(entry, { kind: "retry", reason: "the same job key is already in flight", ambiguous: true, minDelaySeconds: 0, alert: false });
      } else {
        this.keysInFlight.add(entry.key);
        entry.ownsKey = true;
        owners.set(entry.key, entry);
        group.push({ key: entry.key, job: entry.job!, receiveCount: entry.message.receiveCount, enqueuedAt: entry.message.sentAt });
      }
    }

    try {
      const delivered = await deliverGroup(group, { solapi: this.options.solapi, defaults: this.options.defaults, log: this.options.log }, this.shutdown.signal);
      for (const [key, outcome] of delivered) outcomes.set(owners.get(key)!, outcome);
    } catch (error) {
      // A defect, not a Solapi answer: nothing is known about the send, so treat it as uncertain.
      const reason = `internal error: ${error instanceof Error ? error.message : String(error)}`;
      for (const entry of owners.values()) {
        if (!outcomes.has(entry)) outcomes.set(entry, { kind: "retry", reason, ambiguous: true, minDelaySeconds: 0, alert: true });
      }
    }
    await Promise.all(entries.map((entry) => this.finish(entry, outcomes.get(entry)!)));
  }

  private async finish(entry: Entry, outcome: JobOutcome): Promise<void> {
    const { message } = entry;
    const policy: RetryPolicy = { ...this.options.retry, maxReceives: this.options.queue.addresses.maxReceiveCount };
    const action = ackActionFor(outcome, message.receiveCount, policy);
    this.logOutcome(entry, outcome, action);
    const result = await this.acks.apply(message, action);
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
    if (entry.ownsKey) this.keysInFlight.delete(entry.key);
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
      to: entry.job?.to,
      event_type: entry.job?.eventType,
      action: action.action,
    };
    if (outcome.kind === "sent") {
      Object.assign(fields, { channel: outcome.channel, group_id: outcome.groupId, message_id: outcome.messageId });
      if (outcome.fellBackFrom) fields.fell_back_from = outcome.fellBackFrom;
      if (outcome.recovered) fields.recovered = true;
    } else {
      fields.reason = outcome.reason;
    }
    if (action.action === "retry-later") fields.retry_in_s = action.delaySeconds;
    if (outcome.kind === "retry" && outcome.alert) fields.alert = true;
    const level = action.action === "dead-letter" ? "error" : LOG_LEVEL[outcome.kind];
    const message = action.action === "dead-letter" ? "job dead-lettered" : `job ${outcome.kind}`;
    this.options.log.log(level, message, fields);
  }
}

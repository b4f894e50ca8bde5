import { EventEmitter } from "node:events";
import type { Logger } from "../log";
import { ackActionFor, type RetryPolicy } from "../pipeline/decide";
import type { Conclusion, Ledger } from "../pipeline/ledger-port";
import type { JobOutcome } from "../pipeline/outcome";
import { deliverGroup } from "../pipeline/process";
import type { SolapiGateway } from "../solapi/client";
import type { JobQueue, ReceivedMessage } from "../sqs/queue";
import { Acknowledger } from "./acks";
import { JobsInFlight } from "./copies";
import { conclusionsOf, type Delivery } from "./defect";
import { type Entry, type JobEntry, readEntry, receivedJob, sortEntries } from "./entry";
import { partitionKeepAlives } from "./keep-alive";
import { Poller } from "./poller";
import { type ConsumerStats, emptyStats, type JobReport, jobReport, type LogLine, outcomeLine, statOf, unacknowledgedLine } from "./report";
import { Slots } from "./slots";
import { VisibilityKeeper } from "./visibility";

export type { ConsumerStats, JobReport } from "./report";

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

/**
 * The consumer: receives jobs while slots are free, keeps them hidden while they are in flight,
 * delivers each receive as one group, and acknowledges every job by its own outcome.
 */
export class Consumer extends EventEmitter<{ job: [JobReport] }> {
  private readonly slots: Slots;
  private readonly poller: Poller;
  private readonly acks: Acknowledger;
  private readonly visibility: VisibilityKeeper;
  private readonly jobsInFlight = new JobsInFlight();
  private readonly policy: RetryPolicy;
  private readonly shutdown = new AbortController();
  private readonly handling = new Set<Promise<void>>();
  private stopping?: Promise<void>;
  readonly stats: ConsumerStats = emptyStats();

  constructor(private readonly options: ConsumerOptions) {
    super();
    this.policy = { ...options.retry, maxReceives: options.queue.addresses.maxReceiveCount };
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

  /** One receive: poison is dead-lettered, copies mirror the job they copy, the rest are delivered as one group. */
  private async handle(received: ReceivedMessage[]): Promise<void> {
    const { keepAlives, jobs: messages } = partitionKeepAlives(received);
    for (const message of keepAlives) this.track(this.discardKeepAlive(message));
    if (messages.length === 0) return;
    this.stats.received += messages.length;
    const entries = messages.map(readEntry);
    for (const entry of entries) this.visibility.hold(entry.message);
    const { jobs, poison } = sortEntries(entries);
    const { owned, copies } = this.jobsInFlight.admit(jobs);
    const delivered = await this.deliver(owned);
    for (const [entry, { outcome }] of delivered) this.jobsInFlight.settle(entry, outcome);
    await Promise.all([
      ...poison.map((entry) => this.acknowledge(entry, this.conclusion(entry, { kind: "poison", reason: entry.poisonReason }))),
      ...[...delivered].map(([entry, concluded]) => this.acknowledge(entry, concluded)),
      ...copies.map(async ({ entry, outcome }) => this.acknowledge(entry, this.conclusion(entry, await outcome))),
    ]);
  }

  /** Not a job (keep-alive.ts): deleted at once, nothing sent, charged, recorded or reported. */
  private async discardKeepAlive(message: ReceivedMessage): Promise<void> {
    const result = await this.acks.apply(message, { action: "delete" }, { key: message.messageId });
    this.options.log.debug("keep-alive message deleted", { sqs_message_id: message.messageId, deleted: result.ok });
    this.slots.give(1);
  }

  /** The group's conclusions: the pipeline's, or a defect's (defect.ts) where it threw or gave none. */
  private async deliver(owned: readonly JobEntry[]): Promise<Map<JobEntry, Conclusion>> {
    const now = Date.now();
    const group = owned.map((entry) => receivedJob(entry, this.options.visibilityTimeoutSeconds, now));
    const deps = { solapi: this.options.solapi, ledger: this.options.ledger, retry: this.policy, log: this.options.log };
    const delivery: Delivery = await deliverGroup(group, deps, this.shutdown.signal).then(
      (conclusions) => ({ ok: true, conclusions }),
      (error: unknown) => ({ ok: false, error }),
    );
    return conclusionsOf(owned, delivery, (entry, outcome) => this.conclusion(entry, outcome));
  }

  private conclusion(entry: Entry, outcome: JobOutcome): Conclusion {
    return { outcome, action: ackActionFor(outcome, entry.message.receiveCount, this.policy) };
  }

  private async acknowledge(entry: Entry, concluded: Conclusion): Promise<void> {
    this.say(outcomeLine(entry, concluded));
    const result = await this.acks.apply(entry.message, concluded.action, { key: entry.key, tenantId: entry.tenantId });
    if (!result.ok) this.say(unacknowledgedLine(entry, concluded.action, result.failure));
    this.visibility.release(entry.message);
    this.jobsInFlight.release(entry);
    const stat = statOf(concluded);
    if (stat) this.stats[stat] += 1;
    this.slots.give(1);
    this.emit("job", jobReport(entry, concluded, result.ok));
  }

  private say({ level, message, fields }: LogLine): void {
    this.options.log.log(level, message, fields);
  }
}

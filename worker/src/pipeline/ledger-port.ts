/**
 * The ledger is what the pipeline asks before and after each send: may this job go, at what price,
 * and what became of it. With DATABASE_URL it is the MySQL send log (store/mysql-ledger.ts); without, the
 * stateless ledger (stateless-ledger.ts), whose only memory is Solapi's own records.
 */

import type { Job } from "../job";
import type { Channel } from "../solapi/messages";
import type { AckAction, SendDefaults } from "./decide";
import type { JobOutcome } from "./outcome";

/** A valid job as received: its key is the business idempotency key, else the SQS MessageId. */
export interface ReceivedJob {
  /** The job's identity in this process: its key within its tenant (jobIdentity). */
  id: string;
  key: string;
  job: Job;
  sqsMessageId: string;
  receiveCount: number;
  /** When the producer enqueued it: no earlier send can belong to it. */
  enqueuedAt: Date;
  /** How long the job's SQS message stays hidden from now, in ms: a claim lasts as long. */
  leaseMs: number;
}

export type Admission = { admitted: true; defaults: SendDefaults } | { admitted: false; outcome: JobOutcome };

export interface ChargeRequest {
  item: ReceivedJob;
  channel: Channel;
  /** The channel whose charge this one replaces (a `both` job falling back): refunded first. */
  replacing?: Channel;
}

export interface ChargeResult {
  /** Jobs that may not be sent, with their outcome; every other job may go. */
  refusals: Map<string, JobOutcome>;
  /** When the fence was passed, the latest moment (performance.now()) the sends may leave. */
  startBy?: number;
}

/** What a job came to, and what SQS is to do with its message. */
export interface Conclusion {
  outcome: JobOutcome;
  action: AckAction;
}

export interface ConcludedJob extends Conclusion {
  item: ReceivedJob;
}

/** Works on the jobs of one receive together, so that a group costs a few statements, not a few per job. */
export interface Ledger {
  /** Before anything is sent: claim each job, check its tenant and reservation. By job id. */
  admit(items: readonly ReceivedJob[]): Promise<Map<string, Admission>>;
  /**
   * Charges each job for its channel and marks its send as started: the fence. Only the owner of a
   * live claim passes, and the sends must then leave by `startBy`.
   */
  charge(requests: readonly ChargeRequest[]): Promise<ChargeResult>;
  /** Records each job's conclusion. A job whose conclusion could not be recorded is retried instead (its entry). */
  record(concluded: readonly ConcludedJob[]): Promise<Map<string, JobOutcome>>;
  /**
   * Resolves when the ledger can take jobs. While its store is unreachable, receiving would only
   * push jobs back and spend their receives towards the DLQ: the poller waits here instead.
   */
  ready(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** A job is its key within its tenant (docs/contract.md §4): the same key of two academies is two jobs. */
export function jobIdentity(tenantId: number | undefined, key: string): string {
  return `${tenantId ?? "?"}:${key}`;
}

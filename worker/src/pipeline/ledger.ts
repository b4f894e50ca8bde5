/**
 * The ledger is what the pipeline asks before and after each send: may this job go, at what price,
 * and what became of it. With DATABASE_URL it is the MySQL send log (store/ledger.ts); without, the
 * stateless ledger here, whose only memory is Solapi's own records.
 */

import { errorMessage } from "../error-message";
import type { Job } from "../job";
import type { SolapiGateway } from "../solapi/client";
import type { Channel } from "../solapi/messages";
import type { AckAction, SendDefaults } from "./decide";
import { type JobOutcome, retry } from "./outcome";

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

export interface Ending {
  item: ReceivedJob;
  outcome: JobOutcome;
  action: AckAction;
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
  /** Writes each job's end down. A job whose end could not be written is retried instead (its entry). */
  finish(endings: readonly Ending[]): Promise<Map<string, JobOutcome>>;
  /**
   * Resolves when the ledger can take jobs. While its store is unreachable, receiving would only
   * push jobs back and spend their receives towards the DLQ: the poller waits here instead.
   */
  ready(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** A job is its key within its tenant (CONTRACT §4): the same key of two academies is two jobs. */
export function jobIdentity(tenantId: number | undefined, key: string): string {
  return `${tenantId ?? "?"}:${key}`;
}

/** Clock skew allowed between the producer's enqueue time and Solapi's records. */
const LOOKUP_MARGIN_MS = 10 * 60 * 1000;

/**
 * Looks an earlier attempt up in Solapi by the job key it carried. Undefined: Solapi holds no such
 * message. Throws when Solapi cannot be asked.
 */
export async function findEarlierSend(solapi: SolapiGateway, item: ReceivedJob): Promise<JobOutcome | undefined> {
  const since = new Date(item.enqueuedAt.getTime() - LOOKUP_MARGIN_MS);
  const sent = await solapi.findSent({ to: item.job.to, jobKey: item.key, tenantId: item.job.tenantId, since });
  if (!sent) return undefined;
  const channel: Channel = sent.type === "ATA" ? "alimtalk" : sent.type === "LMS" ? "lms" : "sms";
  return { kind: "sent", channel, groupId: sent.groupId, messageId: sent.messageId, recovered: true };
}

/**
 * Without a database: a job received again may have been sent by an attempt whose answer was lost,
 * and Solapi's records are the only witness, so it is looked up before it is sent again.
 */
export function statelessLedger(solapi: SolapiGateway, defaults: SendDefaults): Ledger {
  async function admitOne(item: ReceivedJob): Promise<Admission> {
    if (item.receiveCount <= 1 || solapi.mode === "mock") return { admitted: true, defaults };
    try {
      const earlier = await findEarlierSend(solapi, item);
      return earlier ? { admitted: false, outcome: earlier } : { admitted: true, defaults };
    } catch (error) {
      const reason = `could not check whether an earlier attempt was sent: ${errorMessage(error)}`;
      return { admitted: false, outcome: retry(reason, { ambiguous: true }) };
    }
  }
  return {
    admit: async (items) => new Map(await Promise.all(items.map(async (item) => [item.id, await admitOne(item)] as const))),
    charge: async () => ({ refusals: new Map() }),
    finish: async () => new Map(),
    ready: async () => undefined,
    close: async () => undefined,
  };
}

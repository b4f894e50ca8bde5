/**
 * The pipeline's decisions, as pure functions: which channels to try, what a Solapi answer means
 * for the job, and what to tell SQS. No I/O here; process.ts does the work these decide.
 */
import { type BackoffPolicy, backoffMs } from "../backoff";
import type { Job } from "../job";
import type { DeliveryResult } from "../solapi/client";
import { type JobOutcome, type RetryOutcome, retry } from "./outcome";

export interface SendDefaults {
  sender?: string;
  pfId?: string;
  templateId?: string;
}

export type Attempt = "alimtalk" | "text";

export interface Route {
  from?: string;
  pfId?: string;
  templateId?: string;
}

export type Plan = { ok: true; attempts: Attempt[]; route: Route; note?: string } | { ok: false; reason: string };

/** The channels to try, in order, with the sender and Kakao channel each needs (docs/contract.md §1, §2). */
export function planDelivery(job: Job, defaults: SendDefaults): Plan {
  if (job.undeliverable) return { ok: false, reason: job.undeliverable };
  const route: Route = {
    from: job.sender ?? defaults.sender,
    pfId: job.pfId ?? defaults.pfId,
    templateId: job.templateId ?? defaults.templateId,
  };
  const canAlimtalk = Boolean(route.pfId && route.templateId);
  const canText = Boolean(route.from);
  const noSender = "no sender number: set the job's sender, the tenant's or SOLAPI_SENDER";
  const noKakao = "no Kakao channel or template: set pf_id and template_id, the tenant's, or SOLAPI_KAKAO_PF_ID/SOLAPI_KAKAO_TEMPLATE_ID";

  switch (job.mode) {
    case "sms":
      return canText ? { ok: true, attempts: ["text"], route } : { ok: false, reason: noSender };
    case "alimtalk":
      return canAlimtalk ? { ok: true, attempts: ["alimtalk"], route } : { ok: false, reason: `alimtalk: ${noKakao}` };
    case "both":
      if (canAlimtalk && canText) return { ok: true, attempts: ["alimtalk", "text"], route };
      if (canText) return { ok: true, attempts: ["text"], route, note: `AlimTalk skipped: ${noKakao}` };
      if (canAlimtalk) return { ok: true, attempts: ["alimtalk"], route, note: `no SMS fallback: ${noSender}` };
      return { ok: false, reason: `${noKakao}; ${noSender}` };
  }
}

/**
 * A second message carrying the same job key, received while the first was in flight in this
 * process, waits for the first and mirrors it: a finished job's copy is deleted, anything else is
 * looked at again on the copy's next receive.
 */
export function outcomeForCopy(original: JobOutcome): JobOutcome {
  switch (original.kind) {
    case "sent":
      return { kind: "duplicate", status: "SENT", reason: "a copy of a job this worker just sent" };
    case "failed":
      return { kind: "duplicate", status: "FAILED", reason: "a copy of a job this worker just recorded as failed" };
    case "skipped":
    case "duplicate":
      return { kind: "duplicate", status: original.status, reason: `a copy of a job already ${original.status}` };
    default:
      return retry("a copy of a job still unresolved in this worker", { ambiguous: true });
  }
}

/** The sender numbers and Kakao channels a tenant may send from: its own, its allow-lists, the platform's defaults. */
export interface OwnRoutes {
  senders: ReadonlySet<string>;
  pfIds: ReadonlySet<string>;
}

/** Why a job may not use the sender or Kakao channel it names (docs/contract.md §4); undefined when it may. */
export function foreignRoute(job: Pick<Job, "tenantId" | "sender" | "pfId">, own: OwnRoutes): string | undefined {
  if (job.sender !== undefined && !own.senders.has(job.sender)) {
    return `sender ${job.sender} is not a sender number of tenant ${job.tenantId}: nothing sent, nothing charged`;
  }
  if (job.pfId !== undefined && !own.pfIds.has(job.pfId)) {
    return `Kakao channel ${job.pfId} is not a channel of tenant ${job.tenantId}: nothing sent, nothing charged`;
  }
  return undefined;
}

export interface FallBack {
  fallBack: true;
  /** The refusal, for the log line and the send log. */
  reason: string;
}

/**
 * Reads one Solapi answer; a FallBack when the next channel should be tried: in `both` mode any
 * refusal of the AlimTalk, whatever its code, except our Solapi balance running short (docs/contract.md §2);
 * and a request rejected as a whole for what it said (nothing of it was taken).
 */
export function outcomeOfDelivery(result: DeliveryResult, canFallBack: boolean): JobOutcome | FallBack {
  switch (result.status) {
    case "accepted":
      return { kind: "sent", channel: result.channel, groupId: result.groupId, messageId: result.messageId };
    case "refused":
      if (canFallBack && !result.insufficientBalance) return { fallBack: true, reason: result.reason };
      if (result.kind === "permanent") return { kind: "failed", reason: result.reason };
      return retry(result.reason, { minDelaySeconds: result.minRetrySeconds, alert: result.alert });
    case "failed": {
      const { error } = result;
      if (error.kind === "permanent") {
        return canFallBack && !error.ambiguous ? { fallBack: true, reason: error.message } : { kind: "failed", reason: error.message };
      }
      const { ambiguous, minRetrySeconds: minDelaySeconds, alert, answered } = error;
      return retry(error.message, { ambiguous, minDelaySeconds, alert, answered });
    }
  }
}

/**
 * After a lost answer, what Solapi's records settle: found → sent; absent, when Solapi had answered
 * the request → not taken, so a plain retry whose charge can be refunded; absent after a timeout or
 * a dropped connection → still uncertain (Solapi may be registering it yet).
 */
export function settleLostAnswer(outcome: RetryOutcome, found: JobOutcome | undefined): JobOutcome {
  if (found) return found;
  if (!outcome.answered) return outcome;
  return { ...outcome, ambiguous: false, reason: `${outcome.reason} (Solapi holds no such message: not sent)` };
}

export interface RetryPolicy {
  /** The receive at which the job goes to the DLQ instead of being retried again. */
  maxReceives: number;
  baseSeconds: number;
  maxSeconds: number;
}

/** SQS caps a visibility timeout at 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

/** The back-off of a job that failed: from the configured first and longest waits, half of each wait fixed and half random. */
export function retryBackoff(policy: RetryPolicy): BackoffPolicy {
  return { firstMs: policy.baseSeconds * 1000, maxMs: policy.maxSeconds * 1000, jitter: "equal" };
}

/**
 * The wait before a failed job's next receive: it grows with the receive count, and its random half
 * keeps jobs that failed together from coming back together; never shorter than the error asks.
 */
export function retryDelaySeconds(
  receiveCount: number,
  policy: RetryPolicy,
  minimumSeconds = 0,
  random: () => number = Math.random,
): number {
  const waitSeconds = backoffMs(receiveCount, retryBackoff(policy), random) / 1000;
  return Math.min(MAX_VISIBILITY_SECONDS, Math.round(Math.max(minimumSeconds, waitSeconds)));
}

export type AckAction =
  | { action: "delete" }
  | { action: "retry-later"; delaySeconds: number }
  | { action: "release" }
  | { action: "dead-letter"; reason: string };

/** What SQS should do with a job's message after its outcome (docs/contract.md §5). */
export function ackActionFor(
  outcome: JobOutcome,
  receiveCount: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): AckAction {
  switch (outcome.kind) {
    case "sent":
    case "failed":
    case "skipped":
    case "duplicate":
      return { action: "delete" };
    case "released":
      return { action: "release" };
    case "poison":
      return { action: "dead-letter", reason: outcome.reason };
    case "retry":
      if (receiveCount >= policy.maxReceives) {
        const uncertainty = outcome.ambiguous ? " (Solapi may have accepted it: check before redriving)" : "";
        return { action: "dead-letter", reason: `gave up after ${receiveCount} receives${uncertainty}: ${outcome.reason}` };
      }
      return { action: "retry-later", delaySeconds: retryDelaySeconds(receiveCount, policy, outcome.minDelaySeconds, random) };
  }
}

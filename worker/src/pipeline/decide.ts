/**
 * The pipeline's decisions, as pure functions: which channels to try, what a Solapi answer means
 * for the job, and what to tell SQS. No I/O here; process.ts does the work these decide.
 */
import type { Job } from "../job";
import type { DeliveryResult } from "../solapi/client";
import type { Channel } from "../solapi/messages";

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

export type Plan =
  | { ok: true; attempts: Attempt[]; route: Route; note?: string }
  | { ok: false; reason: string };

/** The channels to try, in order, with the sender and Kakao channel each needs (CONTRACT §1, §2). */
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

/** CONTRACT §4: the statuses of a message_log row. */
export type LogStatus = "CLAIMED" | "SENT" | "FAILED" | "SKIPPED_CANCELLED" | "SKIPPED_BALANCE" | "UNKNOWN";
export type SkippedStatus = "SKIPPED_CANCELLED" | "SKIPPED_BALANCE";

/** What became of a job; every job ends in exactly one of these. */
export type JobOutcome =
  | { kind: "sent"; channel: Channel; groupId: string; messageId: string; fellBackFrom?: string; recovered?: boolean }
  /** Permanent: recorded, refunded and deleted; nothing was sent. */
  | { kind: "failed"; reason: string }
  /** Cancelled reservation, credits short or messaging disabled: recorded and deleted, nothing sent. */
  | { kind: "skipped"; status: SkippedStatus; reason: string }
  /** Already finished by an earlier delivery of the same job: deleted, the record left as it is. */
  | { kind: "duplicate"; status: LogStatus; reason: string }
  | { kind: "retry"; reason: string; ambiguous: boolean; minDelaySeconds: number; alert: boolean }
  /** Whether Solapi took it cannot be known: recorded UNKNOWN and kept for a person (DLQ). */
  | { kind: "unknown"; reason: string }
  | { kind: "poison"; reason: string }
  | { kind: "released"; reason: string };

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
      return { kind: "retry", reason: "a copy of a job still unresolved in this worker", ambiguous: true, minDelaySeconds: 0, alert: false };
  }
}

/** What an existing message_log row means for a job received again. */
export type ClaimDecision =
  | { decision: "done"; status: LogStatus }
  | { decision: "unknown" }
  | { decision: "busy" }
  /** The lease ran out; `uncertain` when a send had started, so Solapi must be asked first. */
  | { decision: "take-over"; uncertain: boolean };

export interface ClaimState {
  status: LogStatus;
  leaseExpired: boolean;
  sendStartedAt: Date | null;
}

export function decideClaim(row: ClaimState): ClaimDecision {
  if (row.status === "UNKNOWN") return { decision: "unknown" };
  if (row.status !== "CLAIMED") return { decision: "done", status: row.status };
  if (!row.leaseExpired) return { decision: "busy" };
  return { decision: "take-over", uncertain: row.sendStartedAt !== null };
}

/** A tenant's price per channel, as MySQL returns DECIMAL: a string, never a float. */
export interface Prices {
  sms: string;
  lms: string;
  alimtalk: string;
}

export function priceFor(channel: Channel, prices: Prices): string {
  return prices[channel];
}

/** How a job's row changes when it finishes (DB mode). */
export type Transition =
  | { write: "none" }
  | { write: "sent" }
  /** A final status; any charge is refunded. */
  | { write: "close"; status: "FAILED" | SkippedStatus; reason: string }
  /** UNKNOWN: the charge stays, since the message may have gone. */
  | { write: "unknown"; reason: string }
  /** Still CLAIMED, lease ended now; `refund` when nothing can have been sent. */
  | { write: "release"; refund: boolean; reason: string };

export function transitionFor(outcome: JobOutcome, action: AckAction): Transition {
  switch (outcome.kind) {
    case "sent":
      return { write: "sent" };
    case "failed":
      return { write: "close", status: "FAILED", reason: outcome.reason };
    case "skipped":
      return { write: "close", status: outcome.status, reason: outcome.reason };
    case "unknown":
      return { write: "unknown", reason: outcome.reason };
    case "retry":
      if (outcome.ambiguous && action.action === "dead-letter") return { write: "unknown", reason: action.reason };
      return { write: "release", refund: !outcome.ambiguous, reason: action.action === "dead-letter" ? action.reason : outcome.reason };
    case "released":
      return { write: "release", refund: true, reason: outcome.reason };
    case "duplicate":
    case "poison":
      return { write: "none" };
  }
}

/** Reads one Solapi answer; `fall-back` when the next channel should be tried. */
export function outcomeOfDelivery(result: DeliveryResult, canFallBack: boolean): JobOutcome | "fall-back" {
  switch (result.status) {
    case "accepted":
      return { kind: "sent", channel: result.channel, groupId: result.groupId, messageId: result.messageId };
    case "refused":
      if (result.kind === "permanent") return canFallBack ? "fall-back" : { kind: "failed", reason: result.reason };
      return { kind: "retry", reason: result.reason, ambiguous: false, minDelaySeconds: result.minRetrySeconds, alert: result.alert };
    case "failed": {
      const { error } = result;
      if (error.kind === "permanent") {
        return canFallBack && !error.ambiguous ? "fall-back" : { kind: "failed", reason: error.message };
      }
      return { kind: "retry", reason: error.message, ambiguous: error.ambiguous, minDelaySeconds: error.minRetrySeconds, alert: error.alert };
    }
  }
}

export interface RetryPolicy {
  /** The receive at which the job goes to the DLQ instead of being retried again. */
  maxReceives: number;
  baseSeconds: number;
  maxSeconds: number;
}

/** SQS caps a visibility timeout at 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * Exponential back-off by receive count with "equal jitter" (half fixed, half random), so jobs that
 * failed together do not come back together.
 */
export function retryDelaySeconds(receiveCount: number, policy: RetryPolicy, minimumSeconds = 0, random: () => number = Math.random): number {
  const exponential = policy.baseSeconds * 2 ** Math.max(0, receiveCount - 1);
  const jittered = exponential / 2 + (exponential / 2) * random();
  const bounded = Math.max(minimumSeconds, Math.min(policy.maxSeconds, jittered));
  return Math.min(MAX_VISIBILITY_SECONDS, Math.round(bounded));
}

export type AckAction =
  | { action: "delete" }
  | { action: "retry-later"; delaySeconds: number }
  | { action: "release" }
  | { action: "dead-letter"; reason: string };

/** What SQS should do with a job's message after its outcome (CONTRACT §5). */
export function ackActionFor(outcome: JobOutcome, receiveCount: number, policy: RetryPolicy, random: () => number = Math.random): AckAction {
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
    case "unknown":
      return { action: "dead-letter", reason: `outcome unknown, kept for a person: ${outcome.reason}` };
    case "retry":
      if (receiveCount >= policy.maxReceives) {
        const uncertainty = outcome.ambiguous ? " (Solapi may have accepted it: check before redriving)" : "";
        return { action: "dead-letter", reason: `gave up after ${receiveCount} receives${uncertainty}: ${outcome.reason}` };
      }
      return { action: "retry-later", delaySeconds: retryDelaySeconds(receiveCount, policy, outcome.minDelaySeconds, random) };
  }
}

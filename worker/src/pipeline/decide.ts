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

/** What became of a job; every job ends in exactly one of these. */
export type JobOutcome =
  | { kind: "sent"; channel: Channel; groupId: string; messageId: string; fellBackFrom?: string; recovered?: boolean }
  | { kind: "failed"; reason: string }
  | { kind: "retry"; reason: string; ambiguous: boolean; minDelaySeconds: number; alert: boolean }
  | { kind: "poison"; reason: string }
  | { kind: "released"; reason: string };

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

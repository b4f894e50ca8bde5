/**
 * The send log's rules, as pure functions beside the SQL that applies them (after Powertools'
 * idempotency record states): what a row found for a job received again means, how a job's row
 * changes when the job is recorded, and what a channel costs a tenant.
 */
import type { AckAction } from "../pipeline/decide";
import type { JobOutcome, LogStatus, SkippedStatus } from "../pipeline/outcome";
import type { Channel } from "../solapi/messages";

/** What an existing message_log row means for a job received again. */
export type ClaimDecision =
  | { decision: "done"; status: LogStatus }
  | { decision: "busy" }
  /** A send begun under the row may still be reaching Solapi: ask only once it has settled. */
  | { decision: "wait"; ms: number }
  /**
   * The lease ran out, or an earlier outcome was UNKNOWN (a redriven job); `uncertain` when a send
   * had begun, so Solapi must be asked before anything is sent again.
   */
  | { decision: "take-over"; uncertain: boolean };

export interface ClaimState {
  status: LogStatus;
  leaseExpired: boolean;
  sendStartedAt: Date | null;
  /** Until a send begun under the row has settled in Solapi (pipeline/send-window.ts); ≤ 0 when settled. */
  settlesInMs: number;
}

export function decideClaim(row: ClaimState): ClaimDecision {
  if (row.status !== "CLAIMED" && row.status !== "UNKNOWN") return { decision: "done", status: row.status };
  if (row.status === "CLAIMED" && !row.leaseExpired) return { decision: "busy" };
  if (row.sendStartedAt !== null && row.settlesInMs > 0) return { decision: "wait", ms: row.settlesInMs };
  return { decision: "take-over", uncertain: row.sendStartedAt !== null };
}

/** How a job's row changes when the job is recorded. */
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

/** A tenant's price per channel, as MySQL returns DECIMAL: a string, never a float. */
export interface Prices {
  sms: string;
  lms: string;
  alimtalk: string;
}

export function priceFor(channel: Channel, prices: Prices): string {
  return prices[channel];
}

/**
 * What became of a job: every job ends in exactly one of these, and each kind has one constructor
 * where more than a literal is needed.
 */
import type { Channel } from "../solapi/messages";

/** What a job ended as in the send log (docs/contract.md §4): a message_log row's status. */
export type LogStatus = "CLAIMED" | "SENT" | "FAILED" | "SKIPPED_CANCELLED" | "SKIPPED_BALANCE" | "UNKNOWN";
/** The ends in which nothing was sent, and nothing charged. */
export type SkippedStatus = "SKIPPED_CANCELLED" | "SKIPPED_BALANCE";

/** What became of a job; every job ends in exactly one of these. */
export type JobOutcome =
  /** `fellBackFrom`/`fallbackReason`: a `both` job whose AlimTalk was refused, sent as SMS/LMS instead. */
  | {
      kind: "sent";
      channel: Channel;
      groupId: string;
      messageId: string;
      fellBackFrom?: string;
      fallbackReason?: string;
      recovered?: boolean;
    }
  /** Permanent: recorded, refunded and deleted; nothing was sent. */
  | { kind: "failed"; reason: string }
  /** Cancelled reservation, credits short or messaging disabled: recorded and deleted, nothing sent. */
  | { kind: "skipped"; status: SkippedStatus; reason: string }
  /** Already finished by an earlier delivery of the same job: deleted, the record left as it is. */
  | { kind: "duplicate"; status: LogStatus; reason: string }
  /**
   * Try again later. `ambiguous`: Solapi may have taken it. `answered`: Solapi answered the request
   * (it did not time out), so a look-up that finds nothing settles that it was not taken.
   */
  | { kind: "retry"; reason: string; ambiguous: boolean; minDelaySeconds: number; alert: boolean; answered?: boolean }
  | { kind: "poison"; reason: string }
  | { kind: "released"; reason: string };

export type RetryOutcome = Extract<JobOutcome, { kind: "retry" }>;

/** Try again later; by default certain that nothing was sent, with no minimum delay and no alert. */
export function retry(
  reason: string,
  options: Partial<Pick<RetryOutcome, "ambiguous" | "minDelaySeconds" | "alert" | "answered">> = {},
): RetryOutcome {
  const outcome: RetryOutcome = {
    kind: "retry",
    reason,
    ambiguous: options.ambiguous ?? false,
    minDelaySeconds: options.minDelaySeconds ?? 0,
    alert: options.alert ?? false,
  };
  if (options.answered !== undefined) outcome.answered = options.answered;
  return outcome;
}

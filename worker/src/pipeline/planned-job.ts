/**
 * A job on its way: admitted by the ledger and planned by planDelivery (decide.ts), with the
 * channels it has still to try and the sender and Kakao channel they go from.
 */
import { type Channel, textChannel } from "../solapi/messages";
import type { Attempt, Route } from "./decide";
import type { ReceivedJob } from "./ledger-port";

/** Why a `both` job's AlimTalk did not go: kept for the log line and the send log. */
export interface Refusal {
  channel: Channel;
  reason: string;
}

export interface PlannedJob {
  item: ReceivedJob;
  /** The channels still to try, in order; the first is the one charged and sent now. */
  attempts: Attempt[];
  route: Route;
  /** The refusal that led to this attempt: its channel's charge is refunded when this one is charged. */
  refusal?: Refusal;
}

/**
 * The attempt a planned job is charged for and sent on now. A plan always has one (planDelivery),
 * and a job falls back only while another remains (outcomeOfDelivery's `canFallBack`).
 */
export function currentAttempt(planned: PlannedJob): Attempt {
  const [attempt] = planned.attempts;
  if (attempt === undefined) throw new Error(`job ${planned.item.key} has no channel left to try`);
  return attempt;
}

/** The channel the job is charged for now: AlimTalk, or SMS or LMS by its text's length. */
export function currentChannel(planned: PlannedJob): Channel {
  return currentAttempt(planned) === "alimtalk" ? "alimtalk" : textChannel(planned.item.job.text);
}

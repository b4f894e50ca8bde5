/**
 * What the consumer says about each job it acknowledges, as pure functions: the report to listeners
 * (demo, stress, metrics, tests), the count it adds to, and its log line. Operators and acceptance
 * suites read these lines: their messages and fields are part of the contract.
 */
import type { Job } from "../job";
import { maskRecipient } from "../log";
import type { AckAction } from "../pipeline/decide";
import type { Conclusion } from "../pipeline/ledger-port";
import type { JobOutcome } from "../pipeline/outcome";
import type { BatchFailure } from "../sqs/queue";
import type { Entry } from "./entry";

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
  skipped: number;
  duplicates: number;
  retried: number;
  deadLettered: number;
  released: number;
}

export type LogLevel = "info" | "warn" | "error";

export interface LogLine {
  level: LogLevel;
  message: string;
  fields: Record<string, unknown>;
}

const LOG_LEVEL: Record<JobOutcome["kind"], LogLevel> = {
  sent: "info",
  failed: "warn",
  skipped: "info",
  duplicate: "info",
  retry: "warn",
  poison: "error",
  released: "info",
};

export function emptyStats(): ConsumerStats {
  return { received: 0, sent: 0, failed: 0, skipped: 0, duplicates: 0, retried: 0, deadLettered: 0, released: 0 };
}

/** The count an acknowledged job adds one to: a dead letter by its action, anything else by its outcome. */
export function statOf({ outcome, action }: Conclusion): Exclude<keyof ConsumerStats, "received"> | undefined {
  if (action.action === "dead-letter") return "deadLettered";
  switch (outcome.kind) {
    case "sent":
      return "sent";
    case "failed":
      return "failed";
    case "skipped":
      return "skipped";
    case "duplicate":
      return "duplicates";
    case "retry":
      return "retried";
    case "released":
      return "released";
    case "poison":
      // A poison message is always dead-lettered (ackActionFor).
      return undefined;
  }
}

export function jobReport(entry: Entry, { outcome, action }: Conclusion, acknowledged: boolean): JobReport {
  return {
    key: entry.key,
    tenantId: entry.tenantId,
    job: entry.job,
    sqsMessageId: entry.message.messageId,
    receiveCount: entry.message.receiveCount,
    outcome,
    action,
    acknowledged,
  };
}

/** The line that says how a job ended and what SQS is told; the recipient masked. */
export function outcomeLine(entry: Entry, { outcome, action }: Conclusion): LogLine {
  const fields: Record<string, unknown> = {
    job: entry.key,
    tenant_id: entry.tenantId,
    sqs_message_id: entry.message.messageId,
    receive_count: entry.message.receiveCount,
    mode: entry.job?.mode,
    to: entry.job ? maskRecipient(entry.job.to) : undefined,
    event_type: entry.job?.eventType,
    action: action.action,
  };
  if (outcome.kind === "sent") {
    Object.assign(fields, { channel: outcome.channel, group_id: outcome.groupId, message_id: outcome.messageId });
    if (outcome.fellBackFrom) Object.assign(fields, { fell_back_from: outcome.fellBackFrom, fallback_reason: outcome.fallbackReason });
    if (outcome.recovered) fields.recovered = true;
  } else {
    fields.reason = outcome.reason;
    if (outcome.kind === "skipped" || outcome.kind === "duplicate") fields.status = outcome.status;
  }
  if (action.action === "retry-later") fields.retry_in_s = action.delaySeconds;
  if (outcome.kind === "retry" && outcome.alert) fields.alert = true;
  const deadLettered = action.action === "dead-letter";
  return {
    level: deadLettered ? "error" : LOG_LEVEL[outcome.kind],
    message: deadLettered ? "job dead-lettered" : `job ${outcome.kind}`,
    fields,
  };
}

/** The line for an acknowledgement SQS did not take, after its retries. */
export function unacknowledgedLine(entry: Entry, action: AckAction, failure: BatchFailure): LogLine {
  return {
    level: "warn",
    message: "SQS did not take the acknowledgement; the message may be received again",
    fields: {
      job: entry.key,
      tenant_id: entry.tenantId,
      sqs_message_id: entry.message.messageId,
      action: action.action,
      error: failure.message,
    },
  };
}

/**
 * Reading a received message: the job it holds (job.ts) and the job's identity — its key within its
 * tenant — or, for a body that is not a job, the reason it is poison.
 */
import { type Job, JobValidationError, parseJobBody } from "../job";
import { jobIdentity } from "../pipeline/ledger-port";
import type { ReceivedMessage } from "../sqs/queue";
import { JOB_KEY_ATTRIBUTE } from "./acks";

/** A received message as the consumer handles it: its job, or why it is not one. */
export interface Entry {
  message: ReceivedMessage;
  key: string;
  /** The job's identity in this process: its key within its tenant. */
  id: string;
  tenantId?: number;
  job?: Job;
  poisonReason?: string;
  /** This entry holds its job's place among the jobs in flight (it is not a concurrent copy). */
  ownsKey?: boolean;
}

/**
 * A job's key: the producer's business key; else the key a DLQ copy carries (a redriven job is the
 * same job, CONTRACT §5); else the SQS MessageId.
 */
function keyOf(message: ReceivedMessage, businessKey: string | undefined): string {
  return businessKey ?? message.attributes[JOB_KEY_ATTRIBUTE]?.StringValue ?? message.messageId;
}

export function readEntry(message: ReceivedMessage): Entry {
  try {
    const job = parseJobBody(message.body);
    const key = keyOf(message, job.businessIdempotencyKey);
    return { message, job, key, id: jobIdentity(job.tenantId, key), tenantId: job.tenantId };
  } catch (error) {
    const reason = error instanceof JobValidationError ? error.message : `invalid job: ${String(error)}`;
    const tenantId = tenantIdOf(message.body);
    const key = keyOf(message, undefined);
    return { message, key, id: jobIdentity(tenantId, key), tenantId, poisonReason: reason };
  }
}

/** The tenant of a message that is not a valid job, when it can be read, for the log line. */
function tenantIdOf(body: string): number | undefined {
  try {
    const value = (JSON.parse(body) as { tenant_id?: unknown }).tenant_id;
    return typeof value === "number" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reading a received message: the job it holds (job.ts) and the job's identity — its key within its
 * tenant — or, for a body that is not a job, the reason it is poison.
 */
import { type Job, JobValidationError, parseJobBody } from "../job";
import { jobIdentity, type ReceivedJob } from "../pipeline/ledger-port";
import type { ReceivedMessage } from "../sqs/queue";
import { JOB_KEY_ATTRIBUTE } from "./acks";

interface ReadMessage {
  message: ReceivedMessage;
  key: string;
  /** The job's identity in this process: its key within its tenant. */
  id: string;
  tenantId?: number;
}

/** A received message that holds a job. */
export interface JobEntry extends ReadMessage {
  job: Job;
  poisonReason?: undefined;
}

/** A received message that is not a job, and why. */
export interface PoisonEntry extends ReadMessage {
  job?: undefined;
  poisonReason: string;
}

/** A received message as the consumer handles it: its job, or why it is not one. */
export type Entry = JobEntry | PoisonEntry;

/**
 * A job's key: the producer's business key; else the key a DLQ copy carries (a redriven job is the
 * same job, docs/contract.md §5); else the SQS MessageId.
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

/** A receive's entries sorted out: the jobs, and the messages that are not jobs (poison), each in order. */
export function sortEntries(entries: readonly Entry[]): { jobs: JobEntry[]; poison: PoisonEntry[] } {
  const jobs: JobEntry[] = [];
  const poison: PoisonEntry[] = [];
  for (const entry of entries) {
    if (entry.job === undefined) poison.push(entry);
    else jobs.push(entry);
  }
  return { jobs, poison };
}

/** The job as the pipeline takes it; its claim may last as long as the message stays hidden. */
export function receivedJob(entry: JobEntry, visibilityTimeoutSeconds: number, now: number): ReceivedJob {
  const { message } = entry;
  return {
    id: entry.id,
    key: entry.key,
    job: entry.job,
    sqsMessageId: message.messageId,
    receiveCount: message.receiveCount,
    enqueuedAt: message.sentAt,
    leaseMs: Math.max(0, message.receivedAt + visibilityTimeoutSeconds * 1000 - now),
  };
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

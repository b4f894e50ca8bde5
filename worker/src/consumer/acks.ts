import type { MessageAttributeValue } from "@aws-sdk/client-sqs";
import { type Logger, maskPhone } from "../log";
import type { AckAction } from "../pipeline/decide";
import type { DeadLetterEntry, JobQueue, ReceivedMessage } from "../sqs/queue";
import { Batcher, type EntryResult } from "./batcher";

/** SQS allows 10 message attributes; the DLQ copy adds `error`, the job's key and its tenant. */
const MAX_MESSAGE_ATTRIBUTES = 10;
const ADDED_ATTRIBUTES = ["error", "job_key", "tenant_id"];
/** The attribute that carries a dead-lettered job's key, so that a redriven copy is the same job (docs/contract.md §5). */
export const JOB_KEY_ATTRIBUTE = "job_key";

/** Which job a DLQ copy is: its key, and its tenant when the body names one. */
export interface JobIdentity {
  key: string;
  tenantId?: number;
}
/** The smallest message size limit among SQS and the emulators (256 KiB), less room for attributes. */
const MAX_DEAD_LETTER_BODY_BYTES = 256 * 1024 - 4 * 1024;
const MAX_ERROR_ATTRIBUTE_LENGTH = 1_000;

/**
 * The DLQ copy of a message: its body and attributes, plus `error` (the reason), `job_key` and
 * `tenant_id` (docs/contract.md §5): a job without a business key is keyed by its SQS MessageId, which the
 * copy does not keep.
 */
export function deadLetterCopy(message: ReceivedMessage, reason: string, job: JobIdentity): Omit<DeadLetterEntry, "id"> {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.attributes)) {
    if (ADDED_ATTRIBUTES.includes(name) || Object.keys(attributes).length >= MAX_MESSAGE_ATTRIBUTES - ADDED_ATTRIBUTES.length - 1) continue;
    attributes[name] = value;
  }
  attributes.error = { DataType: "String", StringValue: maskPhone(reason).slice(0, MAX_ERROR_ATTRIBUTE_LENGTH) };
  attributes[JOB_KEY_ATTRIBUTE] = { DataType: "String", StringValue: job.key };
  if (job.tenantId !== undefined) attributes.tenant_id = { DataType: "Number", StringValue: String(job.tenantId) };
  let body = message.body || "(empty body)";
  if (Buffer.byteLength(body) > MAX_DEAD_LETTER_BODY_BYTES) {
    body = Buffer.from(body).subarray(0, MAX_DEAD_LETTER_BODY_BYTES).toString("utf8");
    attributes.body_truncated = { DataType: "String", StringValue: `original ${Buffer.byteLength(message.body)} bytes` };
  }
  return { body, attributes };
}

/**
 * Applies acknowledgement decisions to SQS: deletes, back-off visibility changes, releases and
 * DLQ moves, each batched with whatever else finished in the same tick.
 */
export class Acknowledger {
  private readonly deletes: Batcher<ReceivedMessage>;
  private readonly visibility: Batcher<{ message: ReceivedMessage; seconds: number }>;
  private readonly deadLetters: Batcher<Omit<DeadLetterEntry, "id">>;

  constructor(
    queue: Pick<JobQueue, "deleteBatch" | "changeVisibilityBatch" | "deadLetterBatch">,
    private readonly log: Logger,
  ) {
    this.deletes = new Batcher({
      name: "DeleteMessageBatch",
      log,
      call: (entries) => queue.deleteBatch(entries.map(({ id, item }) => ({ id, receiptHandle: item.receiptHandle }))),
    });
    this.visibility = new Batcher({
      name: "ChangeMessageVisibilityBatch",
      log,
      call: (entries) =>
        queue.changeVisibilityBatch(
          entries.map(({ id, item }) => ({ id, receiptHandle: item.message.receiptHandle, seconds: item.seconds })),
        ),
    });
    this.deadLetters = new Batcher({
      name: "SendMessageBatch (DLQ)",
      log,
      call: (entries) => queue.deadLetterBatch(entries.map(({ id, item }) => ({ id, ...item }))),
    });
  }

  /** Extends or shortens a message's visibility (heartbeats use this too). */
  changeVisibility(message: ReceivedMessage, seconds: number): Promise<EntryResult> {
    return this.visibility.submit({ message, seconds });
  }

  async apply(message: ReceivedMessage, action: AckAction, job: JobIdentity): Promise<EntryResult> {
    switch (action.action) {
      case "delete":
        return this.deletes.submit(message);
      case "retry-later":
        return this.changeVisibility(message, action.delaySeconds);
      case "release":
        return this.changeVisibility(message, 0);
      case "dead-letter": {
        const copied = await this.deadLetters.submit(deadLetterCopy(message, action.reason, job));
        if (!copied.ok) {
          // Left on the queue: SQS's own redrive still moves it after maxReceiveCount receives.
          this.log.error("could not copy the message to the DLQ; leaving it for redrive", {
            sqs_message_id: message.messageId,
            error: copied.failure.message,
          });
          return copied;
        }
        return this.deletes.submit(message);
      }
    }
  }

  async drain(): Promise<void> {
    await this.deadLetters.drain();
    await Promise.all([this.deletes.drain(), this.visibility.drain()]);
  }
}

import type { MessageAttributeValue } from "@aws-sdk/client-sqs";
import { type Logger, maskPhone } from "../log";
import type { AckAction } from "../pipeline/decide";
import type { DeadLetterEntry, JobQueue, ReceivedMessage } from "../sqs/queue";
import { Batcher, type EntryResult } from "./batcher";

/** SQS allows 10 message attributes; the DLQ copy adds `error`. */
const MAX_MESSAGE_ATTRIBUTES = 10;
/** The smallest message size limit among SQS and the emulators (256 KiB), less room for attributes. */
const MAX_DEAD_LETTER_BODY_BYTES = 256 * 1024 - 4 * 1024;
const MAX_ERROR_ATTRIBUTE_LENGTH = 1_000;

/** The DLQ copy of a message: its body and attributes, plus the `error` attribute (CONTRACT §5). */
export function deadLetterCopy(message: ReceivedMessage, reason: string): Omit<DeadLetterEntry, "id"> {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.attributes)) {
    if (name === "error" || Object.keys(attributes).length >= MAX_MESSAGE_ATTRIBUTES - 2) continue;
    attributes[name] = value;
  }
  attributes.error = { DataType: "String", StringValue: maskPhone(reason).slice(0, MAX_ERROR_ATTRIBUTE_LENGTH) };
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
    queue: JobQueue,
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
        queue.changeVisibilityBatch(entries.map(({ id, item }) => ({ id, receiptHandle: item.message.receiptHandle, seconds: item.seconds }))),
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

  async apply(message: ReceivedMessage, action: AckAction): Promise<EntryResult> {
    switch (action.action) {
      case "delete":
        return this.deletes.submit(message);
      case "retry-later":
        return this.changeVisibility(message, action.delaySeconds);
      case "release":
        return this.changeVisibility(message, 0);
      case "dead-letter": {
        const copied = await this.deadLetters.submit(deadLetterCopy(message, action.reason));
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

import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  type QueueAttributeName,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { QueueAddresses } from "./client";

/** A received job message, with the system attributes the worker reads. */
export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  receiveCount: number;
  /** When the producer sent it (SQS SentTimestamp). */
  sentAt: Date;
  attributes: Record<string, MessageAttributeValue>;
  /**
   * When the receive was requested, in ms since the epoch: the earliest moment the message's
   * visibility timeout can have started (a long poll may hold a message before it answers).
   */
  receivedAt: number;
}

export interface BatchFailure {
  code: string;
  message: string;
  /** The request itself was wrong (a stale receipt handle): repeating it cannot help. */
  senderFault: boolean;
}

/** Failures by entry id; an entry that is absent succeeded. Throws when the call as a whole failed. */
export type BatchOutcome = Map<string, BatchFailure>;

export interface DeadLetterEntry {
  id: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
}

const SYSTEM_ATTRIBUTES = ["ApproximateReceiveCount", "SentTimestamp", "ApproximateFirstReceiveTimestamp"] as const;

function toReceived(message: Message, receivedAt: number): ReceivedMessage {
  const system = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    receiveCount: Number(system.ApproximateReceiveCount ?? 1),
    sentAt: new Date(Number(system.SentTimestamp ?? receivedAt)),
    attributes: message.MessageAttributes ?? {},
    receivedAt,
  };
}

function failures(failed: readonly { Id?: string; Code?: string; Message?: string; SenderFault?: boolean }[] | undefined): BatchOutcome {
  return new Map(
    (failed ?? []).map((entry) => [
      entry.Id ?? "",
      { code: entry.Code ?? "Unknown", message: entry.Message ?? "", senderFault: entry.SenderFault ?? false },
    ]),
  );
}

/** The job queue and its DLQ, as the consumer uses them: thin calls, no policy. */
export class JobQueue {
  constructor(
    readonly sqs: SQSClient,
    readonly addresses: QueueAddresses,
  ) {}

  async receive(max: number, waitSeconds: number, visibilityTimeout: number, signal: AbortSignal): Promise<ReceivedMessage[]> {
    const requestedAt = Date.now();
    const { Messages } = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.addresses.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: visibilityTimeout,
        // Both names: the local emulator reads only the deprecated AttributeNames and ignores the other.
        AttributeNames: [...SYSTEM_ATTRIBUTES] as unknown as QueueAttributeName[],
        MessageSystemAttributeNames: [...SYSTEM_ATTRIBUTES],
        MessageAttributeNames: ["All"],
      }),
      { abortSignal: signal },
    );
    return (Messages ?? []).map((message) => toReceived(message, requestedAt));
  }

  async deleteBatch(entries: readonly { id: string; receiptHandle: string }[]): Promise<BatchOutcome> {
    const { Failed } = await this.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.addresses.queueUrl,
        Entries: entries.map((entry) => ({ Id: entry.id, ReceiptHandle: entry.receiptHandle })),
      }),
    );
    return failures(Failed);
  }

  async changeVisibilityBatch(entries: readonly { id: string; receiptHandle: string; seconds: number }[]): Promise<BatchOutcome> {
    const { Failed } = await this.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: this.addresses.queueUrl,
        Entries: entries.map((entry) => ({ Id: entry.id, ReceiptHandle: entry.receiptHandle, VisibilityTimeout: entry.seconds })),
      }),
    );
    return failures(Failed);
  }

  async deadLetterBatch(entries: readonly DeadLetterEntry[]): Promise<BatchOutcome> {
    const { Failed } = await this.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: this.addresses.deadLetterQueueUrl,
        Entries: entries.map((entry) => ({ Id: entry.id, MessageBody: entry.body, MessageAttributes: entry.attributes })),
      }),
    );
    return failures(Failed);
  }
}

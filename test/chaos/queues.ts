/**
 * A chaos run's job queue and DLQ, on a `local-aws-sqs` emulator of its own: bodies enqueued
 * directly (not through the fault proxy), what is still queued counted, and the DLQ read (and
 * emptied) as the run goes, for the reconciliation.
 */
import type { AddressInfo } from "node:net";
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { createSqsServer } from "local-aws-sqs";
import { type CreatedQueues, createQueues } from "../../worker/src/sqs/admin";
import type { DeadLetter } from "./run-records";

const QUEUE_COUNTS = [
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
] as const;

export class ChaosQueues {
  /** What reached the DLQ so far. */
  readonly deadLetters: DeadLetter[] = [];
  private draining = false;
  private drainer?: Promise<void>;

  private constructor(
    readonly endpoint: string,
    readonly queues: CreatedQueues,
    private readonly sqs: SQSClient,
    private readonly closeEmulator: () => Promise<void>,
  ) {}

  static async start(name: string): Promise<ChaosQueues> {
    const emulator = await createSqsServer({
      port: 0,
      hostname: "127.0.0.1",
      region: "ap-northeast-2",
      emulateQueueCreationLifecycle: false,
    });
    const endpoint = `http://127.0.0.1:${(emulator.address() as AddressInfo).port}`;
    const sqs = new SQSClient({ region: "ap-northeast-2", endpoint, credentials: { accessKeyId: "chaos", secretAccessKey: "chaos" } });
    // local-aws-sqs counts every ChangeMessageVisibility as a receive (docs/testing.md): each back-off
    // and each heartbeat of a slow send adds to the count, which there runs two to three times ahead
    // of real SQS's. maxReceiveCount 10 keeps its redrive from cutting short the attempts SQS gives.
    const queues = await createQueues(sqs, {
      queueName: name,
      dlqName: `${name}-dlq`,
      waitSeconds: 1,
      visibilityTimeoutSeconds: 4,
      maxReceiveCount: 10,
    });
    return new ChaosQueues(endpoint, queues, sqs, async () => {
      emulator.closeAllConnections();
      await new Promise<void>((done) => emulator.close(() => done()));
    });
  }

  /** Enqueues bodies on the job queue, ten a request. */
  async enqueue(bodies: string[]): Promise<void> {
    for (let start = 0; start < bodies.length; start += 10) {
      const entries = bodies.slice(start, start + 10).map((body, index) => ({ Id: String(index), MessageBody: body }));
      const { Failed } = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queues.queueUrl, Entries: entries }));
      if (Failed?.length) throw new Error(`the emulator refused ${Failed.length} bodies: ${Failed[0]!.Message}`);
    }
  }

  /** Messages still in the job queue (`dlq`: in the DLQ): visible, in flight or delayed. */
  async left(dlq = false): Promise<number> {
    const QueueUrl = dlq ? this.queues.deadLetterQueueUrl : this.queues.queueUrl;
    const { Attributes } = await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: [...QUEUE_COUNTS] }));
    return QUEUE_COUNTS.reduce((sum, name) => sum + Number(Attributes?.[name] ?? 0), 0);
  }

  /** Reads (and removes) what reaches the DLQ, until stopDraining. */
  startDraining(): void {
    this.draining = true;
    this.drainer = this.drain();
  }

  async stopDraining(): Promise<void> {
    this.draining = false;
    await this.drainer;
  }

  private async drain(): Promise<void> {
    while (this.draining) {
      const { Messages } = await this.sqs
        .send(
          new ReceiveMessageCommand({
            QueueUrl: this.queues.deadLetterQueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageAttributeNames: ["All"],
            VisibilityTimeout: 30,
          }),
        )
        .catch(() => ({ Messages: undefined }));
      if (!Messages?.length) continue;
      this.deadLetters.push(...Messages.map(deadLetterOf));
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queues.deadLetterQueueUrl,
          Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
  }

  async close(): Promise<void> {
    this.draining = false;
    await this.drainer?.catch(() => undefined);
    this.sqs.destroy();
    await this.closeEmulator();
  }
}

/** What the reconciliation needs of a DLQ message: whose it is, and what the worker's copy says. */
function deadLetterOf(message: Message): DeadLetter {
  const body = message.Body ?? "";
  let decoded: { business_idempotency_key?: unknown; tenant_id?: unknown } = {};
  try {
    const value: unknown = JSON.parse(body);
    if (value && typeof value === "object") decoded = value;
  } catch {
    decoded = {};
  }
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  return {
    key: typeof decoded.business_idempotency_key === "string" ? decoded.business_idempotency_key : undefined,
    tenantId: typeof decoded.tenant_id === "number" ? decoded.tenant_id : undefined,
    nonce: /chaos-poison-[0-9a-f-]+/.exec(body)?.[0],
    error: attribute("error"),
    jobKeyAttribute: attribute("job_key"),
    tenantIdAttribute: attribute("tenant_id"),
  };
}

import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueNameExists,
  SetQueueAttributesCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";

/** docs/contract.md §5: the queue's attributes; Pulumi (infra/queue.ts) creates the same. */
export const QUEUE_DEFAULTS = {
  visibilityTimeoutSeconds: 60,
  waitSeconds: 20,
  maxReceiveCount: 3,
  deadLetterRetentionSeconds: 14 * 24 * 60 * 60,
} as const;

export interface QueueSpec {
  queueName: string;
  dlqName: string;
  visibilityTimeoutSeconds?: number;
  waitSeconds?: number;
  maxReceiveCount?: number;
}

export interface CreatedQueues {
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
  deadLetterQueueArn: string;
}

/** A field SQS always sends, or a clear error where a carried-on `undefined` would fail later and obscurely. */
function answered(value: string | undefined, what: string): string {
  if (!value) throw new Error(`SQS answered without ${what}`);
  return value;
}

/** Creates the queue, or brings an existing one's attributes to `attributes`: safe to run again. */
async function ensureQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<{ url: string; arn: string }> {
  let url: string;
  try {
    url = answered((await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl, `the URL of ${name}`);
  } catch (error) {
    if (!(error instanceof QueueNameExists) && (error as { name?: string }).name !== "QueueAlreadyExists") throw error;
    url = answered((await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl, `the URL of ${name}`);
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  }
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  return { url, arn: answered(Attributes?.QueueArn, `the ARN of ${name}`) };
}

/** The DLQ (14 days) and the job queue redriving to it after `maxReceiveCount` receives. */
export async function createQueues(sqs: SQSClient, spec: QueueSpec): Promise<CreatedQueues> {
  const deadLetter = await ensureQueue(sqs, spec.dlqName, {
    MessageRetentionPeriod: String(QUEUE_DEFAULTS.deadLetterRetentionSeconds),
    SqsManagedSseEnabled: "true",
  });
  const queue = await ensureQueue(sqs, spec.queueName, {
    VisibilityTimeout: String(spec.visibilityTimeoutSeconds ?? QUEUE_DEFAULTS.visibilityTimeoutSeconds),
    ReceiveMessageWaitTimeSeconds: String(spec.waitSeconds ?? QUEUE_DEFAULTS.waitSeconds),
    SqsManagedSseEnabled: "true",
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: deadLetter.arn,
      maxReceiveCount: spec.maxReceiveCount ?? QUEUE_DEFAULTS.maxReceiveCount,
    }),
  });
  return { queueUrl: queue.url, queueArn: queue.arn, deadLetterQueueUrl: deadLetter.url, deadLetterQueueArn: deadLetter.arn };
}

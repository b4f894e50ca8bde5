import { GetQueueAttributesCommand, GetQueueUrlCommand, QueueDoesNotExist, SQSClient } from "@aws-sdk/client-sqs";
import { hasAwsCredentials, type SqsConfig } from "../config";

/** Seconds a request may take beyond the long-poll wait before the SDK gives up on it. */
const REQUEST_MARGIN_SECONDS = 15;

/**
 * An SQS client for the worker. Against a local endpoint (LocalStack, the emulator) with no AWS
 * credentials in the environment it signs with placeholder credentials, which such endpoints accept.
 */
export function createSqsClient(config: Pick<SqsConfig, "region" | "endpoint" | "waitSeconds">, env = process.env): SQSClient {
  return new SQSClient({
    region: config.region,
    endpoint: config.endpoint,
    credentials: config.endpoint && !hasAwsCredentials(env) ? { accessKeyId: "local", secretAccessKey: "local" } : undefined,
    maxAttempts: 3,
    requestHandler: {
      connectionTimeout: 5_000,
      requestTimeout: (config.waitSeconds + REQUEST_MARGIN_SECONDS) * 1000,
      // Several long polls plus acknowledgements share the pool.
      httpAgent: { keepAlive: true, maxSockets: 256 },
      httpsAgent: { keepAlive: true, maxSockets: 256 },
    },
  });
}

export interface QueueAddresses {
  queueUrl: string;
  deadLetterQueueUrl: string;
  /** From the queue's redrive policy: the receive at which SQS itself dead-letters a message. */
  maxReceiveCount: number;
}

/** The redrive default of docs/contract.md §5, used when the queue has no redrive policy. */
export const DEFAULT_MAX_RECEIVE_COUNT = 3;

export class QueueNotFoundError extends Error {
  constructor(name: string) {
    super(`SQS queue "${name}" does not exist: create it with \`npm run sqs:create\` or the Pulumi stack`);
    this.name = "QueueNotFoundError";
  }
}

async function queueUrlByName(sqs: SQSClient, name: string): Promise<string> {
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (!QueueUrl) throw new QueueNotFoundError(name);
    return QueueUrl;
  } catch (error) {
    if (error instanceof QueueDoesNotExist || (error as { name?: string }).name === "AWS.SimpleQueueService.NonExistentQueue") {
      throw new QueueNotFoundError(name);
    }
    throw error;
  }
}

/** Finds the job queue and its DLQ; the queue's own redrive policy names the DLQ when it has one. */
export async function resolveQueues(
  sqs: SQSClient,
  config: Pick<SqsConfig, "queueName" | "queueUrl" | "dlqName">,
): Promise<QueueAddresses> {
  const queueUrl = config.queueUrl ?? (await queueUrlByName(sqs, config.queueName));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["RedrivePolicy"] }));
  const redrive = Attributes?.RedrivePolicy
    ? (JSON.parse(Attributes.RedrivePolicy) as { deadLetterTargetArn?: string; maxReceiveCount?: number | string })
    : undefined;
  const dlqName = redrive?.deadLetterTargetArn?.split(":").pop() ?? config.dlqName;
  return {
    queueUrl,
    deadLetterQueueUrl: await queueUrlByName(sqs, dlqName),
    maxReceiveCount: Number(redrive?.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT),
  };
}

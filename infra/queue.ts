import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { WorkerArgs } from "./args";

export interface JobQueues {
  queue: aws.sqs.Queue;
  deadLetterQueue: aws.sqs.Queue;
}

const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60;
const JOB_RETENTION_SECONDS = 4 * 24 * 60 * 60;

/** The job queue and its DLQ (CONTRACT §5), encrypted at rest with SQS-managed keys. */
export function jobQueues(name: string, args: WorkerArgs, opts: pulumi.CustomResourceOptions): JobQueues {
  const deadLetterQueue = new aws.sqs.Queue(
    `${name}-dlq`,
    {
      name: args.queue.deadLetterName,
      messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
      sqsManagedSseEnabled: true,
      tags: args.tags,
    },
    opts,
  );
  const queue = new aws.sqs.Queue(
    `${name}-queue`,
    {
      name: args.queue.name,
      visibilityTimeoutSeconds: args.queue.visibilityTimeoutSeconds,
      receiveWaitTimeSeconds: args.queue.waitSeconds,
      messageRetentionSeconds: JOB_RETENTION_SECONDS,
      sqsManagedSseEnabled: true,
      redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: deadLetterQueue.arn, maxReceiveCount: args.queue.maxReceiveCount }),
      tags: args.tags,
    },
    opts,
  );
  new aws.sqs.RedriveAllowPolicy(
    `${name}-dlq-redrive-allow`,
    {
      queueUrl: deadLetterQueue.url,
      redriveAllowPolicy: pulumi.jsonStringify({ redrivePermission: "byQueue", sourceQueueArns: [queue.arn] }),
    },
    opts,
  );
  return { queue, deadLetterQueue };
}

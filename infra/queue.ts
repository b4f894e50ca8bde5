import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StackComponent } from "./component";
import type { StackSettings } from "./settings";

const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60;
const JOB_RETENTION_SECONDS = 4 * 24 * 60 * 60;

/** The job queue and its DLQ (docs/contract.md §5), encrypted at rest with SQS-managed keys. */
export class JobQueues extends StackComponent {
  readonly queue: aws.sqs.Queue;
  readonly deadLetterQueue: aws.sqs.Queue;

  constructor(name: string, settings: StackSettings, opts?: pulumi.ComponentResourceOptions) {
    super("JobQueues", name, opts);
    this.deadLetterQueue = new aws.sqs.Queue(
      `${name}-dlq`,
      {
        name: settings.queue.deadLetterName,
        messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
        sqsManagedSseEnabled: true,
        tags: settings.tags,
      },
      this.child(),
    );
    this.queue = new aws.sqs.Queue(
      `${name}-queue`,
      {
        name: settings.queue.name,
        visibilityTimeoutSeconds: settings.queue.visibilityTimeoutSeconds,
        receiveWaitTimeSeconds: settings.queue.waitSeconds,
        messageRetentionSeconds: JOB_RETENTION_SECONDS,
        sqsManagedSseEnabled: true,
        redrivePolicy: pulumi.jsonStringify({
          deadLetterTargetArn: this.deadLetterQueue.arn,
          maxReceiveCount: settings.queue.maxReceiveCount,
        }),
        tags: settings.tags,
      },
      this.child(),
    );
    new aws.sqs.RedriveAllowPolicy(
      `${name}-dlq-redrive-allow`,
      {
        queueUrl: this.deadLetterQueue.url,
        redriveAllowPolicy: pulumi.jsonStringify({ redrivePermission: "byQueue", sourceQueueArns: [this.queue.arn] }),
      },
      this.child(),
    );
    this.registerOutputs({ queueUrl: this.queue.url, deadLetterQueueUrl: this.deadLetterQueue.url });
  }
}

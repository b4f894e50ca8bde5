import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { WorkerArgs } from "./args";
import type { JobQueues } from "./queue";

export interface Alarms {
  topic?: aws.sns.Topic;
  deadLetters: aws.cloudwatch.MetricAlarm;
  oldestJob: aws.cloudwatch.MetricAlarm;
}

/** Someone must look: a message reached the DLQ, or jobs wait longer than they should. */
export function queueAlarms(name: string, args: WorkerArgs, queues: JobQueues, opts: pulumi.CustomResourceOptions): Alarms {
  const topic = args.alarms.email
    ? new aws.sns.Topic(`${name}-alarms`, { name: `academy-messaging-${args.stack}-alarms`, tags: args.tags }, opts)
    : undefined;
  if (topic && args.alarms.email) {
    new aws.sns.TopicSubscription(`${name}-alarms-email`, { topic: topic.arn, protocol: "email", endpoint: args.alarms.email }, opts);
  }
  const notify: pulumi.Input<string>[] = [...(topic ? [topic.arn] : []), ...(args.alarms.topicArn ? [args.alarms.topicArn] : [])];

  const deadLetters = new aws.cloudwatch.MetricAlarm(
    `${name}-dlq-not-empty`,
    {
      alarmDescription: `${args.queue.deadLetterName} holds messages: see docs/operations.md "The dead-letter queue"`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: queues.deadLetterQueue.name },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 1,
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      treatMissingData: "notBreaching",
      alarmActions: notify,
      okActions: notify,
      tags: args.tags,
    },
    opts,
  );
  const oldestJob = new aws.cloudwatch.MetricAlarm(
    `${name}-oldest-job-too-old`,
    {
      alarmDescription: `${args.queue.name}: a job has waited over ${args.alarms.oldestMessageSeconds} s`,
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: queues.queue.name },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      comparisonOperator: "GreaterThanThreshold",
      threshold: args.alarms.oldestMessageSeconds,
      treatMissingData: "notBreaching",
      alarmActions: notify,
      okActions: notify,
      tags: args.tags,
    },
    opts,
  );
  return { topic, deadLetters, oldestJob };
}

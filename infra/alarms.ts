import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { StackComponent } from "./component";
import { stackNames } from "./names";
import type { JobQueues } from "./queue";
import type { StackSettings } from "./settings";

/** Someone must look: a message reached the DLQ, or jobs wait longer than they should. */
export class QueueAlarms extends StackComponent {
  /** The topic the stack makes for `alarmEmail`, if any. */
  readonly topic?: aws.sns.Topic;
  readonly deadLetters: aws.cloudwatch.MetricAlarm;
  readonly oldestJob: aws.cloudwatch.MetricAlarm;

  constructor(name: string, settings: StackSettings, queues: JobQueues, opts?: pulumi.ComponentResourceOptions) {
    super("Alarms", name, opts);
    const { email, topicArn, oldestMessageSeconds } = settings.alarms;
    if (email) {
      this.topic = new aws.sns.Topic(`${name}-alarms`, { name: stackNames(settings.stack).alarmTopic, tags: settings.tags }, this.child());
      new aws.sns.TopicSubscription(`${name}-alarms-email`, { topic: this.topic.arn, protocol: "email", endpoint: email }, this.child());
    }
    const notify: pulumi.Input<string>[] = [...(this.topic ? [this.topic.arn] : []), ...(topicArn ? [topicArn] : [])];

    this.deadLetters = new aws.cloudwatch.MetricAlarm(
      `${name}-dlq-not-empty`,
      {
        alarmDescription: `${settings.queue.deadLetterName} holds messages: see docs/operations.md "The dead-letter queue"`,
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
        tags: settings.tags,
      },
      this.child(),
    );
    this.oldestJob = new aws.cloudwatch.MetricAlarm(
      `${name}-oldest-job-too-old`,
      {
        alarmDescription: `${settings.queue.name}: a job has waited over ${oldestMessageSeconds} s`,
        namespace: "AWS/SQS",
        metricName: "ApproximateAgeOfOldestMessage",
        dimensions: { QueueName: queues.queue.name },
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        comparisonOperator: "GreaterThanThreshold",
        threshold: oldestMessageSeconds,
        treatMissingData: "notBreaching",
        alarmActions: notify,
        okActions: notify,
        tags: settings.tags,
      },
      this.child(),
    );
    this.registerOutputs({ topicArn: this.topic?.arn, deadLetters: this.deadLetters.arn, oldestJob: this.oldestJob.arn });
  }
}

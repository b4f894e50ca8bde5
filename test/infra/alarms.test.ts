/**
 * The alarms (infra/alarms.ts) and the dashboard beside them (infra/dashboard.ts) in the default
 * stack, under Pulumi's mocks.
 */
import { expect } from "chai";
import { type Built, build, settingsFor } from "../support/worker-stack";

interface Widget {
  type: string;
  properties: { title?: string; region?: string; metrics?: unknown[][]; alarms?: string[] };
}

describe("infrastructure: alarms and the dashboard", function () {
  this.timeout(30_000);
  let built: Built;
  before(async () => {
    built = await build(settingsFor());
  });

  it("alarms: the DLQ holds messages; the oldest job is too old; both notify the SNS topic", () => {
    const topicArn = "arn:aws:sns:ap-northeast-2:123456789012:academy-messaging-dev-alarms";
    const dlq = built.mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm", "messaging-dlq-not-empty").inputs;
    expect(dlq).to.deep.include({
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: "academy-messaging-jobs-dlq" },
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      alarmActions: [topicArn],
    });
    const oldest = built.mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm", "messaging-oldest-job-too-old").inputs;
    expect(oldest).to.deep.include({
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: "academy-messaging-jobs" },
      threshold: 600,
      alarmActions: [topicArn],
    });
    expect(built.mocks.one("aws:sns/topicSubscription:TopicSubscription").inputs).to.include({
      protocol: "email",
      endpoint: "ops@academy.example",
    });
  });

  it("dashboard beside the alarms: the queue, the worker's EMF metrics by queue, the tasks, the alarms' states", () => {
    const dashboard = built.mocks.one("aws:cloudwatch/dashboard:Dashboard").inputs;
    expect(dashboard.dashboardName).to.equal("academy-messaging-dev");
    const widgets: Widget[] = JSON.parse(dashboard.dashboardBody).widgets;
    const metrics = widgets.flatMap((widget) => widget.properties.metrics ?? []).map((metric) => metric.slice(0, -1).join(" "));
    expect(metrics).to.include.members([
      "AWS/SQS ApproximateNumberOfMessagesVisible QueueName academy-messaging-jobs",
      "AWS/SQS ApproximateNumberOfMessagesVisible QueueName academy-messaging-jobs-dlq",
      "AcademyMessaging SentSms Queue academy-messaging-jobs",
      "AcademyMessaging SentAlimtalk Queue academy-messaging-jobs",
      "AcademyMessaging FellBack Queue academy-messaging-jobs",
      "AcademyMessaging DeadLettered Queue academy-messaging-jobs",
      "AcademyMessaging SolapiLatencyP99 Queue academy-messaging-jobs",
      "AWS/ECS MemoryUtilization ClusterName academy-messaging-dev ServiceName academy-messaging-worker",
    ]);
    expect(widgets.find((widget) => widget.type === "alarm")!.properties.alarms).to.deep.equal([
      "arn:aws:cloudwatch:ap-northeast-2:123456789012:messaging-dlq-not-empty",
      "arn:aws:cloudwatch:ap-northeast-2:123456789012:messaging-oldest-job-too-old",
    ]);
    for (const widget of widgets.filter((widget) => widget.type === "metric"))
      expect(widget.properties.region, widget.properties.title).to.equal("ap-northeast-2");
  });
});

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { METRICS_NAMESPACE } from "../worker/src/metrics";
import type { QueueAlarms } from "./alarms";
import { stackNames } from "./names";
import type { StackSettings } from "./settings";

type Metric = (string | { stat: string; label: string })[];

function widget(title: string, metrics: Metric[], region: pulumi.Input<string>, options: Record<string, unknown> = {}) {
  return { type: "metric", width: 12, height: 6, properties: { title, metrics, region, period: 60, view: "timeSeries", ...options } };
}

/**
 * One page beside the alarms: the queue (free SQS metrics), the tasks (free ECS service metrics)
 * and the worker's own minute line (MESSAGING_METRICS, namespace AcademyMessaging): sends by
 * channel, fallbacks, failures, dead letters and Solapi latency.
 */
export function workerDashboard(
  name: string,
  settings: StackSettings,
  ecs: { clusterName: string; serviceName: string },
  alarms: QueueAlarms,
  opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.Dashboard {
  const region = aws.getRegionOutput({}, { parent: opts.parent }).region;
  const { name: queue, deadLetterName } = settings.queue;
  const sqs = (metric: string, queueName: string, label: string): Metric => [
    "AWS/SQS",
    metric,
    "QueueName",
    queueName,
    { stat: "Maximum", label },
  ];
  const worker = (metric: string, stat: string, label: string): Metric => [METRICS_NAMESPACE, metric, "Queue", queue, { stat, label }];
  const service = (metric: string, label: string): Metric => [
    "AWS/ECS",
    metric,
    "ClusterName",
    ecs.clusterName,
    "ServiceName",
    ecs.serviceName,
    { stat: "Maximum", label },
  ];
  const body = {
    widgets: [
      {
        type: "alarm",
        width: 24,
        height: 3,
        properties: { title: "Alarms", alarms: [alarms.deadLetters.arn, alarms.oldestJob.arn] },
      },
      widget(
        "Jobs waiting, in flight, dead-lettered",
        [
          sqs("ApproximateNumberOfMessagesVisible", queue, "waiting"),
          sqs("ApproximateNumberOfMessagesNotVisible", queue, "in flight"),
          sqs("ApproximateNumberOfMessagesVisible", deadLetterName, "in the DLQ"),
        ],
        region,
      ),
      widget("Oldest waiting job, s", [sqs("ApproximateAgeOfOldestMessage", queue, "oldest job")], region),
      widget(
        "Sent, by channel (jobs a minute)",
        [worker("SentSms", "Sum", "SMS"), worker("SentLms", "Sum", "LMS"), worker("SentAlimtalk", "Sum", "AlimTalk")],
        region,
        { view: "timeSeries", stacked: true },
      ),
      widget(
        "Fallbacks, failures, dead letters (jobs a minute)",
        [worker("FellBack", "Sum", "AlimTalk → SMS"), worker("Failed", "Sum", "failed"), worker("DeadLettered", "Sum", "dead-lettered")],
        region,
      ),
      widget("Solapi latency, ms", [worker("SolapiLatencyP50", "Maximum", "p50"), worker("SolapiLatencyP99", "Maximum", "p99")], region),
      widget("Tasks: CPU and memory, % of the task's", [service("CPUUtilization", "CPU"), service("MemoryUtilization", "memory")], region),
    ],
  };
  return new aws.cloudwatch.Dashboard(
    `${name}-dashboard`,
    { dashboardName: stackNames(settings.stack).dashboard, dashboardBody: pulumi.jsonStringify(body) },
    opts,
  );
}

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StackComponent } from "./component";
import { stackNames } from "./names";
import type { JobQueues } from "./queue";
import { backlogPerTask, hasWarmWindow, type StackSettings, startingTasks } from "./settings";

/** Application Auto Scaling takes at most 20 step adjustments per policy. */
export const MAX_TASKS_LIMIT = 20;

/** `cron(M H * * ? *)`: every day at HH:MM (Application Auto Scaling's six-field cron). */
export function dailyAt(time: string): string {
  const [hours, minutes] = time.split(":").map(Number);
  return `cron(${minutes} ${hours} * * ? *)`;
}

/** The queue's backlog: visible plus in-flight messages, so that a task still sending is counted. */
function backlogQueries(queue: aws.sqs.Queue) {
  const metric = (id: string, metricName: string) => ({
    id,
    returnData: false,
    metric: { namespace: "AWS/SQS", metricName, period: 60, stat: "Maximum", dimensions: { QueueName: queue.name } },
  });
  return [
    metric("visible", "ApproximateNumberOfMessagesVisible"),
    metric("inflight", "ApproximateNumberOfMessagesNotVisible"),
    { id: "backlog", label: "visible + in flight", returnData: true, expression: "visible + inflight" },
  ];
}

/**
 * Step adjustments that set the task count to ceil(backlog ÷ backlog per task), capped at maxTasks.
 * Bounds are relative to the alarm threshold of one message.
 */
export function backlogSteps(perTask: number, maxTasks: number) {
  return Array.from({ length: maxTasks }, (_, index) => ({
    metricIntervalLowerBound: String(index * perTask),
    ...(index + 1 < maxTasks ? { metricIntervalUpperBound: String((index + 1) * perTask) } : {}),
    scalingAdjustment: index + 1,
  }));
}

/** The service scaled: its cluster and name, and the queue whose depth it follows. */
export interface ScaledService {
  clusterName: pulumi.Input<string>;
  serviceName: pulumi.Input<string>;
  queues: JobQueues;
}

/**
 * Scaling on queue depth, with free SQS metrics only (no Container Insights):
 * - while anything is queued or in flight, the task count is the backlog divided by the acceptable
 *   backlog per task (AWS's guidance: acceptable latency ÷ time per message), at least one — which
 *   also wakes the service from zero; CloudWatch repeats the action every minute in ALARM;
 * - after `idleMinutesBeforeZero` minutes with nothing queued or in flight, back to `minTasks`.
 */
export class QueueDepthScaling extends StackComponent {
  readonly target: aws.appautoscaling.Target;
  readonly backlogPolicy: aws.appautoscaling.Policy;
  readonly backlogAlarm: aws.cloudwatch.MetricAlarm;
  readonly idlePolicy: aws.appautoscaling.Policy;
  readonly idleAlarm: aws.cloudwatch.MetricAlarm;
  /** The warm window's two scheduled actions, when there is one. */
  readonly warmWindow?: { from: aws.appautoscaling.ScheduledAction; until: aws.appautoscaling.ScheduledAction };
  readonly backlogPerTask: number;

  constructor(name: string, settings: StackSettings, service: ScaledService, opts?: pulumi.ComponentResourceOptions) {
    super("QueueDepthScaling", name, opts);
    const perTask = backlogPerTask(settings.scaling);
    this.backlogPerTask = perTask;
    const warm = hasWarmWindow(settings.scaling);
    this.target = new aws.appautoscaling.Target(
      `${name}-task-count`,
      {
        serviceNamespace: "ecs",
        scalableDimension: "ecs:service:DesiredCount",
        resourceId: pulumi.interpolate`service/${service.clusterName}/${service.serviceName}`,
        minCapacity: startingTasks(settings.scaling),
        maxCapacity: settings.scaling.maxTasks,
      },
      // With a warm window the scheduled actions own the minimum: an update must not put back the
      // value this program started with in the middle of the day or night.
      this.child(warm ? { ignoreChanges: ["minCapacity"] } : {}),
    );
    const { resourceId, scalableDimension, serviceNamespace } = this.target;
    const on = { resourceId, scalableDimension, serviceNamespace };
    this.warmWindow = warm ? this.warmWindowActions(name, settings, on) : undefined;

    this.backlogPolicy = new aws.appautoscaling.Policy(
      `${name}-tasks-for-backlog`,
      {
        policyType: "StepScaling",
        ...on,
        stepScalingPolicyConfiguration: {
          adjustmentType: "ExactCapacity",
          cooldown: 60,
          metricAggregationType: "Maximum",
          stepAdjustments: backlogSteps(perTask, settings.scaling.maxTasks),
        },
      },
      this.child(),
    );
    this.backlogAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-queue-has-work`,
      {
        alarmDescription: `${settings.queue.name}: jobs waiting or in flight; tasks = backlog / ${perTask}`,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: "notBreaching",
        metricQueries: backlogQueries(service.queues.queue),
        alarmActions: [this.backlogPolicy.arn],
        tags: settings.tags,
      },
      this.child(),
    );

    const idle = settings.scaling.idleMinutesBeforeZero;
    this.idlePolicy = new aws.appautoscaling.Policy(
      `${name}-idle-to-minimum`,
      {
        policyType: "StepScaling",
        ...on,
        stepScalingPolicyConfiguration: {
          adjustmentType: "ExactCapacity",
          cooldown: 300,
          metricAggregationType: "Maximum",
          stepAdjustments: [{ metricIntervalUpperBound: "0", scalingAdjustment: settings.scaling.minTasks }],
        },
      },
      this.child(),
    );
    this.idleAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-queue-idle`,
      {
        alarmDescription: `${settings.queue.name}: nothing waiting or in flight for ${idle} min; back to ${settings.scaling.minTasks} tasks`,
        comparisonOperator: "LessThanOrEqualToThreshold",
        threshold: 0,
        evaluationPeriods: idle,
        datapointsToAlarm: idle,
        // SQS stops publishing metrics for a queue that has been inactive: silence is idleness.
        treatMissingData: "breaching",
        metricQueries: backlogQueries(service.queues.queue),
        alarmActions: [this.idlePolicy.arn],
        tags: settings.tags,
      },
      this.child(),
    );
    this.registerOutputs({ resourceId: this.target.resourceId, backlogPerTask: perTask });
  }

  /**
   * The warm window: from `from` the minimum is `warmTasks`, so a task is polling before the first
   * attendance text; from `until` it is back to `minTasks`. Each action sets both bounds (AWS does not
   * restore earlier values), every day, in the configured time zone (Asia/Seoul has no DST).
   */
  private warmWindowActions(name: string, settings: StackSettings, on: ScalableTarget) {
    const { warmWindow, minTasks, maxTasks } = settings.scaling;
    const names = stackNames(settings.stack);
    const action = (edge: "from" | "until", time: string, minCapacity: number) =>
      new aws.appautoscaling.ScheduledAction(
        `${name}-warm-${edge}`,
        {
          name: names.warmWindowAction(edge),
          ...on,
          schedule: dailyAt(time),
          timezone: warmWindow.timezone,
          scalableTargetAction: { minCapacity, maxCapacity: maxTasks },
        },
        this.child(),
      );
    return { from: action("from", warmWindow.from, warmWindow.tasks), until: action("until", warmWindow.until, minTasks) };
  }
}

type ScalableTarget = Pick<aws.appautoscaling.ScheduledActionArgs, "resourceId" | "scalableDimension" | "serviceNamespace">;

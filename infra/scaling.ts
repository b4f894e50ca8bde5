import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { backlogPerTask, hasWarmWindow, startingTasks, type WorkerArgs } from "./args";
import type { JobQueues } from "./queue";

/** Application Auto Scaling takes at most 20 step adjustments per policy. */
export const MAX_TASKS_LIMIT = 20;

export interface Scaling {
  target: aws.appautoscaling.Target;
  backlogPolicy: aws.appautoscaling.Policy;
  backlogAlarm: aws.cloudwatch.MetricAlarm;
  idlePolicy: aws.appautoscaling.Policy;
  idleAlarm: aws.cloudwatch.MetricAlarm;
  /** The warm window's two scheduled actions, when there is one. */
  warmWindow?: { from: aws.appautoscaling.ScheduledAction; until: aws.appautoscaling.ScheduledAction };
  backlogPerTask: number;
}

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

/**
 * Scaling on queue depth, with free SQS metrics only (no Container Insights):
 * - while anything is queued or in flight, the task count is the backlog divided by the acceptable
 *   backlog per task (AWS's guidance: acceptable latency ÷ time per message), at least one — which
 *   also wakes the service from zero; CloudWatch repeats the action every minute in ALARM;
 * - after `idleMinutesBeforeZero` minutes with nothing queued or in flight, back to `minTasks`.
 */
export function queueDepthScaling(
  name: string,
  args: WorkerArgs,
  queues: JobQueues,
  clusterName: pulumi.Input<string>,
  serviceName: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): Scaling {
  const perTask = backlogPerTask(args.scaling);
  const warm = hasWarmWindow(args.scaling);
  const target = new aws.appautoscaling.Target(
    `${name}-task-count`,
    {
      serviceNamespace: "ecs",
      scalableDimension: "ecs:service:DesiredCount",
      resourceId: pulumi.interpolate`service/${clusterName}/${serviceName}`,
      minCapacity: startingTasks(args.scaling),
      maxCapacity: args.scaling.maxTasks,
    },
    // With a warm window the scheduled actions own the minimum: an update must not put back the
    // value this program started with in the middle of the day or night.
    warm ? { ...opts, ignoreChanges: ["minCapacity"] } : opts,
  );
  const on = { resourceId: target.resourceId, scalableDimension: target.scalableDimension, serviceNamespace: target.serviceNamespace };
  const warmWindow = warm ? warmWindowActions(name, args, on, opts) : undefined;

  const backlogPolicy = new aws.appautoscaling.Policy(
    `${name}-tasks-for-backlog`,
    {
      policyType: "StepScaling",
      ...on,
      stepScalingPolicyConfiguration: {
        adjustmentType: "ExactCapacity",
        cooldown: 60,
        metricAggregationType: "Maximum",
        stepAdjustments: backlogSteps(perTask, args.scaling.maxTasks),
      },
    },
    opts,
  );
  const backlogAlarm = new aws.cloudwatch.MetricAlarm(
    `${name}-queue-has-work`,
    {
      alarmDescription: `${args.queue.name}: jobs waiting or in flight; tasks = backlog / ${perTask}`,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: "notBreaching",
      metricQueries: backlogQueries(queues.queue),
      alarmActions: [backlogPolicy.arn],
      tags: args.tags,
    },
    opts,
  );

  const idle = args.scaling.idleMinutesBeforeZero;
  const idlePolicy = new aws.appautoscaling.Policy(
    `${name}-idle-to-minimum`,
    {
      policyType: "StepScaling",
      ...on,
      stepScalingPolicyConfiguration: {
        adjustmentType: "ExactCapacity",
        cooldown: 300,
        metricAggregationType: "Maximum",
        stepAdjustments: [{ metricIntervalUpperBound: "0", scalingAdjustment: args.scaling.minTasks }],
      },
    },
    opts,
  );
  const idleAlarm = new aws.cloudwatch.MetricAlarm(
    `${name}-queue-idle`,
    {
      alarmDescription: `${args.queue.name}: nothing waiting or in flight for ${idle} min; back to ${args.scaling.minTasks} tasks`,
      comparisonOperator: "LessThanOrEqualToThreshold",
      threshold: 0,
      evaluationPeriods: idle,
      datapointsToAlarm: idle,
      // SQS stops publishing metrics for a queue that has been inactive: silence is idleness.
      treatMissingData: "breaching",
      metricQueries: backlogQueries(queues.queue),
      alarmActions: [idlePolicy.arn],
      tags: args.tags,
    },
    opts,
  );
  return { target, backlogPolicy, backlogAlarm, idlePolicy, idleAlarm, warmWindow, backlogPerTask: perTask };
}

type ScalableTarget = Pick<aws.appautoscaling.ScheduledActionArgs, "resourceId" | "scalableDimension" | "serviceNamespace">;

/**
 * The warm window: from `from` the minimum is `warmTasks`, so a task is polling before the first
 * attendance text; from `until` it is back to `minTasks`. Each action sets both bounds (AWS does not
 * restore earlier values), every day, in the configured time zone (Asia/Seoul has no DST).
 */
function warmWindowActions(name: string, args: WorkerArgs, on: ScalableTarget, opts: pulumi.CustomResourceOptions) {
  const { warmWindow, minTasks, maxTasks } = args.scaling;
  const action = (suffix: string, time: string, minCapacity: number) =>
    new aws.appautoscaling.ScheduledAction(
      `${name}-warm-${suffix}`,
      {
        name: `academy-messaging-${args.stack}-warm-${suffix}`,
        ...on,
        schedule: dailyAt(time),
        timezone: warmWindow.timezone,
        scalableTargetAction: { minCapacity, maxCapacity: maxTasks },
      },
      opts,
    );
  return { from: action("from", warmWindow.from, warmWindow.tasks), until: action("until", warmWindow.until, minTasks) };
}

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { KEEP_ALIVE_BODY } from "../worker/src/consumer/keep-alive";
import { hasWarmWindow, needsKeepAlive, type WorkerArgs } from "./args";
import { trust } from "./iam";
import type { JobQueues } from "./queue";

export interface KeepAlive {
  schedule: aws.scheduler.Schedule;
  role: aws.iam.Role;
}

const MINUTES_A_DAY = 24 * 60;

function minutesOf(time: string): number {
  const [hours, minutes] = time.split(":").map(Number);
  return hours! * 60 + minutes!;
}

/**
 * When to send, as an EventBridge Scheduler cron, or undefined when the queue is never idle for 6 h.
 * Without a warm window: every N hours. With one: every N hours after the window ends, only while it
 * is closed (the window's task polls the queue the rest of the day), e.g. 07:00–23:00, 5 h → 04:00.
 */
export function keepAliveCron(scaling: WorkerArgs["scaling"]): string | undefined {
  const every = scaling.keepAliveHours;
  if (!hasWarmWindow(scaling)) return `cron(0 */${every} * * ? *)`;
  const until = minutesOf(scaling.warmWindow.until);
  const closed = (minutesOf(scaling.warmWindow.from) - until + MINUTES_A_DAY) % MINUTES_A_DAY;
  const times: number[] = [];
  for (let after = every * 60; after < closed; after += every * 60) times.push((until + after) % MINUTES_A_DAY);
  if (times.length === 0) return undefined;
  const hours = times.map((time) => Math.floor(time / 60)).join(",");
  return `cron(${until % 60} ${hours} * * ? *)`;
}

/**
 * Keeps the job queue "active" while no task polls it. After six hours without an API call SQS stops
 * publishing the queue's CloudWatch metrics and takes up to 15 minutes to resume once a job arrives:
 * the scaling alarm would wake the service a quarter of an hour late. EventBridge Scheduler cannot
 * call read actions (GetQueueAttributes), so it sends a small message every few hours, which the
 * worker deletes unread (worker/src/consumer/keep-alive.ts). That message wakes one task for about
 * the idle period, so it is sent only while the warm window is closed: a cost docs/deploy.md counts.
 */
export function queueKeepAlive(
  name: string,
  args: WorkerArgs,
  queues: JobQueues,
  opts: pulumi.CustomResourceOptions,
): KeepAlive | undefined {
  const schedule = needsKeepAlive(args.scaling) ? keepAliveCron(args.scaling) : undefined;
  if (!schedule) return undefined;
  const role = new aws.iam.Role(`${name}-keep-alive-role`, { assumeRolePolicy: trust("scheduler.amazonaws.com"), tags: args.tags }, opts);
  const policy = new aws.iam.RolePolicy(
    `${name}-keep-alive-policy`,
    {
      role: role.id,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "SendKeepAlive", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [queues.queue.arn] }],
      }),
    },
    opts,
  );
  const keepAlive = new aws.scheduler.Schedule(
    `${name}-keep-alive`,
    {
      name: `academy-messaging-${args.stack}-keep-alive`,
      description: `Keeps ${args.queue.name} active so that SQS keeps publishing its metrics (docs/deploy.md)`,
      scheduleExpression: schedule,
      scheduleExpressionTimezone: args.scaling.warmWindow.timezone,
      flexibleTimeWindow: { mode: "OFF" },
      // Templated SQS target: SendMessage to the queue's ARN, the input as the message body.
      target: {
        arn: queues.queue.arn,
        roleArn: role.arn,
        input: KEEP_ALIVE_BODY,
        retryPolicy: { maximumRetryAttempts: 5, maximumEventAgeInSeconds: 3600 },
      },
    },
    { ...opts, dependsOn: [policy] },
  );
  return { schedule: keepAlive, role };
}

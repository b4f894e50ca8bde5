import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { KEEP_ALIVE_BODY } from "../worker/src/consumer/keep-alive";
import { needsKeepAlive, type WorkerArgs } from "./args";
import { trust } from "./iam";
import type { JobQueues } from "./queue";

export interface KeepAlive {
  schedule: aws.scheduler.Schedule;
  role: aws.iam.Role;
}

/** On the hour every N hours from midnight (N h apart; the gap across midnight may be shorter). */
export function everyHours(hours: number): string {
  return `cron(0 */${hours} * * ? *)`;
}

/**
 * Keeps the job queue "active" while no task polls it. After six hours without an API call SQS stops
 * publishing the queue's CloudWatch metrics and takes up to 15 minutes to resume once a job arrives:
 * the scaling alarm would wake the service a quarter of an hour late. EventBridge Scheduler cannot
 * call read actions (GetQueueAttributes), so it sends a small message every few hours, which the
 * worker deletes unread (worker/src/consumer/keep-alive.ts). That message wakes one task (outside the
 * warm window) for about the idle period: a cost docs/deploy.md counts.
 */
export function queueKeepAlive(name: string, args: WorkerArgs, queues: JobQueues, opts: pulumi.CustomResourceOptions): KeepAlive | undefined {
  if (!needsKeepAlive(args.scaling)) return undefined;
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
  const schedule = new aws.scheduler.Schedule(
    `${name}-keep-alive`,
    {
      name: `academy-messaging-${args.stack}-keep-alive`,
      description: `Keeps ${args.queue.name} active so that SQS keeps publishing its metrics (docs/deploy.md)`,
      scheduleExpression: everyHours(args.scaling.keepAliveHours),
      scheduleExpressionTimezone: args.scaling.warmWindow.timezone,
      flexibleTimeWindow: { mode: "OFF" },
      // Templated SQS target: SendMessage to the queue's ARN, the input as the message body.
      target: { arn: queues.queue.arn, roleArn: role.arn, input: KEEP_ALIVE_BODY, retryPolicy: { maximumRetryAttempts: 5, maximumEventAgeInSeconds: 3600 } },
    },
    { ...opts, dependsOn: [policy] },
  );
  return { schedule, role };
}

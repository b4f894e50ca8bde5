import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { KEEP_ALIVE_BODY } from "../worker/src/consumer/keep-alive";
import { StackComponent } from "./component";
import { trust } from "./iam";
import { stackNames } from "./names";
import type { JobQueues } from "./queue";
import { hasWarmWindow, needsKeepAlive, type StackSettings } from "./settings";

const MINUTES_A_DAY = 24 * 60;

/** Minutes after midnight of an HH:MM time (the config checks the form). */
function minutesOf(time: string): number {
  const [hours = 0, minutes = 0] = time.split(":").map(Number);
  return hours * 60 + minutes;
}

/**
 * When to send, as an EventBridge Scheduler cron, or undefined when the queue is never idle for 6 h.
 * Without a warm window: every N hours. With one: every N hours after the window ends, only while it
 * is closed (the window's task polls the queue the rest of the day), e.g. 07:00–23:00, 5 h → 04:00.
 */
export function keepAliveCron(scaling: StackSettings["scaling"]): string | undefined {
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

/** The keep-alive's schedule, or undefined when the queue needs none. */
export function keepAliveSchedule(scaling: StackSettings["scaling"]): string | undefined {
  return needsKeepAlive(scaling) ? keepAliveCron(scaling) : undefined;
}

/**
 * Keeps the job queue "active" while no task polls it. After six hours without an API call SQS stops
 * publishing the queue's CloudWatch metrics and takes up to 15 minutes to resume once a job arrives:
 * the scaling alarm would wake the service a quarter of an hour late. EventBridge Scheduler cannot
 * call read actions (GetQueueAttributes), so it sends a small message every few hours, which the
 * worker deletes unread (worker/src/consumer/keep-alive.ts). That message wakes one task for about
 * the idle period, so it is sent only while the warm window is closed: a cost docs/deploy.md counts.
 */
export class QueueKeepAlive extends StackComponent {
  readonly schedule: aws.scheduler.Schedule;
  readonly role: aws.iam.Role;

  constructor(name: string, settings: StackSettings, queues: JobQueues, schedule: string, opts?: pulumi.ComponentResourceOptions) {
    super("KeepAlive", name, opts);
    this.role = new aws.iam.Role(
      `${name}-keep-alive-role`,
      { assumeRolePolicy: trust("scheduler.amazonaws.com"), tags: settings.tags },
      this.child(),
    );
    const policy = new aws.iam.RolePolicy(
      `${name}-keep-alive-policy`,
      {
        role: this.role.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [{ Sid: "SendKeepAlive", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [queues.queue.arn] }],
        }),
      },
      this.child(),
    );
    this.schedule = new aws.scheduler.Schedule(
      `${name}-keep-alive`,
      {
        name: stackNames(settings.stack).keepAliveSchedule,
        description: `Keeps ${settings.queue.name} active so that SQS keeps publishing its metrics (docs/deploy.md)`,
        scheduleExpression: schedule,
        scheduleExpressionTimezone: settings.scaling.warmWindow.timezone,
        flexibleTimeWindow: { mode: "OFF" },
        // Templated SQS target: SendMessage to the queue's ARN, the input as the message body.
        target: {
          arn: queues.queue.arn,
          roleArn: this.role.arn,
          input: KEEP_ALIVE_BODY,
          retryPolicy: { maximumRetryAttempts: 5, maximumEventAgeInSeconds: 3600 },
        },
      },
      this.child({ dependsOn: [policy] }),
    );
    this.registerOutputs({ scheduleName: this.schedule.name });
  }
}

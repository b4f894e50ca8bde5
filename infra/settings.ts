import type * as pulumi from "@pulumi/pulumi";

/** The stack config's word for a capacity mode; compute/capacity.ts maps each to its type. */
export type CapacityMode = "fargate-spot" | "ec2-spot";

/**
 * The stack's settings: everything the stack is built from, read and checked once from its config
 * (infra/config.ts). The stack is a function of them, so tests build it with any settings.
 */
export interface StackSettings {
  /** The stack name, e.g. `dev`: part of every physical name (infra/names.ts). */
  stack: string;
  /** A prebuilt image to run instead of building the Dockerfile. */
  imageUri?: string;
  queue: {
    name: string;
    deadLetterName: string;
    visibilityTimeoutSeconds: number;
    waitSeconds: number;
    maxReceiveCount: number;
  };
  solapi: {
    mock: boolean;
    apiKey?: pulumi.Input<string>;
    apiSecret?: pulumi.Input<string>;
    sender?: string;
    kakaoPfId?: string;
    kakaoTemplateId?: string;
    baseUrl?: string;
    timeoutMs?: number;
    /** SOLAPI_MOCK_SHOW_TEXT: mock mode prints message text only when asked. */
    mockShowText: boolean;
  };
  /** mysql://… for the send log; a secret. */
  databaseUrl?: pulumi.Input<string>;
  /**
   * MESSAGING_RECIPIENT_HASH_SECRET, the HMAC key of message_log.recipient_hash. Absent: the stack
   * generates one (secrets.ts) and keeps it in its state.
   */
  recipientHashSecret?: pulumi.Input<string>;
  worker: {
    concurrency: number;
    shutdownTimeoutSeconds: number;
    logLevel: string;
    deliveryCheckSeconds: number;
    /** MESSAGING_METRICS: one CloudWatch EMF line a minute. */
    metrics: boolean;
  };
  capacity: {
    mode: CapacityMode;
    /** Fargate: the split between FARGATE_SPOT and FARGATE (a ratio, not a fallback). */
    spotWeight: number;
    onDemandWeight: number;
    /** EC2: Spot instance types, 1 GiB each by default (docs/deploy.md "Memory"). */
    instanceTypes: string[];
  };
  scaling: {
    minTasks: number;
    maxTasks: number;
    /** Backlog per task that is acceptable: acceptable latency ÷ time one task spends per message. */
    acceptableLatencySeconds: number;
    secondsPerMessage: number;
    /** Nothing visible or in flight for this long → minTasks. */
    idleMinutesBeforeZero: number;
    /** Scheduled scaling: at least `tasks` from `from` until `until` (HH:MM in `timezone`); none when tasks ≤ minTasks. */
    warmWindow: { tasks: number; from: string; until: string; timezone: string };
    /** A keep-alive message this often (hours, ≤ 5) keeps SQS publishing the queue's metrics; 0: none. */
    keepAliveHours: number;
  };
  alarms: {
    oldestMessageSeconds: number;
    email?: string;
    topicArn?: string;
  };
  network: {
    vpcId?: string;
    subnetIds?: string[];
  };
  logRetentionDays: number;
  tags: Record<string, string>;
}

/** Acceptable backlog per task (AWS's SQS scaling guidance): at least one message. */
export function backlogPerTask(scaling: StackSettings["scaling"]): number {
  return Math.max(1, Math.floor(scaling.acceptableLatencySeconds / scaling.secondsPerMessage));
}

/** The warm window raises the minimum only when it asks for more tasks than the rest of the day has. */
export function hasWarmWindow(scaling: StackSettings["scaling"]): boolean {
  return scaling.warmWindow.tasks > scaling.minTasks;
}

/** The queue needs keeping awake only when it can be left with no task polling it. */
export function needsKeepAlive(scaling: StackSettings["scaling"]): boolean {
  return scaling.minTasks === 0 && scaling.keepAliveHours > 0;
}

/** The task count a new service and scalable target start with: the warm minimum when there is a window (err warm). */
export function startingTasks(scaling: StackSettings["scaling"]): number {
  return hasWarmWindow(scaling) ? scaling.warmWindow.tasks : scaling.minTasks;
}

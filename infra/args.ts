import type * as pulumi from "@pulumi/pulumi";

export type CapacityMode = "fargate-spot" | "ec2-spot";

/** Everything the stack is built from: a program is a function of its config (infra/config.ts reads it). */
export interface WorkerArgs {
  /** The stack name, e.g. `dev`: part of every resource name. */
  stack: string;
  /** The image URI the task runs (awsx.ecr.Image's digest URI, or a prebuilt image). */
  image: pulumi.Input<string>;
  /** The ECR repository the execution role may pull from; absent for an image from elsewhere. */
  repositoryArn?: pulumi.Input<string>;
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
  };
  /** mysql://… for the send log; a secret. */
  databaseUrl?: pulumi.Input<string>;
  worker: {
    concurrency: number;
    shutdownTimeoutSeconds: number;
    logLevel: string;
  };
  capacity: {
    mode: CapacityMode;
    /** Fargate: the split between FARGATE_SPOT and FARGATE (a ratio, not a fallback). */
    spotWeight: number;
    onDemandWeight: number;
    /** EC2: Spot instance types, 0.5 GiB each by default. */
    instanceTypes: string[];
  };
  scaling: {
    minTasks: number;
    maxTasks: number;
    /** Backlog per task that is acceptable: acceptable latency ÷ time one task spends per message. */
    acceptableLatencySeconds: number;
    secondsPerMessage: number;
    /** Nothing visible or in flight for this long → zero tasks. */
    idleMinutesBeforeZero: number;
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
export function backlogPerTask(scaling: WorkerArgs["scaling"]): number {
  return Math.max(1, Math.floor(scaling.acceptableLatencySeconds / scaling.secondsPerMessage));
}

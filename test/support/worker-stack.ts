/**
 * The worker's stack built under Pulumi's mocks (no CLI, no plugins, no network), for the infra
 * tests: a stack config to start from, the build, and readers of what it registered.
 */
import * as pulumi from "@pulumi/pulumi";
import type { WorkerArgs } from "../../infra/args";
import { buildWorker, type WorkerStack } from "../../infra/worker";
import { RecordingMocks, settled, valueOf } from "./pulumi-mocks";

export const SOLAPI_KEY = "NCSPLAINTEXTKEY123";
export const SOLAPI_SECRET = "plaintext-solapi-secret-456";
export const DATABASE_URL = "mysql://worker:plaintext-db-pass@db:3306/academy";

export function argsFor(overrides: Partial<WorkerArgs> = {}): WorkerArgs {
  return {
    stack: "dev",
    image: "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/worker@sha256:abc",
    repositoryArn: "arn:aws:ecr:ap-northeast-2:123456789012:repository/academy-messaging-worker-dev",
    queue: {
      name: "academy-messaging-jobs",
      deadLetterName: "academy-messaging-jobs-dlq",
      visibilityTimeoutSeconds: 60,
      waitSeconds: 20,
      maxReceiveCount: 3,
    },
    solapi: {
      mock: false,
      apiKey: pulumi.secret(SOLAPI_KEY),
      apiSecret: pulumi.secret(SOLAPI_SECRET),
      sender: "0212345678",
      kakaoTemplateId: "KA01TP-CLINIC",
      mockShowText: false,
    },
    databaseUrl: pulumi.secret(DATABASE_URL),
    worker: { concurrency: 50, shutdownTimeoutSeconds: 100, logLevel: "info", deliveryCheckSeconds: 300, metrics: true },
    capacity: { mode: "fargate-spot", spotWeight: 1, onDemandWeight: 0, instanceTypes: ["t3.micro", "t3a.micro"] },
    scaling: {
      minTasks: 0,
      maxTasks: 3,
      acceptableLatencySeconds: 60,
      secondsPerMessage: 0.02,
      idleMinutesBeforeZero: 15,
      warmWindow: { tasks: 1, from: "07:00", until: "23:00", timezone: "Asia/Seoul" },
      keepAliveHours: 5,
    },
    alarms: { oldestMessageSeconds: 600, email: "ops@academy.example" },
    network: {},
    logRetentionDays: 14,
    tags: { project: "academy-messaging", stack: "dev" },
    ...overrides,
  };
}

export interface Built {
  mocks: RecordingMocks;
  stack: WorkerStack;
  options: Map<string, pulumi.ResourceOptions>;
}

export async function build(args: WorkerArgs): Promise<Built> {
  const mocks = new RecordingMocks();
  await pulumi.runtime.setMocks(mocks, "academy-messaging", args.stack, false);
  const options = new Map<string, pulumi.ResourceOptions>();
  // A legacy transformation runs client-side under mocks, so it sees each resource's options.
  const stack = buildWorker("messaging", args, {
    transformations: [(resource) => (options.set(`${resource.type}::${resource.name}`, resource.opts), undefined)],
  });
  await valueOf(stack.service.arn);
  await valueOf(stack.scaling.idleAlarm.arn);
  await valueOf(stack.alarms.oldestJob.arn);
  await settled();
  return { mocks, stack, options };
}

export function containerOf(mocks: RecordingMocks): Record<string, any> {
  return JSON.parse(mocks.one("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions)[0];
}

export function environmentOf(mocks: RecordingMocks): Record<string, string> {
  return Object.fromEntries(containerOf(mocks).environment.map((entry: { name: string; value: string }) => [entry.name, entry.value]));
}

export function statements(mocks: RecordingMocks, name: string): any[] {
  return JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy", name).inputs.policy).Statement;
}

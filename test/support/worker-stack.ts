/**
 * The worker's stack built under Pulumi's mocks (no CLI, no plugins, no network), for the infra
 * tests: settings to start from, the build, and readers of what it registered.
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "../../infra/settings";
import { AcademyMessagingWorker, type WorkerArgs } from "../../infra/worker";
import { outputValue, RecordingMocks, settled } from "./pulumi-mocks";

export const PROJECT = "academy-messaging";
export const SOLAPI_KEY = "NCSPLAINTEXTKEY123";
export const SOLAPI_SECRET = "plaintext-solapi-secret-456";
export const DATABASE_URL = "mysql://worker:plaintext-db-pass@db:3306/academy";

/** The image the tests' stacks run: a digest in the stack's own ECR repository. */
export const IMAGE: WorkerArgs["image"] = {
  imageUri: "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/worker@sha256:abc",
  repositoryArn: "arn:aws:ecr:ap-northeast-2:123456789012:repository/academy-messaging-worker-dev",
};

export function settingsFor(overrides: Partial<StackSettings> = {}): StackSettings {
  return {
    stack: "dev",
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
  stack: AcademyMessagingWorker;
  /** Each resource's options as the program gave them, by `type::name`. */
  options: Map<string, pulumi.ResourceOptions>;
}

export async function build(settings: StackSettings): Promise<Built> {
  const mocks = new RecordingMocks();
  await mocks.install(PROJECT, settings.stack);
  const options = new Map<string, pulumi.ResourceOptions>();
  // A legacy transformation runs client-side under mocks, so it sees each resource's options; the
  // component's transformations apply to its children too.
  const record: pulumi.ResourceTransformation = (resource) => {
    options.set(`${resource.type}::${resource.name}`, resource.opts);
    return undefined;
  };
  const stack = new AcademyMessagingWorker("messaging", { settings, image: IMAGE }, { transformations: [record] });
  await outputValue(stack.service.arn);
  await outputValue(stack.scaling.idleAlarm.arn);
  await outputValue(stack.alarms.oldestJob.arn);
  await settled();
  return { mocks, stack, options };
}

/** The container definition's fields the tests read. */
export interface ContainerDefinition {
  name: string;
  image: string;
  essential: boolean;
  stopTimeout: number;
  user: string;
  readonlyRootFilesystem: boolean;
  linuxParameters: unknown;
  memoryReservation?: number;
  memory?: number;
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  logConfiguration: unknown;
}

export function containerOf(mocks: RecordingMocks): ContainerDefinition {
  return JSON.parse(mocks.one("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions)[0];
}

export function environmentOf(mocks: RecordingMocks): Record<string, string> {
  return Object.fromEntries(containerOf(mocks).environment.map((entry) => [entry.name, entry.value]));
}

export interface PolicyStatement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: unknown;
}

export function statements(mocks: RecordingMocks, name: string): PolicyStatement[] {
  return JSON.parse(String(mocks.one("aws:iam/rolePolicy:RolePolicy", name).inputs.policy)).Statement;
}

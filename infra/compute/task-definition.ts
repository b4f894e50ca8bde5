import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { stackNames } from "../names";
import type { JobQueues } from "../queue";
import type { ContainerSecret } from "../secrets";
import type { StackSettings } from "../settings";
import type { TaskFit } from "./capacity";

export const CONTAINER_NAME = "worker";
/** ECS's longest stop timeout; the worker drains within MESSAGING_SHUTDOWN_TIMEOUT, below it. */
export const STOP_TIMEOUT_SECONDS = 120;
/** The image's non-root user (Dockerfile). */
const CONTAINER_USER = "1000:1000";

/** The worker's environment (docs/contract.md §3) from the stack's settings; secrets travel separately. */
export function containerEnvironment(settings: StackSettings, queues: JobQueues, region: pulumi.Input<string>, heapLimitMiB: number) {
  const variables: Record<string, pulumi.Input<string> | undefined> = {
    AWS_REGION: region,
    MESSAGING_SQS_QUEUE_URL: queues.queue.url,
    MESSAGING_SQS_QUEUE_NAME: settings.queue.name,
    MESSAGING_SQS_DLQ_NAME: settings.queue.deadLetterName,
    MESSAGING_SQS_WAIT_SECONDS: String(settings.queue.waitSeconds),
    MESSAGING_VISIBILITY_TIMEOUT: String(settings.queue.visibilityTimeoutSeconds),
    MESSAGING_CONCURRENCY: String(settings.worker.concurrency),
    MESSAGING_SHUTDOWN_TIMEOUT: String(settings.worker.shutdownTimeoutSeconds),
    MESSAGING_DELIVERY_CHECK_SECONDS: String(settings.worker.deliveryCheckSeconds),
    MESSAGING_METRICS: String(settings.worker.metrics),
    SOLAPI_MOCK: settings.solapi.mock ? "true" : undefined,
    SOLAPI_MOCK_SHOW_TEXT: String(settings.solapi.mockShowText),
    SOLAPI_SENDER: settings.solapi.sender,
    SOLAPI_KAKAO_PF_ID: settings.solapi.kakaoPfId,
    SOLAPI_KAKAO_TEMPLATE_ID: settings.solapi.kakaoTemplateId,
    SOLAPI_BASE_URL: settings.solapi.baseUrl,
    SOLAPI_TIMEOUT_MS: settings.solapi.timeoutMs === undefined ? undefined : String(settings.solapi.timeoutMs),
    LOG_LEVEL: settings.worker.logLevel,
    LOG_FORMAT: "json",
    NODE_OPTIONS: `--max-old-space-size=${heapLimitMiB}`,
  };
  return Object.entries(variables)
    .filter((entry): entry is [string, pulumi.Input<string>] => entry[1] !== undefined)
    .map(([name, value]) => ({ name, value }));
}

/** What the task runs and with what rights: its image, queues, secrets, log group and roles. */
export interface TaskParts {
  image: pulumi.Input<string>;
  queues: JobQueues;
  secrets: ContainerSecret[];
  logGroup: aws.cloudwatch.LogGroup;
  taskRole: aws.iam.Role;
  executionRole: aws.iam.Role;
}

/** The worker's task: one container, fitted to the capacity mode (compute/capacity.ts). */
export function taskDefinition(
  name: string,
  settings: StackSettings,
  fit: TaskFit,
  parts: TaskParts,
  opts: pulumi.CustomResourceOptions,
): aws.ecs.TaskDefinition {
  const region = aws.getRegionOutput({}, { parent: opts.parent }).region;
  const containerDefinitions = pulumi.jsonStringify([
    {
      name: CONTAINER_NAME,
      image: parts.image,
      essential: true,
      stopTimeout: STOP_TIMEOUT_SECONDS,
      user: CONTAINER_USER,
      readonlyRootFilesystem: true,
      // An init as PID 1 reaps children and passes SIGTERM on to node.
      linuxParameters: { initProcessEnabled: true },
      ...fit.container,
      environment: containerEnvironment(settings, parts.queues, region, fit.heapLimitMiB),
      secrets: parts.secrets.map((secret) => ({ name: secret.variable, valueFrom: secret.parameter.arn })),
      logConfiguration: {
        logDriver: "awslogs",
        options: { "awslogs-group": parts.logGroup.name, "awslogs-region": region, "awslogs-stream-prefix": "worker" },
      },
    },
  ]);
  return new aws.ecs.TaskDefinition(
    `${name}-task`,
    {
      family: stackNames(settings.stack).taskFamily,
      ...fit.definition,
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
      executionRoleArn: parts.executionRole.arn,
      taskRoleArn: parts.taskRole.arn,
      containerDefinitions,
      tags: settings.tags,
    },
    opts,
  );
}

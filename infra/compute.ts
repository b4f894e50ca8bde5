import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { startingTasks, type WorkerArgs } from "./args";
import { instanceProfile } from "./iam";
import type { Network } from "./network";
import type { JobQueues } from "./queue";
import type { ContainerSecret } from "./secrets";

export const CONTAINER_NAME = "worker";
export const SERVICE_NAME = "academy-messaging-worker";
const ECS_OPTIMIZED_AMI = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";
/** ECS's longest stop timeout; the worker drains within MESSAGING_SHUTDOWN_TIMEOUT, below it. */
export const STOP_TIMEOUT_SECONDS = 120;
/** The image's non-root user (Dockerfile). */
const CONTAINER_USER = "1000:1000";

/**
 * Memory (docs/deploy.md "Memory"). Measured: the bundled worker at concurrency 50 peaks at 161 MB
 * RSS with a capped heap (219 MB uncapped: V8 sizes its young generation from the heap limit), of
 * which ~100 MB is code and buffers outside the heap. The heap cap keeps the whole process under the
 * hard limit with room to spare: 192 + ~100 < 384 on EC2, 256 + ~100 < 512 on Fargate.
 */
const FARGATE_TASK_MEMORY_MIB = 512;
const EC2_MEMORY_RESERVATION_MIB = 256;
const EC2_MEMORY_LIMIT_MIB = 384;
const HEAP_LIMIT_MIB = { "fargate-spot": 256, "ec2-spot": 192 } as const;
/**
 * Memory ECS must not hand to tasks on an instance: its agent, Docker and containerd, which ECS
 * does not count (about 100–200 MiB on a small instance: aws/amazon-ecs-agent#2022).
 */
const ECS_RESERVED_MEMORY_MIB = 192;

export interface Capacity {
  cluster: aws.ecs.Cluster;
  clusterCapacityProviders: aws.ecs.ClusterCapacityProviders;
  strategy: { capacityProvider: pulumi.Input<string>; weight: number; base: number }[];
  launchTemplate?: aws.ec2.LaunchTemplate;
  autoScalingGroup?: aws.autoscaling.Group;
  capacityProvider?: aws.ecs.CapacityProvider;
}

/** EC2 Spot: an Auto Scaling group of t3.nano Spot instances behind an ECS capacity provider. */
function spotInstances(name: string, args: WorkerArgs, cluster: aws.ecs.Cluster, net: Network, opts: pulumi.CustomResourceOptions) {
  const ami = aws.ssm.getParameterOutput({ name: ECS_OPTIMIZED_AMI }, opts);
  const userData = pulumi.interpolate`#!/bin/bash
cat >> /etc/ecs/ecs.config <<'CONFIG'
ECS_CLUSTER=${cluster.name}
ECS_ENABLE_SPOT_INSTANCE_DRAINING=true
ECS_CONTAINER_STOP_TIMEOUT=${STOP_TIMEOUT_SECONDS}s
ECS_RESERVED_MEMORY=${ECS_RESERVED_MEMORY_MIB}
CONFIG
`;
  const launchTemplate = new aws.ec2.LaunchTemplate(
    `${name}-instances`,
    {
      imageId: ami.value,
      instanceType: args.capacity.instanceTypes[0],
      iamInstanceProfile: { arn: instanceProfile(name, args, opts).arn },
      vpcSecurityGroupIds: [net.securityGroup.id],
      userData: userData.apply((script) => Buffer.from(script).toString("base64")),
      // Containers in bridge mode cannot reach the instance's credentials (one hop only).
      metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
      // T3 Spot instances default to "unlimited", which bills surplus CPU credits.
      creditSpecification: { cpuCredits: "standard" },
      tagSpecifications: [{ resourceType: "instance", tags: { ...args.tags, Name: `academy-messaging-${args.stack}` } }],
      updateDefaultVersion: true,
      tags: args.tags,
    },
    opts,
  );
  const autoScalingGroup = new aws.autoscaling.Group(
    `${name}-instances`,
    {
      minSize: 0,
      // One more than the workers: room for a one-off task (infra/migrate.sh) while they all run.
      maxSize: args.scaling.maxTasks + 1,
      vpcZoneIdentifiers: net.subnetIds,
      protectFromScaleIn: true,
      capacityRebalance: true,
      mixedInstancesPolicy: {
        instancesDistribution: {
          onDemandBaseCapacity: 0,
          onDemandPercentageAboveBaseCapacity: 0,
          spotAllocationStrategy: "price-capacity-optimized",
        },
        launchTemplate: {
          launchTemplateSpecification: { launchTemplateId: launchTemplate.id, version: "$Latest" },
          overrides: args.capacity.instanceTypes.map((instanceType) => ({ instanceType })),
        },
      },
      tags: [{ key: "AmazonECSManaged", value: "true", propagateAtLaunch: true }],
    },
    { ...opts, ignoreChanges: ["desiredCapacity"] },
  );
  const capacityProvider = new aws.ecs.CapacityProvider(
    `${name}-spot-instances`,
    {
      name: `academy-messaging-${args.stack}-spot`,
      autoScalingGroupProvider: {
        autoScalingGroupArn: autoScalingGroup.arn,
        managedTerminationProtection: "ENABLED",
        managedDraining: "ENABLED",
        managedScaling: {
          status: "ENABLED",
          targetCapacity: 100,
          minimumScalingStepSize: 1,
          maximumScalingStepSize: args.scaling.maxTasks + 1,
          instanceWarmupPeriod: 120,
        },
      },
      tags: args.tags,
    },
    opts,
  );
  return { launchTemplate, autoScalingGroup, capacityProvider };
}

/**
 * One cluster per capacity mode, so that switching modes replaces the cluster, its capacity
 * providers and the service (new ones first, then the old drained and deleted) instead of updating
 * them in place, which fails: ECS refuses to take a capacity provider off a cluster while the
 * service still uses it (docs/deploy.md "Changing the Spot/on-demand split, or the capacity mode").
 */
export function clusterName(args: WorkerArgs): string {
  return args.capacity.mode === "fargate-spot" ? `academy-messaging-${args.stack}` : `academy-messaging-${args.stack}-ec2`;
}

export function capacity(name: string, args: WorkerArgs, net: Network, opts: pulumi.CustomResourceOptions): Capacity {
  const cluster = new aws.ecs.Cluster(
    `${name}-cluster`,
    { name: clusterName(args), settings: [{ name: "containerInsights", value: "disabled" }], tags: args.tags },
    opts,
  );
  if (args.capacity.mode === "fargate-spot") {
    // Weights split tasks between the two; FARGATE is not a fallback when Spot capacity runs out.
    const strategy = [
      { capacityProvider: "FARGATE_SPOT", weight: args.capacity.spotWeight, base: 0 },
      { capacityProvider: "FARGATE", weight: args.capacity.onDemandWeight, base: 0 },
    ];
    const clusterCapacityProviders = new aws.ecs.ClusterCapacityProviders(
      `${name}-capacity`,
      { clusterName: cluster.name, capacityProviders: ["FARGATE_SPOT", "FARGATE"], defaultCapacityProviderStrategies: strategy },
      opts,
    );
    return { cluster, clusterCapacityProviders, strategy };
  }
  const instances = spotInstances(name, args, cluster, net, opts);
  const strategy = [{ capacityProvider: instances.capacityProvider.name, weight: 1, base: 0 }];
  const clusterCapacityProviders = new aws.ecs.ClusterCapacityProviders(
    `${name}-capacity`,
    { clusterName: cluster.name, capacityProviders: [instances.capacityProvider.name], defaultCapacityProviderStrategies: strategy },
    opts,
  );
  return { cluster, clusterCapacityProviders, strategy, ...instances };
}

/** The worker's environment (CONTRACT §3) from the stack's config; secrets travel separately. */
export function containerEnvironment(args: WorkerArgs, queues: JobQueues, region: pulumi.Input<string>) {
  const variables: Record<string, pulumi.Input<string> | undefined> = {
    AWS_REGION: region,
    MESSAGING_SQS_QUEUE_URL: queues.queue.url,
    MESSAGING_SQS_QUEUE_NAME: args.queue.name,
    MESSAGING_SQS_DLQ_NAME: args.queue.deadLetterName,
    MESSAGING_SQS_WAIT_SECONDS: String(args.queue.waitSeconds),
    MESSAGING_VISIBILITY_TIMEOUT: String(args.queue.visibilityTimeoutSeconds),
    MESSAGING_CONCURRENCY: String(args.worker.concurrency),
    MESSAGING_SHUTDOWN_TIMEOUT: String(args.worker.shutdownTimeoutSeconds),
    MESSAGING_DELIVERY_CHECK_SECONDS: String(args.worker.deliveryCheckSeconds),
    MESSAGING_METRICS: String(args.worker.metrics),
    SOLAPI_MOCK: args.solapi.mock ? "true" : undefined,
    SOLAPI_MOCK_SHOW_TEXT: String(args.solapi.mockShowText),
    SOLAPI_SENDER: args.solapi.sender,
    SOLAPI_KAKAO_PF_ID: args.solapi.kakaoPfId,
    SOLAPI_KAKAO_TEMPLATE_ID: args.solapi.kakaoTemplateId,
    SOLAPI_BASE_URL: args.solapi.baseUrl,
    SOLAPI_TIMEOUT_MS: args.solapi.timeoutMs === undefined ? undefined : String(args.solapi.timeoutMs),
    LOG_LEVEL: args.worker.logLevel,
    LOG_FORMAT: "json",
    NODE_OPTIONS: `--max-old-space-size=${HEAP_LIMIT_MIB[args.capacity.mode]}`,
  };
  return Object.entries(variables)
    .filter((entry): entry is [string, pulumi.Input<string>] => entry[1] !== undefined)
    .map(([name, value]) => ({ name, value }));
}

export interface TaskParts {
  queues: JobQueues;
  secrets: ContainerSecret[];
  logGroup: aws.cloudwatch.LogGroup;
  taskRole: aws.iam.Role;
  executionRole: aws.iam.Role;
}

export function taskDefinition(
  name: string,
  args: WorkerArgs,
  parts: TaskParts,
  opts: pulumi.CustomResourceOptions,
): aws.ecs.TaskDefinition {
  const fargate = args.capacity.mode === "fargate-spot";
  const region = aws.getRegionOutput({}, opts).region;
  const containerDefinitions = pulumi.jsonStringify([
    {
      name: CONTAINER_NAME,
      image: args.image,
      essential: true,
      stopTimeout: STOP_TIMEOUT_SECONDS,
      user: CONTAINER_USER,
      readonlyRootFilesystem: true,
      // An init as PID 1 reaps children and passes SIGTERM on to node.
      linuxParameters: { initProcessEnabled: true },
      ...(fargate ? {} : { memoryReservation: EC2_MEMORY_RESERVATION_MIB, memory: EC2_MEMORY_LIMIT_MIB }),
      environment: containerEnvironment(args, parts.queues, region),
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
      family: `academy-messaging-worker-${args.stack}`,
      requiresCompatibilities: [fargate ? "FARGATE" : "EC2"],
      // Bridge on EC2: a t3.nano has too few network interfaces for one per task.
      networkMode: fargate ? "awsvpc" : "bridge",
      cpu: fargate ? "256" : undefined,
      memory: fargate ? String(FARGATE_TASK_MEMORY_MIB) : undefined,
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
      executionRoleArn: parts.executionRole.arn,
      taskRoleArn: parts.taskRole.arn,
      containerDefinitions,
      tags: args.tags,
    },
    opts,
  );
}

export function service(
  name: string,
  args: WorkerArgs,
  task: aws.ecs.TaskDefinition,
  cap: Capacity,
  net: Network,
  opts: pulumi.CustomResourceOptions,
): aws.ecs.Service {
  const fargate = args.capacity.mode === "fargate-spot";
  return new aws.ecs.Service(
    `${name}-service`,
    {
      name: SERVICE_NAME,
      cluster: cap.cluster.arn,
      taskDefinition: task.arn,
      desiredCount: startingTasks(args.scaling),
      capacityProviderStrategies: cap.strategy,
      // The provider updates a capacity provider strategy (the Spot/on-demand split) only with a
      // forced deployment; without it the update fails. Every update of the service then rolls its tasks.
      forceNewDeployment: true,
      networkConfiguration: fargate ? { subnets: net.subnetIds, securityGroups: [net.securityGroup.id], assignPublicIp: true } : undefined,
      deploymentMinimumHealthyPercent: 0,
      deploymentMaximumPercent: 200,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      enableEcsManagedTags: true,
      propagateTags: "SERVICE",
      tags: args.tags,
    },
    // Application Auto Scaling owns the task count once the service exists.
    { ...opts, dependsOn: [cap.clusterCapacityProviders], ignoreChanges: ["desiredCount"] },
  );
}

/**
 * The input of `aws ecs run-task --cli-input-json` for a one-off `migrate` of this stack's image and
 * secrets, on the stack's own capacity and network (infra/migrate.sh). Fargate runs it on-demand, so
 * that a Spot interruption cannot cut a migration short; EC2 mode has only its Spot instances.
 */
export function migrationTask(args: WorkerArgs, task: aws.ecs.TaskDefinition, cap: Capacity, net: Network) {
  const overrides = { containerOverrides: [{ name: CONTAINER_NAME, command: ["migrate"] }] };
  const common = { cluster: cap.cluster.name, taskDefinition: task.arn, count: 1, startedBy: "migrate", overrides };
  if (args.capacity.mode === "ec2-spot") {
    return pulumi.output({ ...common, capacityProviderStrategy: [{ capacityProvider: cap.capacityProvider!.name, weight: 1, base: 0 }] });
  }
  return pulumi.output({
    ...common,
    capacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1, base: 0 }],
    networkConfiguration: {
      awsvpcConfiguration: { subnets: net.subnetIds, securityGroups: [net.securityGroup.id], assignPublicIp: "ENABLED" },
    },
  });
}

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { WorkerArgs } from "./args";
import { instanceProfile } from "./iam";
import type { JobQueues } from "./queue";
import type { ContainerSecret } from "./secrets";

export const CONTAINER_NAME = "worker";
const ECS_OPTIMIZED_AMI = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";
/** ECS's longest stop timeout; the worker drains within MESSAGING_SHUTDOWN_TIMEOUT, below it. */
export const STOP_TIMEOUT_SECONDS = 120;
/** The image's non-root user (Dockerfile). */
const CONTAINER_USER = "1000:1000";

/** A t3.nano registers about 450 MiB with ECS, less what Docker and the agent use: one task, soft-limited. */
const EC2_MEMORY_RESERVATION_MIB = 256;
const EC2_MEMORY_LIMIT_MIB = 384;

export interface Network {
  vpcId: pulumi.Input<string>;
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  securityGroup: aws.ec2.SecurityGroup;
}

/** The configured VPC and subnets, else the default VPC: public subnets, no NAT to pay for. */
export function network(name: string, args: WorkerArgs, opts: pulumi.CustomResourceOptions): Network {
  const vpcId = args.network.vpcId ?? aws.ec2.getVpcOutput({ default: true }, opts).id;
  const subnetIds =
    args.network.subnetIds ??
    aws.ec2.getSubnetsOutput({ filters: [{ name: "vpc-id", values: [vpcId] }, { name: "default-for-az", values: ["true"] }] }, opts).ids;
  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-egress-only`,
    {
      vpcId,
      description: "academy messaging worker: outbound only (SQS, SSM, ECR, logs, Solapi, MySQL)",
      egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] }],
      tags: args.tags,
    },
    opts,
  );
  return { vpcId, subnetIds, securityGroup };
}

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
ECS_RESERVED_MEMORY=32
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
      maxSize: args.scaling.maxTasks,
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
          maximumScalingStepSize: args.scaling.maxTasks,
          instanceWarmupPeriod: 120,
        },
      },
      tags: args.tags,
    },
    opts,
  );
  return { launchTemplate, autoScalingGroup, capacityProvider };
}

export function capacity(name: string, args: WorkerArgs, net: Network, opts: pulumi.CustomResourceOptions): Capacity {
  const cluster = new aws.ecs.Cluster(
    `${name}-cluster`,
    { name: `academy-messaging-${args.stack}`, settings: [{ name: "containerInsights", value: "disabled" }], tags: args.tags },
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
    SOLAPI_MOCK: args.solapi.mock ? "true" : undefined,
    SOLAPI_SENDER: args.solapi.sender,
    SOLAPI_KAKAO_PF_ID: args.solapi.kakaoPfId,
    SOLAPI_KAKAO_TEMPLATE_ID: args.solapi.kakaoTemplateId,
    SOLAPI_BASE_URL: args.solapi.baseUrl,
    SOLAPI_TIMEOUT_MS: args.solapi.timeoutMs === undefined ? undefined : String(args.solapi.timeoutMs),
    LOG_LEVEL: args.worker.logLevel,
    LOG_FORMAT: "json",
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

export function taskDefinition(name: string, args: WorkerArgs, parts: TaskParts, opts: pulumi.CustomResourceOptions): aws.ecs.TaskDefinition {
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
      memory: fargate ? "512" : undefined,
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
      name: "academy-messaging-worker",
      cluster: cap.cluster.arn,
      taskDefinition: task.arn,
      desiredCount: args.scaling.minTasks,
      capacityProviderStrategies: cap.strategy,
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

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StackComponent } from "../component";
import { instanceProfile } from "../iam";
import { stackNames } from "../names";
import {
  type Capacity,
  type CapacityArgs,
  type CapacityProviderStrategy,
  clusterCapacityProviders,
  ecsCluster,
  type Placement,
  type TaskFit,
} from "./capacity";
import { STOP_TIMEOUT_SECONDS } from "./task-definition";

const ECS_OPTIMIZED_AMI = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";
/**
 * Memory ECS must not hand to tasks on an instance: its agent, Docker and containerd, which ECS
 * does not count (about 100–200 MiB on a small instance).
 */
const ECS_RESERVED_MEMORY_MIB = 192;

/**
 * EC2 Spot: an Auto Scaling group of Spot instances (t3.micro by default) behind an ECS capacity
 * provider; tasks share their instance's network interface (bridge).
 */
export class Ec2SpotCapacity extends StackComponent implements Capacity {
  /**
   * EC2 Spot gives two minutes' notice and the instance is gone about 120 s after it; ECS drains the
   * instance only once the notice reaches it, so the worker's SIGTERM comes late. 90 s leaves that
   * lag room.
   */
  static readonly shutdownSeconds = { default: 90, max: 90 };

  readonly cluster: aws.ecs.Cluster;
  readonly clusterName: string;
  readonly clusterCapacityProviders: aws.ecs.ClusterCapacityProviders;
  readonly strategy: CapacityProviderStrategy[];
  /**
   * Bridge: a t3.nano has too few network interfaces for one per task. The instance is shared, so the
   * container reserves 256 MiB and may use 384; a 192 MiB heap: 192 + ~100 MiB outside it < 384.
   */
  readonly task: TaskFit = {
    definition: { requiresCompatibilities: ["EC2"], networkMode: "bridge" },
    container: { memoryReservation: 256, memory: 384 },
    heapLimitMiB: 192,
  };
  readonly serviceNetwork = undefined;
  readonly migration: Placement;
  readonly launchTemplate: aws.ec2.LaunchTemplate;
  readonly autoScalingGroup: aws.autoscaling.Group;
  readonly capacityProvider: aws.ecs.CapacityProvider;

  constructor(name: string, { settings, network }: CapacityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Ec2SpotCapacity", name, opts);
    const names = stackNames(settings.stack);
    this.clusterName = names.ec2Cluster;
    this.cluster = ecsCluster(name, this.clusterName, settings, this.child());
    const ami = aws.ssm.getParameterOutput({ name: ECS_OPTIMIZED_AMI }, this.lookup);
    const userData = pulumi.interpolate`#!/bin/bash
cat >> /etc/ecs/ecs.config <<'CONFIG'
ECS_CLUSTER=${this.cluster.name}
ECS_ENABLE_SPOT_INSTANCE_DRAINING=true
ECS_CONTAINER_STOP_TIMEOUT=${STOP_TIMEOUT_SECONDS}s
ECS_RESERVED_MEMORY=${ECS_RESERVED_MEMORY_MIB}
CONFIG
`;
    this.launchTemplate = new aws.ec2.LaunchTemplate(
      `${name}-instances`,
      {
        imageId: ami.value,
        instanceType: settings.capacity.instanceTypes[0],
        iamInstanceProfile: { arn: instanceProfile(name, settings, this.child()).arn },
        vpcSecurityGroupIds: [network.securityGroup.id],
        userData: userData.apply((script) => Buffer.from(script).toString("base64")),
        // Containers in bridge mode cannot reach the instance's credentials (one hop only).
        metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
        // T3 Spot instances default to "unlimited", which bills surplus CPU credits.
        creditSpecification: { cpuCredits: "standard" },
        tagSpecifications: [{ resourceType: "instance", tags: { ...settings.tags, Name: names.instance } }],
        updateDefaultVersion: true,
        tags: settings.tags,
      },
      this.child(),
    );
    this.autoScalingGroup = new aws.autoscaling.Group(
      `${name}-instances`,
      {
        minSize: 0,
        // One more than the workers: room for a one-off task (infra/migrate.sh) while they all run.
        maxSize: settings.scaling.maxTasks + 1,
        vpcZoneIdentifiers: network.subnetIds,
        protectFromScaleIn: true,
        capacityRebalance: true,
        mixedInstancesPolicy: {
          instancesDistribution: {
            onDemandBaseCapacity: 0,
            onDemandPercentageAboveBaseCapacity: 0,
            spotAllocationStrategy: "price-capacity-optimized",
          },
          launchTemplate: {
            launchTemplateSpecification: { launchTemplateId: this.launchTemplate.id, version: "$Latest" },
            overrides: settings.capacity.instanceTypes.map((instanceType) => ({ instanceType })),
          },
        },
        tags: [{ key: "AmazonECSManaged", value: "true", propagateAtLaunch: true }],
      },
      this.child({ ignoreChanges: ["desiredCapacity"] }),
    );
    this.capacityProvider = new aws.ecs.CapacityProvider(
      `${name}-spot-instances`,
      {
        name: names.capacityProvider,
        autoScalingGroupProvider: {
          autoScalingGroupArn: this.autoScalingGroup.arn,
          managedTerminationProtection: "ENABLED",
          managedDraining: "ENABLED",
          managedScaling: {
            status: "ENABLED",
            targetCapacity: 100,
            minimumScalingStepSize: 1,
            maximumScalingStepSize: settings.scaling.maxTasks + 1,
            instanceWarmupPeriod: 120,
          },
        },
        tags: settings.tags,
      },
      this.child(),
    );
    this.strategy = [{ capacityProvider: this.capacityProvider.name, weight: 1, base: 0 }];
    this.clusterCapacityProviders = clusterCapacityProviders(name, this.cluster, this.strategy, this.child());
    // The Spot instances are all this mode has, for a migration too.
    this.migration = { capacityProviderStrategy: [{ capacityProvider: this.capacityProvider.name, weight: 1, base: 0 }] };
    this.registerOutputs({ clusterName: this.cluster.name, capacityProviderName: this.capacityProvider.name });
  }
}

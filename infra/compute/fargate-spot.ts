import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { StackComponent } from "../component";
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

/**
 * Fargate Spot: tasks of 0.25 vCPU and 512 MiB, each with a network interface and public IP of its
 * own (awsvpc), split between FARGATE_SPOT and FARGATE by the stack's weights.
 */
export class FargateSpotCapacity extends StackComponent implements Capacity {
  /** Fargate's SIGTERM is the Spot notice itself: up to 110 s of ECS's 120 s stopTimeout. */
  static readonly shutdownSeconds = { default: 100, max: 110 };

  readonly cluster: aws.ecs.Cluster;
  readonly clusterName: string;
  readonly clusterCapacityProviders: aws.ecs.ClusterCapacityProviders;
  readonly strategy: CapacityProviderStrategy[];
  /** A 256 MiB heap: 256 + ~100 MiB outside it < the task's 512. */
  readonly task: TaskFit = {
    definition: { requiresCompatibilities: ["FARGATE"], networkMode: "awsvpc", cpu: "256", memory: "512" },
    container: {},
    heapLimitMiB: 256,
  };
  readonly serviceNetwork: aws.types.input.ecs.ServiceNetworkConfiguration;
  readonly migration: Placement;

  constructor(name: string, { settings, network }: CapacityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("FargateSpotCapacity", name, opts);
    this.clusterName = stackNames(settings.stack).fargateCluster;
    this.cluster = ecsCluster(name, this.clusterName, settings, this.child());
    // Weights split tasks between the two; FARGATE is not a fallback when Spot capacity runs out.
    this.strategy = [
      { capacityProvider: "FARGATE_SPOT", weight: settings.capacity.spotWeight, base: 0 },
      { capacityProvider: "FARGATE", weight: settings.capacity.onDemandWeight, base: 0 },
    ];
    this.clusterCapacityProviders = clusterCapacityProviders(name, this.cluster, this.strategy, this.child());
    const securityGroups = [network.securityGroup.id];
    this.serviceNetwork = { subnets: network.subnetIds, securityGroups, assignPublicIp: true };
    // On-demand, so that a Spot interruption cannot cut a migration short.
    this.migration = {
      capacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1, base: 0 }],
      networkConfiguration: { awsvpcConfiguration: { subnets: network.subnetIds, securityGroups, assignPublicIp: "ENABLED" } },
    };
    this.registerOutputs({ clusterName: this.cluster.name });
  }
}

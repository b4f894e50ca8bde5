/**
 * What a capacity mode is: the cluster the worker's tasks run in, the capacity behind it, and how the
 * task definition, the service and a one-off task fit it. Each mode is a type of its own
 * (fargate-spot.ts, ec2-spot.ts), chosen once (modes.ts).
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { Network } from "../network";
import type { StackSettings } from "../settings";

export interface CapacityProviderStrategy {
  capacityProvider: pulumi.Input<string>;
  weight: number;
  base: number;
}

/**
 * How the task fits the capacity. Memory (docs/deploy.md "Memory"): measured, the bundled worker at
 * concurrency 50 peaks at 161 MB RSS with a capped heap (219 MB uncapped: V8 sizes its young
 * generation from the heap limit), of which ~100 MB is code and buffers outside the heap. The heap
 * cap keeps the whole process under the hard limit with room to spare.
 */
export interface TaskFit {
  /** The task definition's launch type and network mode, and its size where a task has one of its own. */
  definition: { requiresCompatibilities: string[]; networkMode: "awsvpc" | "bridge"; cpu?: string; memory?: string };
  /** The container's memory reservation and hard limit, where the task has no size of its own. */
  container: { memoryReservation?: number; memory?: number };
  /** Node's heap cap (NODE_OPTIONS=--max-old-space-size). */
  heapLimitMiB: number;
}

/** Where a one-off task runs (`aws ecs run-task`): its capacity provider strategy and, in awsvpc mode, its network. */
export interface Placement {
  capacityProviderStrategy: CapacityProviderStrategy[];
  networkConfiguration?: {
    awsvpcConfiguration: { subnets: Network["subnetIds"]; securityGroups: pulumi.Input<string>[]; assignPublicIp: "ENABLED" };
  };
}

/** What the task definition, the service, the dashboard and the migration task ask of a capacity mode. */
export interface Capacity {
  readonly cluster: aws.ecs.Cluster;
  /** The cluster's name, known before the cluster exists. */
  readonly clusterName: string;
  readonly clusterCapacityProviders: aws.ecs.ClusterCapacityProviders;
  /** The service's capacity provider strategy. */
  readonly strategy: CapacityProviderStrategy[];
  readonly task: TaskFit;
  /** The service's network configuration: a network interface of its own per task (awsvpc), or none (bridge). */
  readonly serviceNetwork?: aws.types.input.ecs.ServiceNetworkConfiguration;
  /** Where a one-off migration runs. */
  readonly migration: Placement;
}

export interface CapacityArgs {
  settings: StackSettings;
  network: Network;
}

/**
 * A mode's type: built from the stack's settings and network, with the shutdown budget its Spot
 * notice leaves the worker (MESSAGING_SHUTDOWN_TIMEOUT: the default, and the most the stack allows).
 */
export interface CapacityType {
  new (name: string, args: CapacityArgs, opts?: pulumi.ComponentResourceOptions): Capacity;
  readonly shutdownSeconds: { default: number; max: number };
}

/** The cluster, named by its mode; Container Insights off (scaling and the dashboard use free metrics). */
export function ecsCluster(name: string, clusterName: string, settings: StackSettings, opts: pulumi.CustomResourceOptions) {
  return new aws.ecs.Cluster(
    `${name}-cluster`,
    { name: clusterName, settings: [{ name: "containerInsights", value: "disabled" }], tags: settings.tags },
    opts,
  );
}

/** The cluster's capacity providers: those of the strategy, which is also the cluster's default. */
export function clusterCapacityProviders(
  name: string,
  cluster: aws.ecs.Cluster,
  strategy: CapacityProviderStrategy[],
  opts: pulumi.CustomResourceOptions,
) {
  return new aws.ecs.ClusterCapacityProviders(
    `${name}-capacity`,
    {
      clusterName: cluster.name,
      capacityProviders: strategy.map((provider) => provider.capacityProvider),
      defaultCapacityProviderStrategies: strategy,
    },
    opts,
  );
}

import type * as pulumi from "@pulumi/pulumi";
import type { CapacityMode } from "../settings";
import type { Capacity, CapacityArgs, CapacityType } from "./capacity";
import { Ec2SpotCapacity } from "./ec2-spot";
import { FargateSpotCapacity } from "./fargate-spot";

/**
 * Each capacity mode's word in the stack config and its type: the one place a mode is chosen.
 *
 * Each mode has a cluster of its own, so that switching modes replaces the cluster, its capacity
 * providers and the service (new ones first, then the old drained and deleted) instead of updating
 * them in place, which fails: ECS refuses to take a capacity provider off a cluster while the
 * service still uses it (docs/deploy.md "Changing the Spot/on-demand split, or the capacity mode").
 */
export const CAPACITY_MODES: Record<CapacityMode, CapacityType> = {
  "fargate-spot": FargateSpotCapacity,
  "ec2-spot": Ec2SpotCapacity,
};

/** The stack's capacity, of the type its settings name. */
export function workerCapacity(name: string, args: CapacityArgs, opts?: pulumi.ComponentResourceOptions): Capacity {
  const Mode = CAPACITY_MODES[args.settings.capacity.mode];
  return new Mode(name, args, opts);
}

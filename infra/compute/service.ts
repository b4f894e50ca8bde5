import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { stackNames } from "../names";
import { type StackSettings, startingTasks } from "../settings";
import type { Capacity } from "./capacity";

/** The ECS service that keeps the worker's tasks running on the mode's capacity. */
export function workerService(
  name: string,
  settings: StackSettings,
  task: aws.ecs.TaskDefinition,
  capacity: Capacity,
  opts: pulumi.CustomResourceOptions,
): aws.ecs.Service {
  return new aws.ecs.Service(
    `${name}-service`,
    {
      name: stackNames(settings.stack).service,
      cluster: capacity.cluster.arn,
      taskDefinition: task.arn,
      desiredCount: startingTasks(settings.scaling),
      capacityProviderStrategies: capacity.strategy,
      // The provider updates a capacity provider strategy (the Spot/on-demand split) only with a
      // forced deployment; without it the update fails. Every update of the service then rolls its tasks.
      forceNewDeployment: true,
      networkConfiguration: capacity.serviceNetwork,
      deploymentMinimumHealthyPercent: 0,
      deploymentMaximumPercent: 200,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      enableEcsManagedTags: true,
      propagateTags: "SERVICE",
      tags: settings.tags,
    },
    // Application Auto Scaling owns the task count once the service exists.
    { ...opts, dependsOn: [capacity.clusterCapacityProviders], ignoreChanges: ["desiredCount"] },
  );
}

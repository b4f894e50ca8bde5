import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Capacity } from "./capacity";
import { CONTAINER_NAME } from "./task-definition";

/**
 * The input of `aws ecs run-task --cli-input-json` for a one-off `migrate` of this stack's image and
 * secrets, on the stack's own capacity and network (infra/migrate.sh); where it runs is the mode's
 * choice (Capacity.migration).
 */
export function migrationTask(task: aws.ecs.TaskDefinition, capacity: Capacity) {
  const overrides = { containerOverrides: [{ name: CONTAINER_NAME, command: ["migrate"] }] };
  return pulumi.output({
    cluster: capacity.cluster.name,
    taskDefinition: task.arn,
    count: 1,
    startedBy: "migrate",
    overrides,
    ...capacity.migration,
  });
}

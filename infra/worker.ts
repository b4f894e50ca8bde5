import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { type Alarms, queueAlarms } from "./alarms";
import type { WorkerArgs } from "./args";
import { capacity, type Capacity, network, service, taskDefinition } from "./compute";
import { executionRole, taskRole } from "./iam";
import { jobQueues, type JobQueues } from "./queue";
import { queueDepthScaling, type Scaling } from "./scaling";
import { type ContainerSecret, workerSecrets } from "./secrets";

export interface WorkerStack {
  queues: JobQueues;
  secrets: ContainerSecret[];
  logGroup: aws.cloudwatch.LogGroup;
  taskRole: { role: aws.iam.Role; policy: aws.iam.RolePolicy };
  executionRole: { role: aws.iam.Role; policy: aws.iam.RolePolicy };
  capacity: Capacity;
  taskDefinition: aws.ecs.TaskDefinition;
  service: aws.ecs.Service;
  scaling: Scaling;
  alarms: Alarms;
}

/** Every AWS resource of one stack, from its arguments alone: tests build it with any config. */
export function buildWorker(name: string, args: WorkerArgs, opts: pulumi.CustomResourceOptions = {}): WorkerStack {
  const queues = jobQueues(name, args, opts);
  const secrets = workerSecrets(name, args, opts);
  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-logs`,
    { name: `/ecs/academy-messaging-worker/${args.stack}`, retentionInDays: args.logRetentionDays, tags: args.tags },
    opts,
  );
  const task = taskRole(name, args, queues, opts);
  const execution = executionRole(name, args, secrets, logGroup, opts);
  const net = network(name, args, opts);
  const cap = capacity(name, args, net, opts);
  const definition = taskDefinition(name, args, { queues, secrets, logGroup, taskRole: task.role, executionRole: execution.role }, opts);
  const workerService = service(name, args, definition, cap, net, opts);
  const scaling = queueDepthScaling(name, args, queues, cap.cluster.name, workerService.name, opts);
  const alarms = queueAlarms(name, args, queues, opts);
  return {
    queues,
    secrets,
    logGroup,
    taskRole: task,
    executionRole: execution,
    capacity: cap,
    taskDefinition: definition,
    service: workerService,
    scaling,
    alarms,
  };
}

import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { type Alarms, queueAlarms } from "./alarms";
import type { WorkerArgs } from "./args";
import { type Capacity, capacity, clusterName, migrationTask, SERVICE_NAME, service, taskDefinition } from "./compute";
import { workerDashboard } from "./dashboard";
import { executionRole, taskRole } from "./iam";
import { type KeepAlive, queueKeepAlive } from "./keep-alive";
import { type Network, network } from "./network";
import { type JobQueues, jobQueues } from "./queue";
import { queueDepthScaling, type Scaling } from "./scaling";
import { type ContainerSecret, workerSecrets } from "./secrets";

export interface WorkerStack {
  queues: JobQueues;
  secrets: ContainerSecret[];
  logGroup: aws.cloudwatch.LogGroup;
  taskRole: { role: aws.iam.Role; policy: aws.iam.RolePolicy };
  executionRole: { role: aws.iam.Role; policy: aws.iam.RolePolicy };
  network: Network;
  capacity: Capacity;
  taskDefinition: aws.ecs.TaskDefinition;
  service: aws.ecs.Service;
  scaling: Scaling;
  keepAlive?: KeepAlive;
  alarms: Alarms;
  dashboard: aws.cloudwatch.Dashboard;
  /** `aws ecs run-task --cli-input-json` for `migrate` (infra/migrate.sh). */
  migrationTask: ReturnType<typeof migrationTask>;
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
  const keepAlive = queueKeepAlive(name, args, queues, opts);
  const alarms = queueAlarms(name, args, queues, opts);
  const dashboard = workerDashboard(name, args, { clusterName: clusterName(args), serviceName: SERVICE_NAME }, alarms, opts);
  return {
    queues,
    secrets,
    logGroup,
    taskRole: task,
    executionRole: execution,
    network: net,
    capacity: cap,
    taskDefinition: definition,
    service: workerService,
    scaling,
    keepAlive,
    alarms,
    dashboard,
    migrationTask: migrationTask(args, definition, cap, net),
  };
}

import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { QueueAlarms } from "./alarms";
import { StackComponent } from "./component";
import type { Capacity } from "./compute/capacity";
import { migrationTask } from "./compute/migration-task";
import { workerCapacity } from "./compute/modes";
import { workerService } from "./compute/service";
import { taskDefinition } from "./compute/task-definition";
import { workerDashboard } from "./dashboard";
import { executionRole, taskRole } from "./iam";
import { keepAliveSchedule, QueueKeepAlive } from "./keep-alive";
import { stackNames } from "./names";
import { type Network, network } from "./network";
import { JobQueues } from "./queue";
import { QueueDepthScaling } from "./scaling";
import { WorkerSecrets } from "./secrets";
import type { StackSettings } from "./settings";

export interface WorkerArgs {
  settings: StackSettings;
  /** The image the task runs and, when it is in ECR, the repository the execution role may pull from. */
  image: { imageUri: pulumi.Input<string>; repositoryArn?: pulumi.Input<string> };
}

/**
 * The academy messaging worker on AWS: every resource of one stack, from its settings and image
 * alone (it reads no config, so tests build it with any settings). Its constructs are components of
 * their own where they are several resources with one purpose (queues, secrets, capacity, scaling,
 * alarms, keep-alive); single resources and role-and-policy pairs are its direct children.
 */
export class AcademyMessagingWorker extends StackComponent {
  readonly queues: JobQueues;
  readonly secrets: WorkerSecrets;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly taskRole: { role: aws.iam.Role; policy: aws.iam.RolePolicy };
  readonly executionRole: { role: aws.iam.Role; policy: aws.iam.RolePolicy };
  readonly network: Network;
  readonly capacity: Capacity;
  readonly taskDefinition: aws.ecs.TaskDefinition;
  readonly service: aws.ecs.Service;
  readonly scaling: QueueDepthScaling;
  readonly keepAlive?: QueueKeepAlive;
  readonly alarms: QueueAlarms;
  readonly dashboard: aws.cloudwatch.Dashboard;
  /** `aws ecs run-task --cli-input-json` for `migrate` (infra/migrate.sh). */
  readonly migrationTask: ReturnType<typeof migrationTask>;

  constructor(name: string, { settings, image }: WorkerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Worker", name, opts);
    const component = { parent: this };
    const names = stackNames(settings.stack);
    this.queues = new JobQueues(name, settings, component);
    this.secrets = new WorkerSecrets(name, settings, component);
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: names.logGroup, retentionInDays: settings.logRetentionDays, tags: settings.tags },
      this.child(),
    );
    this.taskRole = taskRole(name, settings, this.queues, this.child());
    this.executionRole = executionRole(
      name,
      settings,
      { repositoryArn: image.repositoryArn, secrets: this.secrets.parameters, logGroup: this.logGroup },
      this.child(),
    );
    this.network = network(name, settings, this.child());
    this.capacity = workerCapacity(name, { settings, network: this.network }, component);
    this.taskDefinition = taskDefinition(
      name,
      settings,
      this.capacity.task,
      {
        image: image.imageUri,
        queues: this.queues,
        secrets: this.secrets.parameters,
        logGroup: this.logGroup,
        taskRole: this.taskRole.role,
        executionRole: this.executionRole.role,
      },
      this.child(),
    );
    this.service = workerService(name, settings, this.taskDefinition, this.capacity, this.child());
    const scaled = { clusterName: this.capacity.cluster.name, serviceName: this.service.name, queues: this.queues };
    this.scaling = new QueueDepthScaling(name, settings, scaled, component);
    const schedule = keepAliveSchedule(settings.scaling);
    this.keepAlive = schedule ? new QueueKeepAlive(name, settings, this.queues, schedule, component) : undefined;
    this.alarms = new QueueAlarms(name, settings, this.queues, component);
    const ecs = { clusterName: this.capacity.clusterName, serviceName: names.service };
    this.dashboard = workerDashboard(name, settings, ecs, this.alarms, this.child());
    this.migrationTask = migrationTask(this.taskDefinition, this.capacity);
    this.registerOutputs({
      queueUrl: this.queues.queue.url,
      deadLetterQueueUrl: this.queues.deadLetterQueue.url,
      clusterName: this.capacity.cluster.name,
      serviceName: this.service.name,
      migrationTask: this.migrationTask,
    });
  }
}

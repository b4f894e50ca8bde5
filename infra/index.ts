/**
 * The Pulumi program (Pulumi.yaml: `main: infra/`). Reads the stack's config, builds the image
 * unless the config names one, and builds the stack with buildWorker.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { readSettings, workerArgs } from "./config";
import { ecrRepositoryArn, workerImage } from "./image";
import { buildWorker } from "./worker";

const NAME = "messaging";
const stack = pulumi.getStack();
const config = new pulumi.Config();
const tags = { project: "academy-messaging", stack };

// An explicit provider for its default tags: every resource is tagged, awsx's children too. An
// explicit provider does not read `aws:` stack config by itself, so region and profile are passed on.
const awsConfig = new pulumi.Config("aws");
const provider = new aws.Provider("aws", {
  region: awsConfig.get("region") as aws.Region | undefined,
  profile: awsConfig.get("profile"),
  defaultTags: { tags },
});

const settings = readSettings(config);
const prebuilt = settings.imageUri;
const image = prebuilt
  ? { imageUri: pulumi.output(prebuilt), repositoryArn: ecrRepositoryArn(prebuilt) }
  : workerImage(NAME, stack, tags, provider);
const worker = buildWorker(NAME, workerArgs(config, stack, image.imageUri, image.repositoryArn), { provider });

export const capacityMode = settings.capacityMode;
export const queueUrl = worker.queues.queue.url;
export const queueArn = worker.queues.queue.arn;
export const deadLetterQueueUrl = worker.queues.deadLetterQueue.url;
export const deadLetterQueueArn = worker.queues.deadLetterQueue.arn;
export const clusterName = worker.capacity.cluster.name;
export const serviceName = worker.service.name;
export const logGroupName = worker.logGroup.name;
export const securityGroupId = worker.network.securityGroup.id;
export const subnetIds = worker.network.subnetIds;
export const alarmTopicArn = worker.alarms.topic?.arn ?? settings.alarmTopicArn;
export const dashboardName = worker.dashboard.dashboardName;
export const migrationTask = worker.migrationTask;
export const imageUri = image.imageUri;
export const backlogPerTask = worker.scaling.backlogPerTask;

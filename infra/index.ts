/**
 * The Pulumi program (Pulumi.yaml: `main: infra/`). Reads the stack's settings from its config once,
 * builds the image unless the config names one, and builds the stack as an AcademyMessagingWorker.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { readSettings } from "./config";
import { workerImage } from "./image";
import { AcademyMessagingWorker } from "./worker";

const NAME = "messaging";
const settings = readSettings(new pulumi.Config(), pulumi.getStack());

// An explicit provider for its default tags: every resource is tagged, awsx's children too. An
// explicit provider does not read `aws:` stack config by itself, so region and profile are passed on.
const awsConfig = new pulumi.Config("aws");
const provider = new aws.Provider("aws", {
  region: awsConfig.get("region") as aws.Region | undefined,
  profile: awsConfig.get("profile"),
  defaultTags: { tags: settings.tags },
});

const image = workerImage(NAME, settings, provider);
const worker = new AcademyMessagingWorker(NAME, { settings, image }, { provider });

export const capacityMode = settings.capacity.mode;
export const queueUrl = worker.queues.queue.url;
export const queueArn = worker.queues.queue.arn;
export const deadLetterQueueUrl = worker.queues.deadLetterQueue.url;
export const deadLetterQueueArn = worker.queues.deadLetterQueue.arn;
export const clusterName = worker.capacity.cluster.name;
export const serviceName = worker.service.name;
export const logGroupName = worker.logGroup.name;
export const securityGroupId = worker.network.securityGroup.id;
export const subnetIds = worker.network.subnetIds;
export const alarmTopicArn = worker.alarms.topic?.arn ?? settings.alarms.topicArn;
export const dashboardName = worker.dashboard.dashboardName;
export const migrationTask = worker.migrationTask;
export const imageUri = image.imageUri;
export const backlogPerTask = worker.scaling.backlogPerTask;

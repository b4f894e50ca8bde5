/**
 * The Pulumi program (Pulumi.yaml: `main: infra/`). Reads the stack's config, builds the image
 * unless the config names one, and builds the stack with buildWorker.
 */
import * as pulumi from "@pulumi/pulumi";
import { readSettings, workerArgs } from "./config";
import { workerImage } from "./image";
import { buildWorker } from "./worker";

const NAME = "messaging";
const stack = pulumi.getStack();
const config = new pulumi.Config();
const prebuilt = readSettings(config).imageUri;
const image = prebuilt ? { imageUri: pulumi.output(prebuilt), repositoryArn: undefined } : workerImage(NAME, stack, { project: "academy-messaging", stack });
const worker = buildWorker(NAME, workerArgs(config, stack, image.imageUri, image.repositoryArn));

export const queueUrl = worker.queues.queue.url;
export const deadLetterQueueUrl = worker.queues.deadLetterQueue.url;
export const clusterName = worker.capacity.cluster.name;
export const serviceName = worker.service.name;
export const logGroupName = worker.logGroup.name;
export const imageUri = image.imageUri;
export const backlogPerTask = worker.scaling.backlogPerTask;

import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { stackNames } from "./names";
import type { StackSettings } from "./settings";

export interface WorkerImage {
  imageUri: pulumi.Output<string>;
  /** The ECR repository the execution role may pull from; absent for an image from another registry. */
  repositoryArn?: pulumi.Input<string>;
}

/** The image the task runs: the stack's prebuilt image if its config names one, else the repository's Dockerfile built. */
export function workerImage(name: string, settings: StackSettings, provider?: aws.Provider): WorkerImage {
  const prebuilt = settings.imageUri;
  if (prebuilt) return { imageUri: pulumi.output(prebuilt), repositoryArn: ecrRepositoryArn(prebuilt) };
  return builtImage(name, settings, provider);
}

/**
 * The tag every build is pushed under. awsx names the image (and its docker-build child resource)
 * after a hash of the context's absolute path unless given a tag: from another checkout or CI
 * workspace that name changes, so the image would be replaced and its old digest deleted from ECR
 * while tasks still run it. The task definition uses the digest, never this tag.
 */
export const IMAGE_TAG = "worker";

/** Builds the repository's Dockerfile for linux/amd64 (Fargate Spot runs x86_64) and pushes it to ECR. */
function builtImage(name: string, settings: StackSettings, provider?: aws.Provider): WorkerImage {
  const { stack, tags } = settings;
  const opts = { provider };
  const repository = new aws.ecr.Repository(
    `${name}-repository`,
    {
      name: stackNames(stack).repository,
      imageScanningConfiguration: { scanOnPush: true },
      imageTagMutability: "MUTABLE",
      forceDelete: stack !== "prod",
      tags,
    },
    opts,
  );
  new aws.ecr.LifecyclePolicy(
    `${name}-repository-lifecycle`,
    {
      repository: repository.name,
      policy: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: "keep the last 10 images",
            selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 },
            action: { type: "expire" },
          },
        ],
      }),
    },
    opts,
  );
  const root = path.join(__dirname, "..");
  const image = new awsx.ecr.Image(
    `${name}-image`,
    {
      repositoryUrl: repository.repositoryUrl,
      imageTag: IMAGE_TAG,
      context: root,
      dockerfile: path.join(root, "Dockerfile"),
      platform: "linux/amd64",
    },
    { providers: provider ? [provider] : [] },
  );
  return { imageUri: image.imageUri, repositoryArn: repository.arn };
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([^:@]+)(?:[:@].*)?$/;

/**
 * The ECR repository a prebuilt image lives in, as an ARN, so that the execution role may pull it;
 * undefined for an image from another registry (pulled anonymously).
 */
export function ecrRepositoryArn(imageUri: string): string | undefined {
  const match = ECR_IMAGE.exec(imageUri);
  if (!match) return undefined;
  const [, account, region, china, repository] = match;
  return `arn:${china ? "aws-cn" : "aws"}:ecr:${region}:${account}:repository/${repository}`;
}

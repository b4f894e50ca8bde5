import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import type * as pulumi from "@pulumi/pulumi";

export interface WorkerImage {
  imageUri: pulumi.Output<string>;
  repositoryArn: pulumi.Output<string>;
}

/**
 * The tag every build is pushed under. awsx names the image (and its docker-build child resource)
 * after a hash of the context's absolute path unless given a tag: from another checkout or CI
 * workspace that name changes, so the image would be replaced and its old digest deleted from ECR
 * while tasks still run it. The task definition uses the digest, never this tag.
 */
export const IMAGE_TAG = "worker";

/** Builds the repository's Dockerfile for linux/amd64 (Fargate Spot runs x86_64) and pushes it to ECR. */
export function workerImage(name: string, stack: string, tags: Record<string, string>, provider?: aws.Provider): WorkerImage {
  const opts = { provider };
  const repository = new aws.ecr.Repository(
    `${name}-repository`,
    {
      name: `academy-messaging-worker-${stack}`,
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

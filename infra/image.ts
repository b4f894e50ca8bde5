import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import type * as pulumi from "@pulumi/pulumi";

export interface WorkerImage {
  imageUri: pulumi.Output<string>;
  repositoryArn: pulumi.Output<string>;
}

/** Builds the repository's Dockerfile for linux/amd64 (Fargate Spot runs x86_64) and pushes it to ECR. */
export function workerImage(name: string, stack: string, tags: Record<string, string>): WorkerImage {
  const repository = new aws.ecr.Repository(`${name}-repository`, {
    name: `academy-messaging-worker-${stack}`,
    imageScanningConfiguration: { scanOnPush: true },
    imageTagMutability: "MUTABLE",
    forceDelete: stack !== "prod",
    tags,
  });
  new aws.ecr.LifecyclePolicy(`${name}-repository-lifecycle`, {
    repository: repository.name,
    policy: JSON.stringify({
      rules: [{ rulePriority: 1, description: "keep the last 10 images", selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 }, action: { type: "expire" } }],
    }),
  });
  const root = path.join(__dirname, "..");
  const image = new awsx.ecr.Image(`${name}-image`, {
    repositoryUrl: repository.repositoryUrl,
    context: root,
    dockerfile: path.join(root, "Dockerfile"),
    platform: "linux/amd64",
  });
  return { imageUri: image.imageUri, repositoryArn: repository.arn };
}

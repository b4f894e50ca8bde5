import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { JobQueues } from "./queue";
import type { ContainerSecret } from "./secrets";
import type { StackSettings } from "./settings";

export function trust(service: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
  });
}

/**
 * What the worker itself may do: consume its queue and copy messages to its DLQ. The batch calls
 * are authorised by the single-message actions.
 */
export function taskRole(name: string, settings: StackSettings, queues: JobQueues, opts: pulumi.CustomResourceOptions) {
  const role = new aws.iam.Role(`${name}-task-role`, { assumeRolePolicy: trust("ecs-tasks.amazonaws.com"), tags: settings.tags }, opts);
  const policy = new aws.iam.RolePolicy(
    `${name}-task-policy`,
    {
      role: role.id,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "ConsumeJobs",
            Effect: "Allow",
            Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
            Resource: [queues.queue.arn],
          },
          {
            Sid: "DeadLetterPoisonJobs",
            Effect: "Allow",
            Action: ["sqs:SendMessage", "sqs:GetQueueUrl"],
            Resource: [queues.deadLetterQueue.arn],
          },
        ],
      }),
    },
    opts,
  );
  return { role, policy };
}

/**
 * What ECS may do on the task's behalf at start: pull the image, write its logs, read its secrets.
 * `ecr:GetAuthorizationToken` has no resource-level permission, so it alone names `*`.
 */
export function executionRole(
  name: string,
  settings: StackSettings,
  needs: { repositoryArn?: pulumi.Input<string>; secrets: ContainerSecret[]; logGroup: aws.cloudwatch.LogGroup },
  opts: pulumi.CustomResourceOptions,
) {
  const { repositoryArn, secrets, logGroup } = needs;
  const region = aws.getRegionOutput({}, { parent: opts.parent }).region;
  const ssmKey = aws.kms.getAliasOutput({ name: "alias/aws/ssm" }, { parent: opts.parent });
  const statements: unknown[] = [
    {
      Sid: "WriteLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: [pulumi.interpolate`${logGroup.arn}:*`],
    },
  ];
  if (repositoryArn !== undefined) {
    statements.push(
      { Sid: "EcrLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
      {
        Sid: "PullImage",
        Effect: "Allow",
        Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
        Resource: [repositoryArn],
      },
    );
  }
  if (secrets.length > 0) {
    statements.push(
      { Sid: "ReadSecrets", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: secrets.map((secret) => secret.parameter.arn) },
      {
        Sid: "DecryptSecrets",
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: [ssmKey.targetKeyArn],
        Condition: { StringEquals: { "kms:ViaService": pulumi.interpolate`ssm.${region}.amazonaws.com` } },
      },
    );
  }
  const role = new aws.iam.Role(
    `${name}-execution-role`,
    { assumeRolePolicy: trust("ecs-tasks.amazonaws.com"), tags: settings.tags },
    opts,
  );
  const policy = new aws.iam.RolePolicy(
    `${name}-execution-policy`,
    { role: role.id, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements }) },
    opts,
  );
  return { role, policy };
}

/** EC2 mode: what the ECS agent on a container instance needs, and nothing else (no SSM agent role). */
export function instanceProfile(name: string, settings: StackSettings, opts: pulumi.CustomResourceOptions) {
  const role = new aws.iam.Role(`${name}-instance-role`, { assumeRolePolicy: trust("ec2.amazonaws.com"), tags: settings.tags }, opts);
  new aws.iam.RolePolicyAttachment(
    `${name}-instance-ecs`,
    { role: role.name, policyArn: "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role" },
    opts,
  );
  return new aws.iam.InstanceProfile(`${name}-instance-profile`, { role: role.name, tags: settings.tags }, opts);
}

/**
 * The worker's roles (infra/iam.ts) in the default stack, under Pulumi's mocks: least privilege,
 * statement by statement.
 */
import { expect } from "chai";
import { type Built, build, settingsFor, statements } from "../support/worker-stack";

describe("infrastructure: IAM", function () {
  this.timeout(30_000);
  let built: Built;
  before(async () => {
    built = await build(settingsFor());
  });

  it("IAM task role: receive, delete, change visibility, attributes on its queue; send to its DLQ; nothing else", () => {
    expect(statements(built.mocks, "messaging-task-policy")).to.deep.equal([
      {
        Sid: "ConsumeJobs",
        Effect: "Allow",
        Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
        Resource: ["arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs"],
      },
      {
        Sid: "DeadLetterPoisonJobs",
        Effect: "Allow",
        Action: ["sqs:SendMessage", "sqs:GetQueueUrl"],
        Resource: ["arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs-dlq"],
      },
    ]);
  });

  it("IAM execution role: its log group, its image, its parameters and their key, statement by statement", () => {
    expect(statements(built.mocks, "messaging-execution-policy")).to.deep.equal([
      {
        Sid: "WriteLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: ["arn:aws:cloudwatch:ap-northeast-2:123456789012:/ecs/academy-messaging-worker/dev:*"],
      },
      { Sid: "EcrLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
      {
        Sid: "PullImage",
        Effect: "Allow",
        Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
        Resource: ["arn:aws:ecr:ap-northeast-2:123456789012:repository/academy-messaging-worker-dev"],
      },
      {
        Sid: "ReadSecrets",
        Effect: "Allow",
        Action: ["ssm:GetParameters"],
        Resource: [
          "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/solapi-api-key",
          "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/solapi-api-secret",
          "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/database-url",
          "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/recipient-hash-secret",
        ],
      },
      {
        Sid: "DecryptSecrets",
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: ["arn:aws:kms:ap-northeast-2:123456789012:key/ssm-key"],
        Condition: { StringEquals: { "kms:ViaService": "ssm.ap-northeast-2.amazonaws.com" } },
      },
    ]);
  });

  it("IAM: no wildcard action anywhere; a wildcard resource only where AWS allows no other", () => {
    for (const policy of built.mocks.ofType("aws:iam/rolePolicy:RolePolicy")) {
      for (const statement of statements(built.mocks, policy.name)) {
        const actions: string[] = [statement.Action].flat();
        expect(
          actions.some((action) => action.includes("*")),
          `${policy.name} ${statement.Sid}`,
        ).to.equal(false);
        if ([statement.Resource].flat().includes("*"))
          expect(actions, `${policy.name} ${statement.Sid}`).to.deep.equal(["ecr:GetAuthorizationToken"]);
      }
    }
  });
});

/**
 * buildWorker under Pulumi's mocks: every resource of the stack, in both compute modes, checked
 * input by input. No CLI, no plugins, no network.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import type { WorkerArgs } from "../../infra/args";
import { backlogSteps } from "../../infra/scaling";
import { buildWorker, type WorkerStack } from "../../infra/worker";
import { RecordingMocks, settled, valueOf } from "../support/pulumi-mocks";

const SOLAPI_KEY = "NCSPLAINTEXTKEY123";
const SOLAPI_SECRET = "plaintext-solapi-secret-456";
const DATABASE_URL = "mysql://worker:plaintext-db-pass@db:3306/academy";

function argsFor(overrides: Partial<WorkerArgs> = {}): WorkerArgs {
  return {
    stack: "dev",
    image: "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/worker@sha256:abc",
    repositoryArn: "arn:aws:ecr:ap-northeast-2:123456789012:repository/academy-messaging-worker-dev",
    queue: { name: "academy-messaging-jobs", deadLetterName: "academy-messaging-jobs-dlq", visibilityTimeoutSeconds: 60, waitSeconds: 20, maxReceiveCount: 3 },
    solapi: { mock: false, apiKey: pulumi.secret(SOLAPI_KEY), apiSecret: pulumi.secret(SOLAPI_SECRET), sender: "0212345678", kakaoTemplateId: "KA01TP-CLINIC" },
    databaseUrl: pulumi.secret(DATABASE_URL),
    worker: { concurrency: 50, shutdownTimeoutSeconds: 100, logLevel: "info" },
    capacity: { mode: "fargate-spot", spotWeight: 1, onDemandWeight: 0, instanceTypes: ["t3.nano", "t3a.nano"] },
    scaling: { minTasks: 0, maxTasks: 3, acceptableLatencySeconds: 60, secondsPerMessage: 0.02, idleMinutesBeforeZero: 15 },
    alarms: { oldestMessageSeconds: 600, email: "ops@academy.example" },
    network: {},
    logRetentionDays: 14,
    tags: { project: "academy-messaging", stack: "dev" },
    ...overrides,
  };
}

interface Built {
  mocks: RecordingMocks;
  stack: WorkerStack;
  options: Map<string, pulumi.ResourceOptions>;
}

async function build(args: WorkerArgs): Promise<Built> {
  const mocks = new RecordingMocks();
  await pulumi.runtime.setMocks(mocks, "academy-messaging", args.stack, false);
  const options = new Map<string, pulumi.ResourceOptions>();
  // A legacy transformation runs client-side under mocks, so it sees each resource's options.
  const stack = buildWorker("messaging", args, {
    transformations: [(resource) => (options.set(`${resource.type}::${resource.name}`, resource.opts), undefined)],
  });
  await valueOf(stack.service.arn);
  await valueOf(stack.scaling.idleAlarm.arn);
  await valueOf(stack.alarms.oldestJob.arn);
  await settled();
  return { mocks, stack, options };
}

function containerOf(mocks: RecordingMocks): Record<string, any> {
  return JSON.parse(mocks.one("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions)[0];
}

function environmentOf(mocks: RecordingMocks): Record<string, string> {
  return Object.fromEntries(containerOf(mocks).environment.map((entry: { name: string; value: string }) => [entry.name, entry.value]));
}

function statements(mocks: RecordingMocks, name: string): any[] {
  return JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy", name).inputs.policy).Statement;
}

describe("infrastructure: buildWorker (fargate-spot, the default)", function () {
  this.timeout(30_000);
  let built: Built;
  before(async () => {
    built = await build(argsFor());
  });

  it("queue: visibility 60 s, long polling 20 s, SSE, redrive to the DLQ after 3 receives", () => {
    const queue = built.mocks.one("aws:sqs/queue:Queue", "messaging-queue").inputs;
    const dlq = built.mocks.one("aws:sqs/queue:Queue", "messaging-dlq").inputs;
    expect(queue).to.include({ name: "academy-messaging-jobs", visibilityTimeoutSeconds: 60, receiveWaitTimeSeconds: 20, sqsManagedSseEnabled: true });
    expect(JSON.parse(queue.redrivePolicy)).to.deep.equal({
      deadLetterTargetArn: "arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs-dlq",
      maxReceiveCount: 3,
    });
    expect(dlq).to.include({ name: "academy-messaging-jobs-dlq", messageRetentionSeconds: 1_209_600, sqsManagedSseEnabled: true });
    const allow = JSON.parse(built.mocks.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy").inputs.redriveAllowPolicy);
    expect(allow).to.deep.equal({ redrivePermission: "byQueue", sourceQueueArns: ["arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs"] });
  });

  it("secrets: SSM SecureStrings that stay Pulumi secrets, passed with valueFrom; no plaintext anywhere else", async () => {
    const parameters = built.mocks.ofType("aws:ssm/parameter:Parameter");
    expect(parameters.map((parameter) => [parameter.inputs.name, parameter.inputs.type])).to.deep.equal([
      ["/academy-messaging/dev/solapi-api-key", "SecureString"],
      ["/academy-messaging/dev/solapi-api-secret", "SecureString"],
      ["/academy-messaging/dev/database-url", "SecureString"],
    ]);
    for (const secret of built.stack.secrets) expect(await pulumi.isSecret(secret.parameter.value), secret.variable).to.equal(true);
    expect(containerOf(built.mocks).secrets).to.deep.equal([
      { name: "SOLAPI_API_KEY", valueFrom: "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/solapi-api-key" },
      { name: "SOLAPI_API_SECRET", valueFrom: "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/solapi-api-secret" },
      { name: "DATABASE_URL", valueFrom: "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/database-url" },
    ]);
    const elsewhere = JSON.stringify(built.mocks.resources.filter((resource) => resource.type !== "aws:ssm/parameter:Parameter"));
    for (const plaintext of [SOLAPI_KEY, SOLAPI_SECRET, "plaintext-db-pass"]) expect(elsewhere).not.to.contain(plaintext);
  });

  it("compute: FARGATE_SPOT in the strategy, 0.25 vCPU / 0.5 GB, x86_64, awsvpc with a public IP in the default VPC", () => {
    const providers = built.mocks.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders").inputs;
    expect(providers.capacityProviders).to.deep.equal(["FARGATE_SPOT", "FARGATE"]);
    const service = built.mocks.one("aws:ecs/service:Service").inputs;
    expect(service.capacityProviderStrategies).to.deep.equal([
      { capacityProvider: "FARGATE_SPOT", weight: 1, base: 0 },
      { capacityProvider: "FARGATE", weight: 0, base: 0 },
    ]);
    expect(service.networkConfiguration).to.deep.include({ assignPublicIp: true, subnets: ["subnet-a", "subnet-b"] });
    const task = built.mocks.one("aws:ecs/taskDefinition:TaskDefinition").inputs;
    expect(task).to.deep.include({ cpu: "256", memory: "512", networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"] });
    expect(task.runtimePlatform).to.deep.equal({ operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" });
    expect(built.mocks.ofType("aws:autoscaling/group:Group")).to.have.length(0);
  });

  it("container: stopTimeout 120, an init, non-root, read-only root filesystem, awslogs", () => {
    const container = containerOf(built.mocks);
    expect(container).to.deep.include({ name: "worker", essential: true, stopTimeout: 120, user: "1000:1000", readonlyRootFilesystem: true });
    expect(container.linuxParameters).to.deep.equal({ initProcessEnabled: true });
    expect(container.logConfiguration).to.deep.equal({
      logDriver: "awslogs",
      options: { "awslogs-group": "/ecs/academy-messaging-worker/dev", "awslogs-region": "ap-northeast-2", "awslogs-stream-prefix": "worker" },
    });
    expect(built.mocks.one("aws:cloudwatch/logGroup:LogGroup").inputs).to.include({ retentionInDays: 14 });
  });

  it("container environment comes from the config (CONTRACT §3 names)", () => {
    expect(environmentOf(built.mocks)).to.deep.equal({
      AWS_REGION: "ap-northeast-2",
      MESSAGING_SQS_QUEUE_URL: "https://sqs.ap-northeast-2.amazonaws.com/123456789012/academy-messaging-jobs",
      MESSAGING_SQS_QUEUE_NAME: "academy-messaging-jobs",
      MESSAGING_SQS_DLQ_NAME: "academy-messaging-jobs-dlq",
      MESSAGING_SQS_WAIT_SECONDS: "20",
      MESSAGING_VISIBILITY_TIMEOUT: "60",
      MESSAGING_CONCURRENCY: "50",
      MESSAGING_SHUTDOWN_TIMEOUT: "100",
      SOLAPI_SENDER: "0212345678",
      SOLAPI_KAKAO_TEMPLATE_ID: "KA01TP-CLINIC",
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
    });
  });

  it("scaling: 0..max tasks; tasks = backlog / (latency ÷ time per message); idle 15 min → 0; in-flight counted", () => {
    const target = built.mocks.one("aws:appautoscaling/target:Target").inputs;
    expect(target).to.include({ minCapacity: 0, maxCapacity: 3, scalableDimension: "ecs:service:DesiredCount", serviceNamespace: "ecs" });
    expect(target.resourceId).to.equal("service/academy-messaging-dev/academy-messaging-worker");
    expect(built.stack.scaling.backlogPerTask).to.equal(3000);

    const backlog = built.mocks.one("aws:appautoscaling/policy:Policy", "messaging-tasks-for-backlog").inputs.stepScalingPolicyConfiguration;
    expect(backlog).to.deep.include({ adjustmentType: "ExactCapacity", metricAggregationType: "Maximum" });
    expect(backlog.stepAdjustments).to.deep.equal([
      { metricIntervalLowerBound: "0", metricIntervalUpperBound: "3000", scalingAdjustment: 1 },
      { metricIntervalLowerBound: "3000", metricIntervalUpperBound: "6000", scalingAdjustment: 2 },
      { metricIntervalLowerBound: "6000", scalingAdjustment: 3 },
    ]);
    const busy = built.mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm", "messaging-queue-has-work").inputs;
    expect(busy).to.include({ comparisonOperator: "GreaterThanOrEqualToThreshold", threshold: 1, evaluationPeriods: 1, treatMissingData: "notBreaching" });
    expect(busy.alarmActions).to.deep.equal(["arn:aws:appautoscaling:ap-northeast-2:123456789012:messaging-tasks-for-backlog"]);
    expect(busy.metricQueries.find((query: any) => query.returnData).expression).to.equal("visible + inflight");
    expect(busy.metricQueries.map((query: any) => query.metric?.metricName).filter(Boolean)).to.deep.equal([
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesNotVisible",
    ]);

    const idle = built.mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm", "messaging-queue-idle").inputs;
    expect(idle).to.include({ comparisonOperator: "LessThanOrEqualToThreshold", threshold: 0, evaluationPeriods: 15, datapointsToAlarm: 15, treatMissingData: "breaching" });
    const toZero = built.mocks.one("aws:appautoscaling/policy:Policy", "messaging-idle-to-minimum").inputs.stepScalingPolicyConfiguration;
    expect(toZero.stepAdjustments).to.deep.equal([{ metricIntervalUpperBound: "0", scalingAdjustment: 0 }]);
  });

  it("backlog steps cover every task count up to the maximum", () => {
    expect(backlogSteps(100, 1)).to.deep.equal([{ metricIntervalLowerBound: "0", scalingAdjustment: 1 }]);
    expect(backlogSteps(100, 4).map((step) => step.scalingAdjustment)).to.deep.equal([1, 2, 3, 4]);
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
      { Sid: "WriteLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: ["arn:aws:cloudwatch:ap-northeast-2:123456789012:/ecs/academy-messaging-worker/dev:*"] },
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
      for (const statement of JSON.parse(policy.inputs.policy).Statement) {
        const actions: string[] = [statement.Action].flat();
        expect(actions.some((action) => action.includes("*")), `${policy.name} ${statement.Sid}`).to.equal(false);
        if ([statement.Resource].flat().includes("*")) expect(actions, `${policy.name} ${statement.Sid}`).to.deep.equal(["ecr:GetAuthorizationToken"]);
      }
    }
  });

  it("alarms: the DLQ holds messages; the oldest job is too old; both notify the SNS topic", () => {
    const topicArn = "arn:aws:sns:ap-northeast-2:123456789012:academy-messaging-dev-alarms";
    const dlq = built.mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm", "messaging-dlq-not-empty").inputs;
    expect(dlq).to.deep.include({
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: "academy-messaging-jobs-dlq" },
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      alarmActions: [topicArn],
    });
    const oldest = built.mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm", "messaging-oldest-job-too-old").inputs;
    expect(oldest).to.deep.include({ metricName: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: "academy-messaging-jobs" }, threshold: 600, alarmActions: [topicArn] });
    expect(built.mocks.one("aws:sns/topicSubscription:TopicSubscription").inputs).to.include({ protocol: "email", endpoint: "ops@academy.example" });
  });

  it("the service leaves its task count to Application Auto Scaling and waits for the capacity providers", () => {
    const options = built.options.get("aws:ecs/service:Service::messaging-service")!;
    expect(options.ignoreChanges).to.include("desiredCount");
    expect(options.dependsOn).to.include(built.stack.capacity.clusterCapacityProviders);
  });
});

describe("infrastructure: buildWorker (ec2-spot, t3.nano)", function () {
  this.timeout(30_000);
  let built: Built;
  before(async () => {
    built = await build(
      argsFor({
        capacity: { mode: "ec2-spot", spotWeight: 1, onDemandWeight: 0, instanceTypes: ["t3.nano", "t3a.nano"] },
        databaseUrl: undefined,
        alarms: { oldestMessageSeconds: 300, topicArn: "arn:aws:sns:ap-northeast-2:123456789012:ops" },
      }),
    );
  });

  it("launch template: ECS-optimized AMI from SSM, standard CPU credits, Spot draining, IMDSv2 one hop", () => {
    expect(built.mocks.invokes.find((invoke) => invoke.token === "aws:ssm/getParameter:getParameter")!.inputs.name).to.equal(
      "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
    );
    const template = built.mocks.one("aws:ec2/launchTemplate:LaunchTemplate").inputs;
    expect(template).to.deep.include({ imageId: "ami-ecs-optimized", instanceType: "t3.nano", creditSpecification: { cpuCredits: "standard" } });
    expect(template.metadataOptions).to.deep.include({ httpTokens: "required", httpPutResponseHopLimit: 1 });
    const userData = Buffer.from(template.userData, "base64").toString("utf8");
    expect(userData).to.contain("ECS_CLUSTER=academy-messaging-dev");
    expect(userData).to.contain("ECS_ENABLE_SPOT_INSTANCE_DRAINING=true");
    expect(userData).to.contain("ECS_CONTAINER_STOP_TIMEOUT=120s");
  });

  it("an all-Spot Auto Scaling group behind a capacity provider with managed scaling and draining", () => {
    const group = built.mocks.one("aws:autoscaling/group:Group").inputs;
    expect(group).to.include({ minSize: 0, maxSize: 3, protectFromScaleIn: true, capacityRebalance: true });
    expect(group.mixedInstancesPolicy.instancesDistribution).to.deep.include({ onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0 });
    expect(group.mixedInstancesPolicy.launchTemplate.overrides).to.deep.equal([{ instanceType: "t3.nano" }, { instanceType: "t3a.nano" }]);
    const provider = built.mocks.one("aws:ecs/capacityProvider:CapacityProvider").inputs.autoScalingGroupProvider;
    expect(provider).to.deep.include({ managedTerminationProtection: "ENABLED", managedDraining: "ENABLED" });
    expect(provider.managedScaling).to.deep.include({ status: "ENABLED", targetCapacity: 100 });
    const service = built.mocks.one("aws:ecs/service:Service").inputs;
    expect(service.capacityProviderStrategies).to.deep.equal([{ capacityProvider: "academy-messaging-dev-spot", weight: 1, base: 0 }]);
    expect(service.networkConfiguration).to.equal(undefined);
  });

  it("task sized for a 0.5 GiB instance: bridge networking, soft 256 MiB, hard 384 MiB, stopTimeout 120", () => {
    const task = built.mocks.one("aws:ecs/taskDefinition:TaskDefinition").inputs;
    expect(task).to.deep.include({ networkMode: "bridge", requiresCompatibilities: ["EC2"] });
    expect(task.cpu).to.equal(undefined);
    const container = containerOf(built.mocks);
    expect(container).to.include({ memoryReservation: 256, memory: 384, stopTimeout: 120, readonlyRootFilesystem: true, user: "1000:1000" });
  });

  it("without a database there is no DATABASE_URL parameter; alarms go to the given topic", () => {
    expect(built.mocks.ofType("aws:ssm/parameter:Parameter").map((parameter) => parameter.inputs.name)).to.deep.equal([
      "/academy-messaging/dev/solapi-api-key",
      "/academy-messaging/dev/solapi-api-secret",
    ]);
    expect(built.mocks.ofType("aws:sns/topic:Topic")).to.have.length(0);
    const dlq = built.mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm", "messaging-dlq-not-empty").inputs;
    expect(dlq.alarmActions).to.deep.equal(["arn:aws:sns:ap-northeast-2:123456789012:ops"]);
  });

  it("the instance role holds only the ECS agent's managed policy", () => {
    const attachments = built.mocks.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment");
    expect(attachments.map((attachment) => attachment.inputs.policyArn)).to.deep.equal([
      "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
    ]);
  });
});

/**
 * buildWorker under Pulumi's mocks, in the default mode (fargate-spot): every resource of the stack checked
 * input by input. No CLI, no plugins, no network.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { backlogSteps, dailyAt } from "../../infra/scaling";
import { isKeepAlive } from "../../worker/src/consumer/keep-alive";
import { GENERATED_PASSWORD, valueOf } from "../support/pulumi-mocks";
import {
  argsFor,
  type Built,
  build,
  containerOf,
  DATABASE_URL,
  environmentOf,
  SOLAPI_KEY,
  SOLAPI_SECRET,
  statements,
} from "../support/worker-stack";

describe("infrastructure: buildWorker (fargate-spot, the default)", function () {
  this.timeout(30_000);
  let built: Built;
  before(async () => {
    built = await build(argsFor());
  });

  it("queue: visibility 60 s, long polling 20 s, SSE, redrive to the DLQ after 3 receives", () => {
    const queue = built.mocks.one("aws:sqs/queue:Queue", "messaging-queue").inputs;
    const dlq = built.mocks.one("aws:sqs/queue:Queue", "messaging-dlq").inputs;
    expect(queue).to.include({
      name: "academy-messaging-jobs",
      visibilityTimeoutSeconds: 60,
      receiveWaitTimeSeconds: 20,
      sqsManagedSseEnabled: true,
    });
    expect(JSON.parse(queue.redrivePolicy)).to.deep.equal({
      deadLetterTargetArn: "arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs-dlq",
      maxReceiveCount: 3,
    });
    expect(dlq).to.include({ name: "academy-messaging-jobs-dlq", messageRetentionSeconds: 1_209_600, sqsManagedSseEnabled: true });
    const allow = JSON.parse(built.mocks.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy").inputs.redriveAllowPolicy);
    expect(allow).to.deep.equal({
      redrivePermission: "byQueue",
      sourceQueueArns: ["arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs"],
    });
  });

  it("secrets: SSM SecureStrings that stay Pulumi secrets, passed with valueFrom; no plaintext anywhere else", async () => {
    const parameters = built.mocks.ofType("aws:ssm/parameter:Parameter");
    expect(parameters.map((parameter) => [parameter.inputs.name, parameter.inputs.type])).to.deep.equal([
      ["/academy-messaging/dev/solapi-api-key", "SecureString"],
      ["/academy-messaging/dev/solapi-api-secret", "SecureString"],
      ["/academy-messaging/dev/database-url", "SecureString"],
      ["/academy-messaging/dev/recipient-hash-secret", "SecureString"],
    ]);
    for (const secret of built.stack.secrets) expect(await pulumi.isSecret(secret.parameter.value), secret.variable).to.equal(true);
    expect(containerOf(built.mocks).secrets).to.deep.equal([
      { name: "SOLAPI_API_KEY", valueFrom: "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/solapi-api-key" },
      { name: "SOLAPI_API_SECRET", valueFrom: "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/solapi-api-secret" },
      { name: "DATABASE_URL", valueFrom: "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/database-url" },
      {
        name: "MESSAGING_RECIPIENT_HASH_SECRET",
        valueFrom: "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/recipient-hash-secret",
      },
    ]);
    const elsewhere = JSON.stringify(
      built.mocks.resources.filter(
        (resource) => !["aws:ssm/parameter:Parameter", "random:index/randomPassword:RandomPassword"].includes(resource.type),
      ),
    );
    for (const plaintext of [SOLAPI_KEY, SOLAPI_SECRET, "plaintext-db-pass", GENERATED_PASSWORD])
      expect(elsewhere).not.to.contain(plaintext);
  });

  it("the recipient hash key is generated once by the stack (48 letters and digits) and stored like the others", async () => {
    const generated = built.mocks.one("random:index/randomPassword:RandomPassword").inputs;
    expect(generated).to.deep.include({ length: 48, special: false });
    const parameter = built.stack.secrets.find((secret) => secret.variable === "MESSAGING_RECIPIENT_HASH_SECRET")!.parameter;
    expect(await valueOf(parameter.value)).to.equal(GENERATED_PASSWORD);
  });

  it("compute: FARGATE_SPOT in the strategy, 0.25 vCPU / 0.5 GB, x86_64, awsvpc with a public IP in the default VPC", () => {
    expect(built.mocks.one("aws:ecs/cluster:Cluster").inputs.name).to.equal("academy-messaging-dev");
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
    expect(container).to.deep.include({
      name: "worker",
      essential: true,
      stopTimeout: 120,
      user: "1000:1000",
      readonlyRootFilesystem: true,
    });
    expect(container.linuxParameters).to.deep.equal({ initProcessEnabled: true });
    expect(container.logConfiguration).to.deep.equal({
      logDriver: "awslogs",
      options: {
        "awslogs-group": "/ecs/academy-messaging-worker/dev",
        "awslogs-region": "ap-northeast-2",
        "awslogs-stream-prefix": "worker",
      },
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
      MESSAGING_DELIVERY_CHECK_SECONDS: "300",
      MESSAGING_METRICS: "true",
      SOLAPI_MOCK_SHOW_TEXT: "false",
      SOLAPI_SENDER: "0212345678",
      SOLAPI_KAKAO_TEMPLATE_ID: "KA01TP-CLINIC",
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
      NODE_OPTIONS: "--max-old-space-size=256",
    });
  });

  it("scaling: up to max tasks; tasks = backlog / (latency ÷ time per message); idle 15 min → minimum; in-flight counted", () => {
    const target = built.mocks.one("aws:appautoscaling/target:Target").inputs;
    expect(target).to.include({ maxCapacity: 3, scalableDimension: "ecs:service:DesiredCount", serviceNamespace: "ecs" });
    expect(target.resourceId).to.equal("service/academy-messaging-dev/academy-messaging-worker");
    expect(built.stack.scaling.backlogPerTask).to.equal(3000);

    const backlog = built.mocks.one("aws:appautoscaling/policy:Policy", "messaging-tasks-for-backlog").inputs
      .stepScalingPolicyConfiguration;
    expect(backlog).to.deep.include({ adjustmentType: "ExactCapacity", metricAggregationType: "Maximum" });
    expect(backlog.stepAdjustments).to.deep.equal([
      { metricIntervalLowerBound: "0", metricIntervalUpperBound: "3000", scalingAdjustment: 1 },
      { metricIntervalLowerBound: "3000", metricIntervalUpperBound: "6000", scalingAdjustment: 2 },
      { metricIntervalLowerBound: "6000", scalingAdjustment: 3 },
    ]);
    const busy = built.mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm", "messaging-queue-has-work").inputs;
    expect(busy).to.include({
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: "notBreaching",
    });
    expect(busy.alarmActions).to.deep.equal(["arn:aws:appautoscaling:ap-northeast-2:123456789012:messaging-tasks-for-backlog"]);
    expect(busy.metricQueries.find((query: any) => query.returnData).expression).to.equal("visible + inflight");
    expect(busy.metricQueries.map((query: any) => query.metric?.metricName).filter(Boolean)).to.deep.equal([
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesNotVisible",
    ]);

    const idle = built.mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm", "messaging-queue-idle").inputs;
    expect(idle).to.include({
      comparisonOperator: "LessThanOrEqualToThreshold",
      threshold: 0,
      evaluationPeriods: 15,
      datapointsToAlarm: 15,
      treatMissingData: "breaching",
    });
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
      for (const statement of JSON.parse(policy.inputs.policy).Statement) {
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
    expect(oldest).to.deep.include({
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: "academy-messaging-jobs" },
      threshold: 600,
      alarmActions: [topicArn],
    });
    expect(built.mocks.one("aws:sns/topicSubscription:TopicSubscription").inputs).to.include({
      protocol: "email",
      endpoint: "ops@academy.example",
    });
  });

  it("the service leaves its task count to Application Auto Scaling and waits for the capacity providers", () => {
    const options = built.options.get("aws:ecs/service:Service::messaging-service")!;
    expect(options.ignoreChanges).to.include("desiredCount");
    expect(options.dependsOn).to.include(built.stack.capacity.clusterCapacityProviders);
  });

  it("a change of the Spot/on-demand split updates the service in place: it forces a new deployment, as the provider requires", () => {
    expect(built.mocks.one("aws:ecs/service:Service").inputs).to.include({ forceNewDeployment: true });
  });

  it("warm window: at least one task 07:00–23:00 Asia/Seoul, scheduled every day; the scheduled actions own the minimum", () => {
    const actions = built.mocks.ofType("aws:appautoscaling/scheduledAction:ScheduledAction").map((action) => action.inputs);
    const resourceId = "service/academy-messaging-dev/academy-messaging-worker";
    expect(actions).to.have.length(2);
    expect(actions[0]).to.deep.include({
      name: "academy-messaging-dev-warm-from",
      schedule: "cron(0 7 * * ? *)",
      timezone: "Asia/Seoul",
      resourceId,
      scalableDimension: "ecs:service:DesiredCount",
      scalableTargetAction: { minCapacity: 1, maxCapacity: 3 },
    });
    expect(actions[1]).to.deep.include({
      name: "academy-messaging-dev-warm-until",
      schedule: "cron(0 23 * * ? *)",
      scalableTargetAction: { minCapacity: 0, maxCapacity: 3 },
    });
    // A new stack (or a replaced service) errs warm: one task until the evening action, not zero until the morning.
    expect(built.mocks.one("aws:appautoscaling/target:Target").inputs.minCapacity).to.equal(1);
    expect(built.mocks.one("aws:ecs/service:Service").inputs.desiredCount).to.equal(1);
    expect(built.options.get("aws:appautoscaling/target:Target::messaging-task-count")!.ignoreChanges).to.deep.equal(["minCapacity"]);
    expect(dailyAt("07:30")).to.equal("cron(30 7 * * ? *)");
  });

  it("keep-alive: EventBridge Scheduler sends the message the worker deletes unread, 5 h after the window closes (04:00 Seoul), with send rights on the queue only", () => {
    const schedule = built.mocks.one("aws:scheduler/schedule:Schedule").inputs;
    expect(schedule).to.deep.include({
      name: "academy-messaging-dev-keep-alive",
      scheduleExpression: "cron(0 4 * * ? *)",
      scheduleExpressionTimezone: "Asia/Seoul",
      flexibleTimeWindow: { mode: "OFF" },
    });
    expect(schedule.target.arn).to.equal("arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs");
    expect(isKeepAlive(schedule.target.input), "the worker recognises the scheduled body").to.equal(true);
    expect(schedule.target.roleArn).to.equal("arn:aws:iam:ap-northeast-2:123456789012:messaging-keep-alive-role");
    const trust = JSON.parse(built.mocks.one("aws:iam/role:Role", "messaging-keep-alive-role").inputs.assumeRolePolicy);
    expect(trust.Statement[0].Principal).to.deep.equal({ Service: "scheduler.amazonaws.com" });
    expect(statements(built.mocks, "messaging-keep-alive-policy")).to.deep.equal([
      {
        Sid: "SendKeepAlive",
        Effect: "Allow",
        Action: ["sqs:SendMessage"],
        Resource: ["arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs"],
      },
    ]);
  });

  it("dashboard beside the alarms: the queue, the worker's EMF metrics by queue, the tasks, the alarms' states", () => {
    const dashboard = built.mocks.one("aws:cloudwatch/dashboard:Dashboard").inputs;
    expect(dashboard.dashboardName).to.equal("academy-messaging-dev");
    const widgets: any[] = JSON.parse(dashboard.dashboardBody).widgets;
    const metrics = widgets.flatMap((widget) => widget.properties.metrics ?? []).map((metric: unknown[]) => metric.slice(0, -1).join(" "));
    expect(metrics).to.include.members([
      "AWS/SQS ApproximateNumberOfMessagesVisible QueueName academy-messaging-jobs",
      "AWS/SQS ApproximateNumberOfMessagesVisible QueueName academy-messaging-jobs-dlq",
      "AcademyMessaging SentSms Queue academy-messaging-jobs",
      "AcademyMessaging SentAlimtalk Queue academy-messaging-jobs",
      "AcademyMessaging FellBack Queue academy-messaging-jobs",
      "AcademyMessaging DeadLettered Queue academy-messaging-jobs",
      "AcademyMessaging SolapiLatencyP99 Queue academy-messaging-jobs",
      "AWS/ECS MemoryUtilization ClusterName academy-messaging-dev ServiceName academy-messaging-worker",
    ]);
    expect(widgets.find((widget) => widget.type === "alarm").properties.alarms).to.deep.equal([
      "arn:aws:cloudwatch:ap-northeast-2:123456789012:messaging-dlq-not-empty",
      "arn:aws:cloudwatch:ap-northeast-2:123456789012:messaging-oldest-job-too-old",
    ]);
    for (const widget of widgets.filter((widget) => widget.type === "metric"))
      expect(widget.properties.region, widget.properties.title).to.equal("ap-northeast-2");
  });

  it("migration task: the stack's task definition running `migrate` on on-demand Fargate, in the stack's subnets and security group", async () => {
    expect(await valueOf(built.stack.migrationTask)).to.deep.equal({
      cluster: "academy-messaging-dev",
      taskDefinition: "arn:aws:ecs:ap-northeast-2:123456789012:messaging-task",
      count: 1,
      startedBy: "migrate",
      overrides: { containerOverrides: [{ name: "worker", command: ["migrate"] }] },
      capacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1, base: 0 }],
      networkConfiguration: {
        awsvpcConfiguration: { subnets: ["subnet-a", "subnet-b"], securityGroups: ["messaging-egress-only-id"], assignPublicIp: "ENABLED" },
      },
    });
  });
});

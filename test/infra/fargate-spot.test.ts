/**
 * The default stack's compute under Pulumi's mocks, in fargate-spot mode: cluster and capacity
 * (infra/compute/fargate-spot.ts), the task definition and its container (compute/task-definition.ts),
 * the service (compute/service.ts) and the migration task (compute/migration-task.ts).
 */
import { expect } from "chai";
import { outputValue } from "../support/pulumi-mocks";
import { type Built, build, containerOf, environmentOf, settingsFor } from "../support/worker-stack";

describe("infrastructure: compute in fargate-spot mode, the default", function () {
  this.timeout(30_000);
  let built: Built;
  before(async () => {
    built = await build(settingsFor());
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

  it("container environment comes from the config (docs/contract.md §3 names)", () => {
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

  it("the service leaves its task count to Application Auto Scaling and waits for the capacity providers", () => {
    const options = built.options.get("aws:ecs/service:Service::messaging-service")!;
    expect(options.ignoreChanges).to.include("desiredCount");
    expect(options.dependsOn).to.include(built.stack.capacity.clusterCapacityProviders);
  });

  it("a change of the Spot/on-demand split updates the service in place: it forces a new deployment, as the provider requires", () => {
    expect(built.mocks.one("aws:ecs/service:Service").inputs).to.include({ forceNewDeployment: true });
  });

  it("migration task: the stack's task definition running `migrate` on on-demand Fargate, in the stack's subnets and security group", async () => {
    expect(await outputValue(built.stack.migrationTask)).to.deep.equal({
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

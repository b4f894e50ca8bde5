/**
 * The stack under Pulumi's mocks in ec2-spot mode (infra/compute/ec2-spot.ts): Spot instances behind
 * a capacity provider, bridge networking, the task's memory under the instance's.
 */
import { expect } from "chai";
import { outputValue } from "../support/pulumi-mocks";
import { type Built, build, containerOf, environmentOf, settingsFor } from "../support/worker-stack";

describe("infrastructure: compute in ec2-spot mode (t3.micro)", function () {
  this.timeout(30_000);
  let built: Built;
  before(async () => {
    built = await build(
      settingsFor({
        capacity: { mode: "ec2-spot", spotWeight: 1, onDemandWeight: 0, instanceTypes: ["t3.micro", "t3a.micro"] },
        worker: { concurrency: 50, shutdownTimeoutSeconds: 90, logLevel: "info", deliveryCheckSeconds: 300, metrics: true },
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
    expect(template).to.deep.include({
      imageId: "ami-ecs-optimized",
      instanceType: "t3.micro",
      creditSpecification: { cpuCredits: "standard" },
    });
    expect(template.metadataOptions).to.deep.include({ httpTokens: "required", httpPutResponseHopLimit: 1 });
    const userData = Buffer.from(template.userData!, "base64").toString("utf8");
    expect(userData).to.contain("ECS_CLUSTER=academy-messaging-dev");
    expect(userData).to.contain("ECS_ENABLE_SPOT_INSTANCE_DRAINING=true");
    expect(userData).to.contain("ECS_CONTAINER_STOP_TIMEOUT=120s");
    // The agent, Docker and containerd live outside ECS's accounting: kept out of what tasks may reserve.
    expect(userData).to.contain("ECS_RESERVED_MEMORY=192");
  });

  it("an all-Spot Auto Scaling group behind a capacity provider with managed scaling and draining", () => {
    const group = built.mocks.one("aws:autoscaling/group:Group").inputs;
    // One instance more than the workers need: room for a one-off migration task.
    expect(group).to.include({ minSize: 0, maxSize: 4, protectFromScaleIn: true, capacityRebalance: true });
    expect(group.mixedInstancesPolicy!.instancesDistribution).to.deep.include({
      onDemandBaseCapacity: 0,
      onDemandPercentageAboveBaseCapacity: 0,
    });
    expect(group.mixedInstancesPolicy!.launchTemplate.overrides).to.deep.equal([
      { instanceType: "t3.micro" },
      { instanceType: "t3a.micro" },
    ]);
    const provider = built.mocks.one("aws:ecs/capacityProvider:CapacityProvider").inputs.autoScalingGroupProvider!;
    expect(provider).to.deep.include({ managedTerminationProtection: "ENABLED", managedDraining: "ENABLED" });
    expect(provider.managedScaling).to.deep.include({ status: "ENABLED", targetCapacity: 100 });
    const service = built.mocks.one("aws:ecs/service:Service").inputs;
    expect(service.capacityProviderStrategies).to.deep.equal([{ capacityProvider: "academy-messaging-dev-spot", weight: 1, base: 0 }]);
    expect(service.networkConfiguration).to.equal(undefined);
  });

  it("task: bridge networking, soft 256 MiB, hard 384 MiB with Node's heap capped at 192 MiB under it, stopTimeout 120", () => {
    const task = built.mocks.one("aws:ecs/taskDefinition:TaskDefinition").inputs;
    expect(task).to.deep.include({ networkMode: "bridge", requiresCompatibilities: ["EC2"] });
    expect(task.cpu).to.equal(undefined);
    const container = containerOf(built.mocks);
    expect(container).to.include({
      memoryReservation: 256,
      memory: 384,
      stopTimeout: 120,
      readonlyRootFilesystem: true,
      user: "1000:1000",
    });
    expect(environmentOf(built.mocks)).to.include({ NODE_OPTIONS: "--max-old-space-size=192", MESSAGING_SHUTDOWN_TIMEOUT: "90" });
  });

  it("its own cluster name (…-ec2): switching modes replaces cluster, capacity providers and service instead of a failing in-place update", () => {
    expect(built.mocks.one("aws:ecs/cluster:Cluster").inputs.name).to.equal("academy-messaging-dev-ec2");
    expect(built.mocks.one("aws:ecs/service:Service").inputs).to.include({
      forceNewDeployment: true,
      cluster: "arn:aws:ecs:ap-northeast-2:123456789012:academy-messaging-dev-ec2",
    });
    expect(built.mocks.one("aws:appautoscaling/target:Target").inputs.resourceId).to.equal(
      "service/academy-messaging-dev-ec2/academy-messaging-worker",
    );
  });

  it("migration task: on the Spot instances' capacity provider, bridge networking (no network configuration)", async () => {
    const task = await outputValue(built.stack.migrationTask);
    expect(task).to.deep.include({
      cluster: "academy-messaging-dev-ec2",
      capacityProviderStrategy: [{ capacityProvider: "academy-messaging-dev-spot", weight: 1, base: 0 }],
    });
    expect(task).not.to.have.property("networkConfiguration");
    expect(task.overrides).to.deep.equal({ containerOverrides: [{ name: "worker", command: ["migrate"] }] });
  });

  it("without a database there is no DATABASE_URL parameter; alarms go to the given topic", () => {
    expect(built.mocks.ofType("aws:ssm/parameter:Parameter").map((parameter) => parameter.inputs.name)).to.deep.equal([
      "/academy-messaging/dev/solapi-api-key",
      "/academy-messaging/dev/solapi-api-secret",
      "/academy-messaging/dev/recipient-hash-secret",
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

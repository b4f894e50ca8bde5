/**
 * The whole Pulumi program (infra/index.ts) under mocks with stack config, the config's checks,
 * and `pulumi up`'s own TypeScript loading of it.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { readSettings, StackConfigError } from "../../infra/config";
import { ecrRepositoryArn } from "../../infra/image";
import { outputValue, RecordingMocks, settled } from "../support/pulumi-mocks";
import { type PolicyStatement, statements } from "../support/worker-stack";

const PROJECT = "academy-messaging";
const key = (name: string) => `${PROJECT}:${name}`;

async function withConfig(values: Record<string, string>, secrets: string[] = []): Promise<pulumi.Config> {
  await pulumi.runtime.setMocks(new RecordingMocks(), PROJECT, "dev", false);
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(values).map(([name, value]) => [key(name), value])), secrets.map(key));
  return new pulumi.Config(PROJECT);
}

type Program = Record<string, pulumi.Output<unknown> | number | string>;

/** Runs infra/index.ts afresh under mocks with this stack config. */
async function runProgram(values: Record<string, string>): Promise<{ mocks: RecordingMocks; program: Program }> {
  const mocks = new RecordingMocks();
  await pulumi.runtime.setMocks(mocks, PROJECT, "dev", false);
  const secrets = ["solapiApiKey", "solapiApiSecret"];
  pulumi.runtime.setAllConfig(
    {
      "aws:region": "ap-northeast-2",
      ...Object.fromEntries(
        Object.entries({ solapiApiKey: "k", solapiApiSecret: "s", solapiSender: "0212345678", ...values }).map(([name, value]) => [
          key(name),
          value,
        ]),
      ),
    },
    secrets.map(key),
  );
  const path = require.resolve("../../infra/index");
  delete require.cache[path];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = require(path) as Program;
  await outputValue(program.queueUrl as pulumi.Output<string>);
  await settled();
  return { mocks, program };
}

function executionStatements(mocks: RecordingMocks): PolicyStatement[] {
  return statements(mocks, "messaging-execution-policy");
}

describe("infrastructure: the program and its stack config", function () {
  this.timeout(60_000);

  it("infra/index.ts builds the image with awsx.ecr.Image (linux/amd64) under a fixed tag and runs it in the task", async () => {
    const { mocks, program } = await runProgram({ maxTasks: "5", suffixQueueNames: "true" });
    expect(await outputValue(program.queueUrl as pulumi.Output<string>)).to.match(/academy-messaging-jobs-dev$/);
    const image = mocks.one("awsx:ecr:Image").inputs;
    expect(image).to.include({
      platform: "linux/amd64",
      dockerfile: resolve(__dirname, "../../Dockerfile"),
      context: resolve(__dirname, "../.."),
    });
    // awsx names the image after a hash of the context's absolute path unless it has a tag: a fixed tag
    // keeps the image (and its digest in ECR) when `pulumi up` runs from another checkout.
    expect(image.imageTag).to.equal("worker");
    const container = JSON.parse(mocks.one("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions)[0];
    expect(container.image).to.equal(
      `123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/academy-messaging-worker-dev@sha256:${"0".repeat(64)}`,
    );
    expect(mocks.one("aws:appautoscaling/target:Target").inputs.maxCapacity).to.equal(5);
    expect(program.backlogPerTask).to.equal(3000);
  });

  it("every resource goes through one AWS provider with the stack's default tags and region", async () => {
    const { mocks } = await runProgram({});
    const provider = mocks.one("pulumi:providers:aws").inputs;
    expect(JSON.parse(String(provider.defaultTags))).to.deep.equal({ tags: { project: "academy-messaging", stack: "dev" } });
    expect(provider.region).to.equal("ap-northeast-2");
  });

  it("outputs what operators and producers need: queue and DLQ ARNs, network, alarm topic, dashboard, the migration task", async () => {
    const { program } = await runProgram({ alarmTopicArn: "arn:aws:sns:ap-northeast-2:123456789012:ops" });
    expect(await outputValue(program.queueArn as pulumi.Output<string>)).to.equal(
      "arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs",
    );
    expect(await outputValue(program.deadLetterQueueArn as pulumi.Output<string>)).to.equal(
      "arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs-dlq",
    );
    expect(await outputValue(program.securityGroupId as pulumi.Output<string>)).to.equal("messaging-egress-only-id");
    expect(await outputValue(program.subnetIds as pulumi.Output<string[]>)).to.deep.equal(["subnet-a", "subnet-b"]);
    expect(program.alarmTopicArn).to.equal("arn:aws:sns:ap-northeast-2:123456789012:ops");
    expect(await outputValue(program.dashboardName as pulumi.Output<string>)).to.equal("academy-messaging-dev");
    expect(await outputValue(program.migrationTask as pulumi.Output<{ cluster: string }>)).to.include({
      cluster: "academy-messaging-dev",
      startedBy: "migrate",
    });
    expect(program.capacityMode).to.equal("fargate-spot");
  });

  it("a prebuilt image in ECR gets the pull permissions it needs; nothing is built", async () => {
    const imageUri = `210987654321.dkr.ecr.ap-northeast-2.amazonaws.com/academy/worker@sha256:${"a".repeat(64)}`;
    const { mocks } = await runProgram({ imageUri });
    expect(mocks.ofType("awsx:ecr:Image")).to.have.length(0);
    expect(mocks.ofType("aws:ecr/repository:Repository")).to.have.length(0);
    const statements = executionStatements(mocks);
    expect(statements.find((statement) => statement.Sid === "EcrLogin")).to.deep.include({ Resource: "*" });
    expect(statements.find((statement) => statement.Sid === "PullImage")!.Resource).to.deep.equal([
      "arn:aws:ecr:ap-northeast-2:210987654321:repository/academy/worker",
    ]);
    expect(JSON.parse(mocks.one("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions)[0].image).to.equal(imageUri);
  });

  it("a prebuilt image from a public registry needs no ECR permission", async () => {
    const { mocks } = await runProgram({ imageUri: "ghcr.io/academy/messaging-worker:1.4.0" });
    expect(executionStatements(mocks).map((statement) => statement.Sid)).to.deep.equal(["WriteLogs", "ReadSecrets", "DecryptSecrets"]);
  });

  it("ECR image URIs name their repository: tags, digests, paths, China regions; other registries do not", () => {
    expect(ecrRepositoryArn("123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/worker:1.0")).to.equal(
      "arn:aws:ecr:ap-northeast-2:123456789012:repository/worker",
    );
    expect(ecrRepositoryArn("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/worker")).to.equal(
      "arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/worker",
    );
    expect(ecrRepositoryArn("public.ecr.aws/academy/worker:latest")).to.equal(undefined);
    expect(ecrRepositoryArn("docker.io/library/node:22")).to.equal(undefined);
  });

  it("reads numbers, booleans and lists as YAML types them, and keeps numeric-looking text as text", async () => {
    const config = await withConfig({ maxTasks: "4", solapiMock: "true", ec2InstanceTypes: '["t3.nano"]', solapiSender: "15881234" });
    const settings = readSettings(config, "dev");
    expect(settings.scaling.maxTasks).to.equal(4);
    expect(settings.solapi).to.deep.include({ mock: true, sender: "15881234" });
    expect(settings.capacity.instanceTypes).to.deep.equal(["t3.nano"]);
  });

  it("names every bad key at once", async () => {
    const config = await withConfig({ capacityMode: "lambda", maxTasks: "40", minTasks: "-1", alarmEmail: "not-an-email" });
    expect(() => readSettings(config, "dev")).to.throw(StackConfigError, /capacityMode.*minTasks.*maxTasks.*alarmEmail/s);
  });

  it("refuses a log retention CloudWatch does not offer", async () => {
    const config = await withConfig({ logRetentionDays: "10" });
    expect(() => readSettings(config, "dev")).to.throw(
      StackConfigError,
      /logRetentionDays must be one of CloudWatch's retentions: 0, 1, 3, 5, 7, 14/,
    );
  });

  it("ec2-spot: the shutdown budget is at most 90 s, with the reason; the default follows the mode", async () => {
    const tooLong = await withConfig({ capacityMode: "ec2-spot", shutdownTimeoutSeconds: "100", solapiMock: "true" });
    expect(() => readSettings(tooLong, "dev")).to.throw(
      StackConfigError,
      /shutdownTimeoutSeconds must be at most 90 in ec2-spot mode: an EC2 Spot instance stops about 120 s after its notice/,
    );
    const ec2 = await withConfig({ capacityMode: "ec2-spot", solapiMock: "true" });
    expect(readSettings(ec2, "dev").worker.shutdownTimeoutSeconds).to.equal(90);
    const fargate = await withConfig({ solapiMock: "true", shutdownTimeoutSeconds: "110" });
    expect(readSettings(fargate, "dev").worker.shutdownTimeoutSeconds).to.equal(110);
    expect(readSettings(await withConfig({ solapiMock: "true" }), "dev").worker.shutdownTimeoutSeconds).to.equal(100);
  });

  it("warm window and keep-alive: academy defaults, times and zones checked", async () => {
    const defaults = readSettings(await withConfig({ solapiMock: "true" }), "dev");
    expect(defaults.scaling).to.deep.include({
      minTasks: 0,
      keepAliveHours: 5,
      warmWindow: { tasks: 1, from: "07:00", until: "23:00", timezone: "Asia/Seoul" },
    });
    expect(defaults.capacity.instanceTypes).to.deep.equal(["t3.micro", "t3a.micro"]);
    const bad = await withConfig({ warmFrom: "7am", warmUntil: "24:00", timezone: "Korea/Seoul", keepAliveHours: "6" });
    expect(() => readSettings(bad, "dev")).to.throw(
      StackConfigError,
      /warmFrom must be a time of day, HH:MM.*warmUntil must be.*timezone must be an IANA time zone.*keepAliveHours/s,
    );
    const tooWarm = await withConfig({ warmTasks: "4", maxTasks: "3", solapiMock: "true" });
    expect(() => readSettings(tooWarm, "dev")).to.throw(StackConfigError, /warmTasks must not exceed maxTasks/);
  });

  it("passes the new worker settings: delivery checks, metrics, mock text hidden unless asked", async () => {
    const settings = readSettings(
      await withConfig({ solapiMock: "true", deliveryCheckSeconds: "600", solapiMockShowText: "true", metrics: "false" }),
      "dev",
    );
    expect(settings.worker).to.deep.include({ deliveryCheckSeconds: 600, metrics: false });
    expect(settings.solapi.mockShowText).to.equal(true);
    const defaults = readSettings(await withConfig({ solapiMock: "true" }), "dev");
    expect(defaults.worker).to.deep.include({ deliveryCheckSeconds: 300, metrics: true });
    expect(defaults.solapi.mockShowText).to.equal(false);
    expect(defaults.recipientHashSecret, "generated by the stack unless given").to.equal(undefined);
  });

  it("refuses mock mode together with a database: mock sends would charge tenants", async () => {
    const config = await withConfig({ solapiMock: "true", databaseUrl: "mysql://worker:pw@db:3306/academy" }, ["databaseUrl"]);
    expect(() => readSettings(config, "dev")).to.throw(
      StackConfigError,
      /solapiMock cannot be true with a databaseUrl: mock sends would charge tenants/,
    );
  });

  it("requires the Solapi secrets unless the stack runs in mock mode", async () => {
    const live = await withConfig({ solapiSender: "0212345678" });
    expect(() => readSettings(live, "dev")).to.throw(StackConfigError, /solapiApiKey and solapiApiSecret are required/);
    const mock = await withConfig({ solapiMock: "true" });
    const settings = readSettings(mock, "dev");
    expect(settings.solapi).to.deep.include({ mock: true, apiKey: undefined });
    expect(settings.queue).to.deep.include({ name: "academy-messaging-jobs", deadLetterName: "academy-messaging-jobs-dlq" });
  });

  it("Pulumi's own TypeScript loader (vendored ts-node + the project's TypeScript) compiles and runs infra/", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [resolve(__dirname, "../../scripts/check-pulumi-load.js")], {
      env: { ...process.env, PULUMI_NODEJS_TRANSPILE_ONLY: "false" },
    });
    expect(stdout).to.match(/^typescript 6\.\d+\.\d+ with .*ts-node@7/m);
    expect(stdout).to.match(/resources registered/);
    for (const type of ["aws:ecs/service:Service", "aws:sqs/queue:Queue", "awsx:ecr:Image"]) expect(stdout).to.contain(type);
  });
});

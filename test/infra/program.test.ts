/**
 * The whole Pulumi program (infra/index.ts) under mocks with stack config, the config's checks,
 * and `pulumi up`'s own TypeScript loading of it.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { readSettings, StackConfigError, workerArgs } from "../../infra/config";
import { RecordingMocks, settled, valueOf } from "../support/pulumi-mocks";

const PROJECT = "academy-messaging";
const key = (name: string) => `${PROJECT}:${name}`;

async function withConfig(values: Record<string, string>, secrets: string[] = []): Promise<pulumi.Config> {
  await pulumi.runtime.setMocks(new RecordingMocks(), PROJECT, "dev", false);
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(values).map(([name, value]) => [key(name), value])),
    secrets.map(key),
  );
  return new pulumi.Config(PROJECT);
}

describe("infrastructure: the program and its stack config", function () {
  this.timeout(60_000);

  it("infra/index.ts builds the image with awsx.ecr.Image (linux/amd64) and runs it in the task", async () => {
    const mocks = new RecordingMocks();
    await pulumi.runtime.setMocks(mocks, PROJECT, "dev", false);
    pulumi.runtime.setAllConfig(
      { [key("solapiApiKey")]: "k", [key("solapiApiSecret")]: "s", [key("solapiSender")]: "0212345678", [key("maxTasks")]: "5", [key("suffixQueueNames")]: "true" },
      [key("solapiApiKey"), key("solapiApiSecret")],
    );
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require("../../infra/index") as Record<string, pulumi.Output<unknown> | number>;
    expect(await valueOf(program.queueUrl as pulumi.Output<string>)).to.match(/academy-messaging-jobs-dev$/);
    await settled();
    const image = mocks.one("awsx:ecr:Image").inputs;
    expect(image).to.include({ platform: "linux/amd64", dockerfile: resolve(__dirname, "../../Dockerfile"), context: resolve(__dirname, "../..") });
    const container = JSON.parse(mocks.one("aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions)[0];
    expect(container.image).to.equal(`123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/academy-messaging-worker-dev@sha256:${"0".repeat(64)}`);
    expect(mocks.one("aws:appautoscaling/target:Target").inputs.maxCapacity).to.equal(5);
    expect(program.backlogPerTask).to.equal(3000);
  });

  it("reads numbers, booleans and lists as YAML types them, and keeps numeric-looking text as text", async () => {
    const config = await withConfig({ maxTasks: "4", solapiMock: "true", ec2InstanceTypes: '["t3.nano"]', solapiSender: "15881234" });
    expect(readSettings(config)).to.deep.include({ maxTasks: 4, solapiMock: true, ec2InstanceTypes: ["t3.nano"], solapiSender: "15881234" });
  });

  it("names every bad key at once", async () => {
    const config = await withConfig({ capacityMode: "lambda", maxTasks: "40", minTasks: "-1", alarmEmail: "not-an-email" });
    expect(() => readSettings(config)).to.throw(StackConfigError, /capacityMode.*minTasks.*maxTasks.*alarmEmail/s);
  });

  it("requires the Solapi secrets unless the stack runs in mock mode", async () => {
    const live = await withConfig({ solapiSender: "0212345678" });
    expect(() => workerArgs(live, "dev", "image")).to.throw(StackConfigError, /solapiApiKey and solapiApiSecret are required/);
    const mock = await withConfig({ solapiMock: "true" });
    const args = workerArgs(mock, "dev", "image");
    expect(args.solapi).to.deep.include({ mock: true, apiKey: undefined });
    expect(args.queue).to.deep.include({ name: "academy-messaging-jobs", deadLetterName: "academy-messaging-jobs-dlq" });
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

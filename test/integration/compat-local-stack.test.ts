/**
 * The local stack: `docker run -p 9324:9324 -e SOLAPI_MOCK=true IMAGE` is the built worker with
 * SOLAPI_MOCK=true and nothing else. It serves its own SQS endpoint, and a producer outside the
 * process — the Django side with endpoint_url changed, `npm run stress -- --endpoint` — feeds it.
 */
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetQueueAttributesCommand, GetQueueUrlCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import { ConfigError, loadConfig, MOCK_DEFAULT_SENDER } from "../../worker/src/config";
import { runCli, type WorkerProcess } from "../support/process";
import { waitFor } from "../support/worker";

const live = { SOLAPI_API_KEY: "NCSKEY", SOLAPI_API_SECRET: "very-secret-value", SOLAPI_SENDER: "0311234567" };

describe("the local stack: a mock-mode worker on its own SQS endpoint", function () {
  this.timeout(60_000);

  describe("when it applies (configuration)", () => {
    it("mock mode with nothing pointing at a real SQS: an endpoint on port 9324, polled with 1 s waits", () => {
      for (const mock of [{ SOLAPI_MOCK: "true" }, { DEBUG: "true" }]) {
        const { sqs } = loadConfig(mock);
        expect(sqs.local, JSON.stringify(mock)).to.deep.equal({ port: 9324 });
        expect(sqs.waitSeconds).to.equal(1);
      }
      expect(loadConfig({ SOLAPI_MOCK: "true", MESSAGING_LOCAL_SQS_PORT: "19324", MESSAGING_SQS_WAIT_SECONDS: "5" }).sqs).to.deep.include({
        local: { port: 19324 },
        waitSeconds: 5,
      });
    });

    it("never in live mode, nor when an endpoint, a queue URL or AWS credentials are in the environment", () => {
      expect(loadConfig(live).sqs.local).to.equal(undefined);
      for (const pointer of [
        { AWS_ENDPOINT_URL_SQS: "http://localhost:4566" },
        { MESSAGING_SQS_QUEUE_URL: "https://sqs.ap-northeast-2.amazonaws.com/123456789012/academy-messaging-jobs" },
        { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "x" },
        { AWS_PROFILE: "academy" },
        { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/abc" },
        { AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/token" },
      ]) {
        const { sqs } = loadConfig({ SOLAPI_MOCK: "true", ...pointer });
        expect(sqs.local, JSON.stringify(pointer)).to.equal(undefined);
        expect(sqs.waitSeconds, JSON.stringify(pointer)).to.equal(20);
      }
    });

    it("names a bad MESSAGING_LOCAL_SQS_PORT", () => {
      expect(() => loadConfig({ SOLAPI_MOCK: "true", MESSAGING_LOCAL_SQS_PORT: "http" }))
        .to.throw(ConfigError)
        .with.property("problems")
        .that.deep.equals(['MESSAGING_LOCAL_SQS_PORT must be a whole number from 0 to 65535 (got "http")']);
    });

    it('mock mode has a default sender, so `"sender": null` jobs go out; SOLAPI_SENDER wins; live mode has none', () => {
      expect(loadConfig({ SOLAPI_MOCK: "true" }).solapi.sender).to.equal(MOCK_DEFAULT_SENDER);
      expect(loadConfig({ SOLAPI_MOCK: "true", SOLAPI_SENDER: "0311234567" }).solapi.sender).to.equal("0311234567");
      expect(() => loadConfig({ SOLAPI_API_KEY: "k", SOLAPI_API_SECRET: "s" })).to.throw(
        ConfigError,
        "SOLAPI_SENDER is required unless SOLAPI_MOCK=true",
      );
    });
  });

  describe("the built worker with SOLAPI_MOCK=true and nothing else", () => {
    let worker: WorkerProcess | undefined;
    let producer: SQSClient | undefined;
    let home: string;

    before(() => {
      // No ~/.aws of the machine's user may point the worker anywhere.
      home = mkdtempSync(join(tmpdir(), "local-stack-home-"));
    });
    afterEach(async () => {
      producer?.destroy();
      producer = undefined;
      if (worker && worker.child.exitCode === null) {
        worker.child.kill("SIGKILL");
        await worker.exited;
      }
      worker = undefined;
    });

    const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH, HOME: home, ...extra });
    const sentLines = (process: WorkerProcess) => process.lines().filter((line) => line.message === "job sent");

    it("serves its queue, says first how to enqueue, and sends (mock) what a producer outside enqueues", async () => {
      worker = runCli(["worker"], env({ SOLAPI_MOCK: "true", MESSAGING_LOCAL_SQS_PORT: "0" }));
      const ready = await worker.waitForLine((line) => line.message === "worker polling");
      const [starting, local] = worker.lines();
      expect(starting).to.include({ message: "worker starting", solapi_mode: "mock" });
      expect(String(local!.message)).to.match(/^local SQS endpoint ready/);
      const endpoint = String(local!.endpoint);
      expect(endpoint).to.match(/^http:\/\/localhost:\d+$/);
      expect(local).to.include({
        listening: `0.0.0.0:${new URL(endpoint).port}`,
        queue_url: `${endpoint}/123456789012/academy-messaging-jobs`,
      });
      expect(ready).to.include({ default_sender: MOCK_DEFAULT_SENDER, wait_seconds: 1, queue_url: local!.queue_url });
      const howTo = worker.stderr.join("");
      expect(howTo).to.contain(`aws --endpoint-url ${endpoint} --region ap-northeast-2`);
      expect(howTo).to.contain(`boto3.client("sqs", region_name="ap-northeast-2", endpoint_url="${endpoint}"`);
      expect(howTo).to.contain(`npm run stress -- --endpoint ${endpoint} --count 100`);

      // The Django side, endpoint_url changed: any credentials, the queue looked up by name, MessageGroupId = tenant.
      const reachable = endpoint.replace("localhost", "127.0.0.1");
      producer = new SQSClient({
        region: "ap-northeast-2",
        endpoint: reachable,
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
      });
      const { QueueUrl } = await producer.send(new GetQueueUrlCommand({ QueueName: "academy-messaging-jobs" }));
      const { Attributes } = await producer.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
      expect(Attributes).to.include({ VisibilityTimeout: "60", ReceiveMessageWaitTimeSeconds: "20" });
      expect(JSON.parse(Attributes!.RedrivePolicy!)).to.include({ maxReceiveCount: 3 });
      const body = {
        tenant_id: 12,
        to: "01012345678",
        text: "[한빛학원] 출석 알림",
        sender: null,
        created_at: "2026-11-30T06:12:45.123456+00:00",
        message_mode: "sms",
      };
      const { MessageId } = await producer.send(
        new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(body), MessageGroupId: "12" }),
      );
      const sent = await worker.waitForLine((line) => line.message === "job sent" && line.job === MessageId);
      expect(sent).to.include({ tenant_id: 12, channel: "sms", to: "010****5678" });
      const printed = worker.stderr.join("");
      expect(printed).to.contain("Solapi mock: POST /messages/v4/send-many/detail (not sent)");
      expect(printed).to.contain(`"jobKey": "${MessageId}"`);
      expect(printed).to.contain(`"from": "${MOCK_DEFAULT_SENDER}"`);

      // Older botocore speaks SQS's Query protocol: form-encoded, XML answers.
      const queryBody = { ...body, text: "[한빛학원] 하원 알림" };
      const form = new URLSearchParams({
        Action: "SendMessage",
        Version: "2012-11-05",
        QueueUrl: QueueUrl!,
        MessageBody: JSON.stringify(queryBody),
        MessageGroupId: "12",
      });
      const answer = await fetch(reachable, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form,
      });
      const queryId = /<MessageId>([^<]+)<\/MessageId>/.exec(await answer.text())?.[1];
      expect(answer.status).to.equal(200);
      await worker.waitForLine((line) => line.message === "job sent" && line.job === queryId);

      // A stray request the emulator cannot read is answered 400; the worker carries on.
      const stray = await fetch(reachable, { method: "POST", headers: { "content-type": "application/x-amz-json-1.0" }, body: "{}" });
      expect(stray.status).to.equal(400);

      // npm run stress -- --endpoint … from another terminal.
      const stress = runCli(["stress", "--endpoint", reachable, "--count", "5"], env());
      const { code } = await stress.exited;
      expect(code, stress.stderr.join("")).to.equal(0);
      expect(stress.stdout.join("\n")).to.match(
        /^enqueued 5 jobs \(run [0-9a-f]+\) on http:\/\/localhost:\d+\/123456789012\/academy-messaging-jobs in/m,
      );
      await waitFor(() => sentLines(worker!).length === 7, 20_000, "the five stress jobs sent");

      worker.child.kill("SIGTERM");
      expect((await worker.exited).code).to.equal(0);
    });

    it("a port already taken: exit 1 and a line naming MESSAGING_LOCAL_SQS_PORT", async () => {
      const taken: Server = createServer();
      await new Promise<void>((resolve) => taken.listen(0, "0.0.0.0", resolve));
      const port = (taken.address() as { port: number }).port;
      try {
        worker = runCli(["worker"], env({ SOLAPI_MOCK: "true", MESSAGING_LOCAL_SQS_PORT: String(port) }));
        expect((await worker.exited).code).to.equal(1);
        const failed = worker.lines().find((line) => line.message === "worker could not start");
        expect(String(failed?.error)).to.contain(`port 0.0.0.0:${port} is in use: set MESSAGING_LOCAL_SQS_PORT`);
      } finally {
        taken.close();
      }
    });

    it("live mode never serves a queue of its own: with no SQS configured it stops at the missing AWS credentials", async () => {
      worker = runCli(["worker"], env({ ...live, MESSAGING_LOCAL_SQS_PORT: "0" }));
      const { code } = await worker.exited;
      expect(code).to.equal(1);
      expect(worker.lines().some((line) => String(line.message).startsWith("local SQS endpoint"))).to.equal(false);
      expect(worker.stderr.join("")).not.to.contain("Local SQS endpoint");
      const failed = worker.lines().find((line) => line.message === "worker could not start");
      expect(String(failed?.error)).to.match(/credentials/i);
    });
  });
});

/**
 * The built worker as a child process, the way ECS runs it: signals, exit codes, start-up and logs.
 */
import { expect } from "chai";
import { workerEnv } from "../support/config";
import type { FakeSolapi } from "../support/fake-solapi";
import { jobBody } from "../support/jobs";
import { runCli } from "../support/process";
import { receiveAll, sendBodies, type TestQueues, type TestSqs, useQueueServices } from "../support/sqs";
import { waitFor } from "../support/worker";

describe("worker process: signals, exit codes, logs", function () {
  this.timeout(90_000);
  let sqs: TestSqs;
  let fake: FakeSolapi;
  let queues: TestQueues;

  useQueueServices((services) => ({ sqs, fake, queues } = services));

  it("on SIGTERM finishes the sends in flight, releases the rest and exits 0: nothing lost, nothing sent twice", async () => {
    const keys = Array.from({ length: 30 }, (_, index) => `term-${index}`);
    await sendBodies(
      sqs.client,
      queues.queueUrl,
      keys.map((key) => jobBody(key)),
    );
    fake.latencyMs = 2_000;
    const worker = runCli(
      ["worker"],
      workerEnv(fake, sqs.endpoint, queues.queueUrl, {
        MESSAGING_CONCURRENCY: "10",
        MESSAGING_VISIBILITY_TIMEOUT: "10",
        SOLAPI_TIMEOUT_MS: "5000",
      }),
    );
    await waitFor(() => fake.sendRequests.length > 0, 15_000, "the first send");
    const signalledAt = Date.now();
    worker.child.kill("SIGTERM");
    const { code, at } = await worker.exited;
    expect(code).to.equal(0);
    // Budget: the slowest in-flight send (2 s) plus a margin for flushing acknowledgements.
    expect(at - signalledAt).to.be.below(2_000 + 1_500);

    const sentBeforeExit = new Set(fake.accepted.map((message) => message.jobKey));
    expect(sentBeforeExit.size).to.equal(fake.accepted.length);
    const lines = worker.lines();
    expect(lines.some((line) => line.message === "shutdown requested: no new jobs; finishing the ones in flight")).to.equal(true);
    expect(lines.filter((line) => line.message === "job sent")).to.have.length(sentBeforeExit.size);
    expect(lines.find((line) => line.message === "shutdown complete")).to.include({ sent: sentBeforeExit.size });

    // A second worker finds every job not sent yet, and none that was.
    fake.latencyMs = 0;
    const next = runCli(["worker"], workerEnv(fake, sqs.endpoint, queues.queueUrl, { MESSAGING_VISIBILITY_TIMEOUT: "10" }));
    await waitFor(() => fake.accepted.length >= keys.length, 30_000, "every job sent");
    next.child.kill("SIGTERM");
    expect((await next.exited).code).to.equal(0);
    expect(fake.accepted.map((message) => message.jobKey).sort()).to.deep.equal([...keys].sort());
    expect(await receiveAll(sqs.client, queues.queueUrl)).to.have.length(0);
  });

  it("exits 1 when in-flight sends outlast MESSAGING_SHUTDOWN_TIMEOUT", async () => {
    await sendBodies(sqs.client, queues.queueUrl, [jobBody("stuck")]);
    fake.always({ kind: "hang" });
    const worker = runCli(
      ["worker"],
      workerEnv(fake, sqs.endpoint, queues.queueUrl, { SOLAPI_TIMEOUT_MS: "30000", MESSAGING_SHUTDOWN_TIMEOUT: "1" }),
    );
    await waitFor(() => fake.sendRequests.length > 0, 15_000, "the send");
    const signalledAt = Date.now();
    worker.child.kill("SIGTERM");
    const { code, at } = await worker.exited;
    expect(code).to.equal(1);
    expect(at - signalledAt).to.be.within(900, 3_000);
    expect(worker.lines().find((line) => line.message === "shutdown budget spent with jobs still in flight; exiting anyway")).to.include({
      in_flight: 1,
    });
  });

  it("a second signal exits at once", async () => {
    await sendBodies(sqs.client, queues.queueUrl, [jobBody("slow")]);
    fake.always({ kind: "hang" });
    const worker = runCli(["worker"], workerEnv(fake, sqs.endpoint, queues.queueUrl, { SOLAPI_TIMEOUT_MS: "30000" }));
    await waitFor(() => fake.sendRequests.length > 0, 15_000, "the send");
    worker.child.kill("SIGTERM");
    await worker.waitForLine((line) => line.message === "shutdown requested: no new jobs; finishing the ones in flight");
    const signalledAt = Date.now();
    worker.child.kill("SIGINT");
    const { code, at } = await worker.exited;
    expect(code).to.equal(1);
    expect(at - signalledAt).to.be.below(1_000);
  });

  it("refuses to start on a bad configuration with exit code 2, naming every bad variable", async () => {
    const worker = runCli(["worker"], { PATH: process.env.PATH, MESSAGING_SQS_WAIT_SECONDS: "99", MESSAGING_CONCURRENCY: "0" });
    const { code } = await worker.exited;
    expect(code).to.equal(2);
    const message = worker.stderr.join("");
    for (const name of ["SOLAPI_API_KEY", "SOLAPI_API_SECRET", "SOLAPI_SENDER", "MESSAGING_SQS_WAIT_SECONDS", "MESSAGING_CONCURRENCY"]) {
      expect(message).to.contain(name);
    }
    expect(message.trim().split("\n")).to.have.length(1);
  });

  it("logs its Solapi mode at start-up, and never a secret, even in errors", async () => {
    await sendBodies(sqs.client, queues.queueUrl, [jobBody("auth")]);
    const env = workerEnv(fake, sqs.endpoint, queues.queueUrl, {
      SOLAPI_API_SECRET: "wrong-secret-value-123",
      LOG_LEVEL: "debug",
    });
    const worker = runCli(["worker"], env);
    const polling = await worker.waitForLine((line) => line.message === "worker polling");
    expect(polling).to.include({ solapi_mode: "live", solapi_base_url: fake.url });
    const retry = await worker.waitForLine((line) => line.message === "job retry");
    expect(retry).to.include({ job: "auth", tenant_id: 1, to: "010****5678", alert: true });
    worker.child.kill("SIGTERM");
    await worker.exited;
    const everything = worker.stdout.join("\n") + worker.stderr.join("");
    expect(everything).not.to.contain("wrong-secret-value-123");
    expect(everything).not.to.contain("01012345678");
    expect(everything).not.to.contain("010-1234-5678");

    const mock = runCli(["worker"], { ...env, SOLAPI_MOCK: "true" });
    expect(await mock.waitForLine((line) => line.message === "worker polling")).to.include({
      solapi_mode: "mock",
      mock_because: "SOLAPI_MOCK=true",
    });
    mock.child.kill("SIGTERM");
    expect((await mock.exited).code).to.equal(0);
  });
});

/**
 * The scheduled keep-alive message (infra/keep-alive.ts) against real SQS semantics: the worker
 * deletes it at once, sends nothing, charges nothing, records nothing and reports no job; and the
 * minute metrics line (MESSAGING_METRICS) of a worker process.
 */
import { expect } from "chai";
import { KEEP_ALIVE_BODY } from "../../worker/src/consumer/keep-alive";
import { workerEnv } from "../support/config";
import { balanceOf, logRows, seedTenant, startTestDatabase, type TestDatabase } from "../support/database";
import { type FakeSolapi, startFakeSolapi } from "../support/fake-solapi";
import { runCli } from "../support/process";
import { type QueueServices, receiveAll, sendBodies, startTestSqs, type TestQueues, type TestSqs, useQueueServices } from "../support/sqs";
import { startTestWorker, waitFor } from "../support/worker";

const job = (key: string, tenantId = 1) => ({
  tenant_id: tenantId,
  to: "010-1234-5678",
  text: `출석 ${key}`,
  business_idempotency_key: key,
});

/** Keep-alive message ids, for finding them in log lines. */
async function sendKeepAlives(sqs: TestSqs, queues: TestQueues, count: number): Promise<string[]> {
  return sendBodies(
    sqs.client,
    queues.queueUrl,
    Array.from({ length: count }, () => JSON.parse(KEEP_ALIVE_BODY)),
  );
}

describe("keep-alive messages against SQS", function () {
  this.timeout(60_000);
  let services: QueueServices;
  useQueueServices((started) => (services = started));

  it("deletes them unread among real jobs: no send, no job report, nothing above debug in the log", async () => {
    const { sqs, fake, queues } = services;
    const keepAliveIds = await sendKeepAlives(sqs, queues, 2);
    await sendBodies(sqs.client, queues.queueUrl, [job("a"), job("b")]);
    const worker = await startTestWorker(fake, sqs, queues);
    const logLines = worker.logLines;
    try {
      await worker.waitForReports(2);
      await waitFor(
        () => logLines().filter((line) => line.message === "keep-alive message deleted").length === 2,
        10_000,
        "two keep-alive deletes",
      );
    } finally {
      await worker.stop();
    }

    expect(worker.reports.map((report) => report.key).sort()).to.deep.equal(["a", "b"]);
    expect(fake.accepted.map((message) => message.jobKey).sort()).to.deep.equal(["a", "b"]);
    expect(worker.worker.consumer.stats).to.include({ received: 2, sent: 2, failed: 0, deadLettered: 0 });
    const aboutKeepAlives = logLines().filter((line) => keepAliveIds.some((id) => JSON.stringify(line).includes(id)));
    expect(aboutKeepAlives.map((line) => [line.level, line.message, line.deleted])).to.deep.equal([
      ["debug", "keep-alive message deleted", true],
      ["debug", "keep-alive message deleted", true],
    ]);
    expect(await receiveAll(sqs.client, queues.queueUrl)).to.have.length(0);
    expect(await receiveAll(sqs.client, queues.deadLetterQueueUrl)).to.have.length(0);
  });

  it("a worker process with MESSAGING_METRICS=true writes the minute's EMF line (flushed on SIGTERM); keep-alives are not in it", async () => {
    const { sqs, fake, queues } = services;
    await sendKeepAlives(sqs, queues, 1);
    await sendBodies(sqs.client, queues.queueUrl, [job("m1"), job("m2"), job("m3")]);
    const process = runCli(["worker"], workerEnv(fake, sqs.endpoint, queues.queueUrl, { MESSAGING_METRICS: "true" }));
    await waitFor(() => fake.accepted.length === 3, 20_000, "three sends");
    await process.waitForLine((line) => line.message === "worker polling");
    await new Promise((resolve) => setTimeout(resolve, 500));
    process.child.kill("SIGTERM");
    expect((await process.exited).code).to.equal(0);
    const metrics = process.lines().filter((line) => "_aws" in line);
    expect(metrics).to.have.length(1);
    expect(metrics[0]).to.deep.include({
      Queue: queues.queueName,
      SentSms: 3,
      SentLms: 0,
      SentAlimtalk: 0,
      FellBack: 0,
      Failed: 0,
      DeadLettered: 0,
    });
    expect(metrics[0]!.SolapiLatencyP99).to.be.a("number");
  });
});

describe("keep-alive messages with the send log (MySQL)", function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let sqs: TestSqs;
  let fake: FakeSolapi;

  before(async function () {
    database = await startTestDatabase(this);
    sqs = await startTestSqs();
    fake = await startFakeSolapi();
  });
  after(async () => {
    await fake?.close();
    await sqs?.close();
    await database?.close();
  });

  it("charges nothing and writes no send-log row for them", async () => {
    const tenant = 9_101;
    await seedTenant(database.db, { id: tenant, credit: "100.00", sms: "10.00" });
    const queues = await sqs.createQueues();
    await sendKeepAlives(sqs, queues, 3);
    await sendBodies(sqs.client, queues.queueUrl, [job("with-log", tenant)]);
    const worker = await startTestWorker(fake, sqs, queues, { DATABASE_URL: database.url });
    try {
      await worker.waitForReports(1);
      await waitFor(
        () => worker.logLines().filter((line) => line.message === "keep-alive message deleted").length === 3,
        10_000,
        "three keep-alive deletes",
      );
    } finally {
      await worker.stop();
    }
    expect((await logRows(database.db)).map((row) => [row.idempotency_key, row.status])).to.deep.equal([["with-log", "SENT"]]);
    expect(await balanceOf(database.db, tenant)).to.equal("90.00");
    expect(fake.accepted).to.have.length(1);
    expect(await receiveAll(sqs.client, queues.queueUrl)).to.have.length(0);
  });
});

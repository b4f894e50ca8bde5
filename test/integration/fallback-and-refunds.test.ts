/**
 * After Solapi answers: `both` delivers whatever code refused the AlimTalk, one failing job cannot
 * take its neighbours down, and a charge never outlives the fact that Solapi did not take the message.
 * The worker with DATABASE_URL against MariaDB, the SQS emulator and the real solapi SDK on the suite.fake.
 */
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import { balanceOf, logRow, seedTenant } from "../support/database";
import type { SentMessage } from "../support/fake-solapi";
import { tenantIds } from "../support/jobs";
import { receiveAll, sendBodies, sendBody } from "../support/sqs";
import { useWorkerSuite } from "../support/worker-suite";

const nextTenant = tenantIds(700);

const job = (key: string, tenantId: number, extra: Record<string, unknown> = {}) => ({
  tenant_id: tenantId,
  to: "010-4567-8901",
  text: `안내 ${key}`,
  business_idempotency_key: key,
  ...extra,
});

describe("both that delivers, a blast radius of one, refunds that follow facts (MySQL)", function () {
  this.timeout(90_000);
  const suite = useWorkerSuite();
  const { start } = suite;

  it("both falls back to SMS at once on an AlimTalk refusal with a code the worker does not know, and records why", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00", sms: "10.00", alimtalk: "8.00" });
    suite.fake.refuse = (message) => (message.type === "ATA" ? { statusCode: "3999", statusMessage: "처음 보는 거절 사유" } : undefined);
    await sendBody(suite.sqs.client, suite.queues.queueUrl, job("unknown-code", tenant, { message_mode: "both" }));
    const worker = await start();
    const [report] = await worker.waitForReports(1);
    expect(report!.outcome).to.deep.include({ kind: "sent", channel: "sms", fellBackFrom: "alimtalk" });
    expect(report!.receiveCount, "on the first receive, not after retries").to.equal(1);
    const row = await logRow(suite.database.db, "unknown-code");
    expect(row).to.include({ status: "SENT", channel: "sms", amount_charged: "10.00" });
    expect(String(row!.fallback_reason)).to.contain("3999").and.contain("처음 보는 거절 사유");
    const line = worker.logLines().find((entry) => entry.message === "job sent" && entry.job === "unknown-code")!;
    expect(String(line.fallback_reason)).to.contain("3999");
    expect(await balanceOf(suite.database.db, tenant)).to.equal("90.00");
  });

  it("both does not fall back when our Solapi balance ran short: no channel can help, so the job waits", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    suite.fake.refuse = (message) => (message.type === "ATA" ? { statusCode: "1030", statusMessage: "잔액 부족" } : undefined);
    await sendBody(suite.sqs.client, suite.queues.queueUrl, job("short-balance", tenant, { message_mode: "both" }));
    const worker = await start();
    const [report] = await worker.waitForReports(1);
    expect(report!.outcome).to.deep.include({ kind: "retry", ambiguous: false });
    expect(suite.fake.accepted).to.have.length(0);
    expect(await balanceOf(suite.database.db, tenant)).to.equal("100.00");
  });

  it("one job whose requests keep failing cannot fail its neighbours: they go out once, it alone ends refunded in the DLQ", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    suite.fake.breaksRequest = (message: SentMessage) =>
      message.text?.includes("breaks-the-group") ? { kind: "status", status: 500 } : undefined;
    const neighbours = ["n1", "n2", "n3", "n4"].map((key) => job(key, tenant, key === "n2" ? { message_mode: "both" } : {}));
    await sendBodies(suite.sqs.client, suite.queues.queueUrl, [...neighbours, job("bad", tenant, { text: "breaks-the-group" })]);
    const worker = await start({ MESSAGING_SQS_WAIT_SECONDS: "2" });
    await worker.waitForReports(1, (report) => report.key === "bad" && report.action.action === "dead-letter", 60_000);
    await worker.waitForReports(4, (report) => report.key !== "bad" && report.outcome.kind === "sent", 10_000);

    for (const key of ["n1", "n2", "n3", "n4"]) {
      expect(suite.fake.acceptedFor(key), key).to.have.length(1);
      expect(
        worker.reports.filter((report) => report.key === key && report.action.action === "dead-letter"),
        key,
      ).to.have.length(0);
    }
    // The group's first request carried all five; every later request carrying the bad job carried it alone.
    const carrying = suite.fake.sendRequests.filter((request) =>
      request.body?.messages?.some((message) => message.text === "breaks-the-group"),
    );
    expect(carrying[0]!.body!.messages!.length).to.be.above(1);
    expect(carrying.slice(1).every((request) => request.body!.messages!.length === 1)).to.equal(true);
    // Solapi answered 500 and holds no such message: nothing of the dead-lettered job stays charged.
    expect(await logRow(suite.database.db, "bad")).to.include({ status: "CLAIMED", amount_charged: "0.00" });
    expect(await balanceOf(suite.database.db, tenant), "three SMS and one AlimTalk").to.equal("62.00");
    const [dead] = await receiveAll(suite.sqs.client, suite.queues.deadLetterQueueUrl);
    expect(dead!.MessageAttributes!.job_key!.StringValue).to.equal("bad");
  });

  it("UNKNOWN keeps its charge until a look-up settles it: absent in Solapi, the charge is refunded and the job sent once", async () => {
    suite.queues = await suite.sqs.createQueues({ maxReceiveCount: 3 });
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    // The send times out with nothing taken, and Solapi's list cannot be read: whether it went is unknowable.
    suite.fake.next({ kind: "hang" });
    suite.fake.listStatus = 500;
    await sendBody(suite.sqs.client, suite.queues.queueUrl, job("settled-later", tenant));
    const worker = await start({ SOLAPI_TIMEOUT_MS: "500" });
    await worker.waitForReports(1, (report) => report.action.action === "dead-letter", 45_000);
    expect(await logRow(suite.database.db, "settled-later")).to.include({ status: "UNKNOWN", amount_charged: "10.00" });
    expect(await balanceOf(suite.database.db, tenant)).to.equal("90.00");

    suite.fake.listStatus = undefined;
    const [copy] = await receiveAll(suite.sqs.client, suite.queues.deadLetterQueueUrl);
    await suite.sqs.client.send(
      new SendMessageCommand({ QueueUrl: suite.queues.queueUrl, MessageBody: copy!.Body!, MessageAttributes: copy!.MessageAttributes }),
    );
    await worker.waitForReports(1, (report) => report.outcome.kind === "sent", 30_000);
    expect(suite.fake.acceptedFor("settled-later")).to.have.length(1);
    expect(await logRow(suite.database.db, "settled-later")).to.include({ status: "SENT", amount_charged: "10.00" });
    expect(await balanceOf(suite.database.db, tenant), "refunded, then charged once for the send that went").to.equal("90.00");
  });
});

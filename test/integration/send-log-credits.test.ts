/**
 * The worker with DATABASE_URL against a real MySQL-compatible server: cancelled reservations,
 * tenants' own settings, credits, charges and refunds.
 */
import { expect } from "chai";
import { balanceOf, logRow, logRows, seedReservation, seedTenant } from "../support/database";
import { UNAPPROVED_TEMPLATE_PREFIX } from "../support/fake-solapi";
import { tenantIds, tenantJobBody } from "../support/jobs";
import { receiveAll, sendBodies, sendBody } from "../support/sqs";
import { waitFor } from "../support/worker";
import { useWorkerSuite } from "../support/worker-suite";

const nextTenant = tenantIds(100);

describe("send log: reservations, credits and refunds (MySQL)", function () {
  this.timeout(90_000);
  const suite = useWorkerSuite();
  const { start } = suite;

  it("skips a job whose reservation is cancelled: recorded, deleted, nothing sent", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    await seedReservation(suite.database.db, tenant * 10, tenant, "CANCELLED");
    await sendBody(suite.sqs.client, suite.queues.queueUrl, tenantJobBody("cancelled", tenant, { reservation_id: tenant * 10 }));
    const worker = await start();
    const [report] = await worker.waitForReports(1);
    expect(report!.outcome).to.deep.include({ kind: "skipped", status: "SKIPPED_CANCELLED" });
    expect(suite.fake.sendRequests).to.have.length(0);
    expect(await logRow(suite.database.db, "cancelled")).to.include({
      status: "SKIPPED_CANCELLED",
      amount_charged: "0.00",
      tenant_id: tenant,
    });
    expect(await balanceOf(suite.database.db, tenant)).to.equal("100.00");
    expect(await receiveAll(suite.sqs.client, suite.queues.queueUrl)).to.have.length(0);
  });

  it("does not skip for another tenant's cancelled reservation with that id", async () => {
    const mine = nextTenant();
    const theirs = nextTenant();
    await seedTenant(suite.database.db, { id: mine, credit: "100.00" });
    await seedTenant(suite.database.db, { id: theirs, credit: "100.00" });
    await seedReservation(suite.database.db, theirs * 10, theirs, "CANCELLED");
    await sendBody(suite.sqs.client, suite.queues.queueUrl, tenantJobBody("other-tenant", mine, { reservation_id: theirs * 10 }));
    const worker = await start();
    const [report] = await worker.waitForReports(1);
    expect(report!.outcome.kind).to.equal("sent");
    expect(suite.fake.acceptedFor("other-tenant")).to.have.length(1);
  });

  it("50 concurrent debits on credits for 20: exactly 20 sent, 30 SKIPPED_BALANCE, balance exact and never negative", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "200.00", sms: "10.00" });
    const keys = Array.from({ length: 50 }, (_, index) => `credit-${tenant}-${index}`);
    await sendBodies(
      suite.sqs.client,
      suite.queues.queueUrl,
      keys.map((key) => tenantJobBody(key, tenant)),
    );
    let lowest = Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        lowest = Math.min(lowest, Number(await balanceOf(suite.database.db, tenant)));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const a = await start({ MESSAGING_CONCURRENCY: "25" });
    const b = await start({ MESSAGING_CONCURRENCY: "25" });
    await waitFor(() => a.reports.length + b.reports.length >= 50, 30_000, "50 outcomes");
    sampling = false;
    await sampler;
    expect(a.reports.length, "worker A's share").to.be.above(0);
    expect(b.reports.length, "worker B's share").to.be.above(0);
    const rows = (await logRows(suite.database.db)).filter((row) => String(row.idempotency_key).startsWith(`credit-${tenant}-`));
    const byStatus = (status: string) => rows.filter((row) => row.status === status).length;
    expect(byStatus("SENT")).to.equal(20);
    expect(byStatus("SKIPPED_BALANCE")).to.equal(30);
    expect(suite.fake.accepted.filter((message) => String(message.jobKey).startsWith(`credit-${tenant}-`))).to.have.length(20);
    expect(await balanceOf(suite.database.db, tenant)).to.equal("0.00");
    expect(lowest).to.be.at.least(0);
    expect(rows.filter((row) => row.status === "SENT").every((row) => row.amount_charged === "10.00")).to.equal(true);
    expect(rows.filter((row) => row.status === "SKIPPED_BALANCE").every((row) => row.amount_charged === "0.00")).to.equal(true);
  });

  it("skips a tenant with messaging disabled, and uses the tenant's own sender and Kakao channel", async () => {
    const off = nextTenant();
    const own = nextTenant();
    await seedTenant(suite.database.db, { id: off, credit: "100.00", enabled: false });
    await seedTenant(suite.database.db, { id: own, credit: "100.00", sender: "0311112222", pfId: "KA01PF-TENANT" });
    await sendBodies(suite.sqs.client, suite.queues.queueUrl, [
      tenantJobBody("disabled", off),
      tenantJobBody("own-sender", own, { message_mode: "both" }),
    ]);
    const worker = await start();
    await worker.waitForReports(2);
    expect(await logRow(suite.database.db, "disabled")).to.include({
      status: "SKIPPED_BALANCE",
      failure_reason: `messaging is disabled for tenant ${off}`,
    });
    const [sent] = suite.fake.acceptedFor("own-sender");
    expect(sent!.kakaoOptions).to.include({ pfId: "KA01PF-TENANT" });
    expect(sent!.from).to.equal("0311112222");
    expect(await logRow(suite.database.db, "own-sender")).to.include({ status: "SENT", channel: "alimtalk", amount_charged: "8.00" });
    expect(await balanceOf(suite.database.db, own)).to.equal("92.00");
  });

  it("a permanent failure is recorded FAILED and refunded once", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "50.00" });
    await sendBody(
      suite.sqs.client,
      suite.queues.queueUrl,
      tenantJobBody("refused", tenant, { message_mode: "alimtalk", template_id: `${UNAPPROVED_TEMPLATE_PREFIX}-T` }),
    );
    const worker = await start();
    await worker.waitForReports(1);
    expect(await logRow(suite.database.db, "refused")).to.include({ status: "FAILED", amount_charged: "0.00", channel: "alimtalk" });
    expect(String((await logRow(suite.database.db, "refused"))!.failure_reason)).to.contain("1042");
    expect(await balanceOf(suite.database.db, tenant)).to.equal("50.00");
  });

  it("a job retried after uncertain and failed attempts is charged exactly once when it is finally sent", async () => {
    // Room for three attempts even where the emulator counts each back-off as a receive (docs/testing.md).
    suite.queues = await suite.sqs.createQueues({ maxReceiveCount: 6 });
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "50.00", sms: "10.00" });
    const unavailable = { kind: "status", status: 503 } as const;
    suite.fake.next({ kind: "status", status: 500 }, unavailable, unavailable, unavailable, unavailable);
    await sendBody(suite.sqs.client, suite.queues.queueUrl, tenantJobBody("retried", tenant));
    const worker = await start();
    await worker.waitForReports(1, (report) => report.outcome.kind === "sent", 30_000);
    expect(worker.reports.map((report) => report.outcome.kind)).to.deep.equal(["retry", "retry", "sent"]);
    expect(suite.fake.acceptedFor("retried")).to.have.length(1);
    expect(await logRow(suite.database.db, "retried")).to.include({ status: "SENT", amount_charged: "10.00", attempts: 3 });
    expect(await balanceOf(suite.database.db, tenant)).to.equal("40.00");
  });

  it("a job that fails until the DLQ is refunded in full and left for a redrive", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "50.00" });
    suite.fake.always({ kind: "status", status: 503 });
    await sendBody(suite.sqs.client, suite.queues.queueUrl, tenantJobBody("exhausted", tenant));
    const worker = await start();
    await worker.waitForReports(1, (report) => report.action.action === "dead-letter", 30_000);
    const row = await logRow(suite.database.db, "exhausted");
    expect(row).to.include({ status: "CLAIMED", amount_charged: "0.00" });
    expect(String(row!.failure_reason)).to.match(/^gave up after \d receives/);
    expect(await balanceOf(suite.database.db, tenant)).to.equal("50.00");
    expect(await receiveAll(suite.sqs.client, suite.queues.deadLetterQueueUrl)).to.have.length(1);
  });

  it("both mode: a refused AlimTalk is refunded and the SMS price charged instead; short credits skip", async () => {
    const rich = nextTenant();
    const poor = nextTenant();
    await seedTenant(suite.database.db, { id: rich, credit: "50.00", sms: "10.00", alimtalk: "8.00" });
    await seedTenant(suite.database.db, { id: poor, credit: "9.00", sms: "10.00", alimtalk: "8.00" });
    const refused = { message_mode: "both", template_id: `${UNAPPROVED_TEMPLATE_PREFIX}-T` };
    await sendBodies(suite.sqs.client, suite.queues.queueUrl, [
      tenantJobBody("fallback", rich, refused),
      tenantJobBody("fallback-poor", poor, refused),
    ]);
    const worker = await start();
    await worker.waitForReports(2);
    expect(await logRow(suite.database.db, "fallback")).to.include({ status: "SENT", channel: "sms", amount_charged: "10.00" });
    expect(await balanceOf(suite.database.db, rich)).to.equal("40.00");
    expect(await logRow(suite.database.db, "fallback-poor")).to.include({ status: "SKIPPED_BALANCE", amount_charged: "0.00" });
    expect(await balanceOf(suite.database.db, poor)).to.equal("9.00");
    expect(suite.fake.acceptedFor("fallback-poor")).to.have.length(0);
  });
});

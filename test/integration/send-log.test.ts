/**
 * The worker with DATABASE_URL against a real MySQL-compatible server: cancelled reservations,
 * credits and refunds, the send log and "never the same message twice".
 */
import { expect } from "chai";
import { LATEST_SCHEMA_VERSION, migrate, schemaVersion } from "../../worker/src/store/migrate";
import { RECIPIENT_HASH_SECRET, workerEnv } from "../support/config";
import { balanceOf, logRow, logRows, seedReservation, seedTenant } from "../support/database";
import { UNAPPROVED_TEMPLATE_PREFIX } from "../support/fake-solapi";
import { runCli } from "../support/process";
import { receiveAll, sendBodies, sendBody } from "../support/sqs";
import { type TestWorker, waitFor } from "../support/worker";
import { useWorkerSuite } from "../support/worker-suite";

let tenantSequence = 100;
const nextTenant = () => (tenantSequence += 1);

const job = (key: string, tenantId: number, extra: Record<string, unknown> = {}) => ({
  tenant_id: tenantId,
  to: "010-1234-5678",
  text: `안내 ${key}`,
  business_idempotency_key: key,
  ...extra,
});

describe("send log, credits and reservations (MySQL)", function () {
  this.timeout(90_000);
  const suite = useWorkerSuite();
  const start = (env: Record<string, string> = {}) => suite.start(env);

  it("migrations run twice without error and record their version", async () => {
    expect(await migrate(suite.database.db)).to.deep.equal([]);
    expect(await schemaVersion(suite.database.db)).to.equal(LATEST_SCHEMA_VERSION);
    const migrateAgain = runCli(["migrate"], { PATH: process.env.PATH, DATABASE_URL: suite.database.url });
    expect((await migrateAgain.exited).code).to.equal(0);
    expect(migrateAgain.stdout.join("\n")).to.equal(`schema already at version ${LATEST_SCHEMA_VERSION}: nothing to do`);
  });

  it("skips a job whose reservation is cancelled: recorded, deleted, nothing sent", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    await seedReservation(suite.database.db, tenant * 10, tenant, "CANCELLED");
    await sendBody(suite.sqs.client, suite.queues.queueUrl, job("cancelled", tenant, { reservation_id: tenant * 10 }));
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
    await sendBody(suite.sqs.client, suite.queues.queueUrl, job("other-tenant", mine, { reservation_id: theirs * 10 }));
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
      keys.map((key) => job(key, tenant)),
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
    await sendBodies(suite.sqs.client, suite.queues.queueUrl, [job("disabled", off), job("own-sender", own, { message_mode: "both" })]);
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
      job("refused", tenant, { message_mode: "alimtalk", template_id: `${UNAPPROVED_TEMPLATE_PREFIX}-T` }),
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
    await sendBody(suite.sqs.client, suite.queues.queueUrl, job("retried", tenant));
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
    await sendBody(suite.sqs.client, suite.queues.queueUrl, job("exhausted", tenant));
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
    await sendBodies(suite.sqs.client, suite.queues.queueUrl, [job("fallback", rich, refused), job("fallback-poor", poor, refused)]);
    const worker = await start();
    await worker.waitForReports(2);
    expect(await logRow(suite.database.db, "fallback")).to.include({ status: "SENT", channel: "sms", amount_charged: "10.00" });
    expect(await balanceOf(suite.database.db, rich)).to.equal("40.00");
    expect(await logRow(suite.database.db, "fallback-poor")).to.include({ status: "SKIPPED_BALANCE", amount_charged: "0.00" });
    expect(await balanceOf(suite.database.db, poor)).to.equal("9.00");
    expect(suite.fake.acceptedFor("fallback-poor")).to.have.length(0);
  });

  it("the same job delivered twice, one after the other, is sent once", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    await sendBody(suite.sqs.client, suite.queues.queueUrl, job("again", tenant));
    const worker = await start();
    await worker.waitForReports(1);
    await sendBody(suite.sqs.client, suite.queues.queueUrl, job("again", tenant));
    const [, second] = await worker.waitForReports(2);
    expect(second!.outcome).to.deep.include({ kind: "duplicate", status: "SENT" });
    expect(suite.fake.acceptedFor("again")).to.have.length(1);
    expect(await balanceOf(suite.database.db, tenant)).to.equal("90.00");
  });

  it("10 copies of one job, concurrently, to two worker instances: one Solapi send", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    suite.fake.latencyMs = 300;
    await sendBodies(
      suite.sqs.client,
      suite.queues.queueUrl,
      Array.from({ length: 10 }, () => job("ten-copies", tenant)),
    );
    // Five slots each, so that both workers receive copies and race for the claim.
    const a = await start({ MESSAGING_CONCURRENCY: "5" });
    const b = await start({ MESSAGING_CONCURRENCY: "5" });
    await waitFor(
      () => [...a.reports, ...b.reports].filter((report) => report.action.action === "delete").length >= 10,
      40_000,
      "all 10 copies deleted",
    );
    expect(a.reports.length, "worker A's copies").to.be.above(0);
    expect(b.reports.length, "worker B's copies").to.be.above(0);
    expect(suite.fake.acceptedFor("ten-copies")).to.have.length(1);
    expect(await logRow(suite.database.db, "ten-copies")).to.include({ status: "SENT", amount_charged: "10.00" });
    expect(await balanceOf(suite.database.db, tenant)).to.equal("90.00");
  });

  it("a worker killed after Solapi accepted and before recording: on redelivery, found in Solapi, not sent again", async () => {
    // Room for the receives spent waiting for the send to settle, where the emulator counts each back-off as a receive (docs/testing.md).
    suite.queues = await suite.sqs.createQueues({ maxReceiveCount: 10 });
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    suite.fake.next({ kind: "accept-then-hang" });
    await sendBody(suite.sqs.client, suite.queues.queueUrl, job("killed", tenant));
    const env = workerEnv(suite.fake, suite.sqs.endpoint, suite.queues.queueUrl, {
      DATABASE_URL: suite.database.url,
      MESSAGING_VISIBILITY_TIMEOUT: "3",
      SOLAPI_TIMEOUT_MS: "3000",
    });
    const doomed = runCli(["worker"], env);
    await waitFor(() => suite.fake.acceptedFor("killed").length === 1, 15_000, "Solapi to accept");
    doomed.child.kill("SIGKILL");
    await doomed.exited;
    expect(await logRow(suite.database.db, "killed")).to.include({ status: "CLAIMED", amount_charged: "10.00" });

    // The survivor asks Solapi only once the killed worker's send has settled (pipeline/send-window.ts).
    const survivor = await start({ MESSAGING_VISIBILITY_TIMEOUT: "3" });
    // Until then the job comes back, finds the claim held (the fence stretched it over the send) and waits.
    const [report] = await survivor.waitForReports(1, (candidate) => candidate.outcome.kind !== "retry", 30_000);
    expect(report!.outcome).to.deep.include({ kind: "sent", recovered: true, messageId: suite.fake.acceptedFor("killed")[0]!.messageId });
    expect(suite.fake.acceptedFor("killed")).to.have.length(1);
    expect(await logRow(suite.database.db, "killed")).to.include({
      status: "SENT",
      message_id: suite.fake.acceptedFor("killed")[0]!.messageId,
      amount_charged: "10.00",
    });
    expect(await balanceOf(suite.database.db, tenant)).to.equal("90.00");
  });

  it("an outcome Solapi cannot tell is recorded UNKNOWN and kept for a person in the DLQ", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    suite.fake.always({ kind: "status", status: 500 });
    suite.fake.listStatus = 500;
    await sendBody(suite.sqs.client, suite.queues.queueUrl, job("unknowable", tenant));
    const worker = await start();
    await worker.waitForReports(1, (report) => report.action.action === "dead-letter", 30_000);
    expect(await logRow(suite.database.db, "unknowable")).to.include({ status: "UNKNOWN", amount_charged: "10.00" });
    const [dead] = await receiveAll(suite.sqs.client, suite.queues.deadLetterQueueUrl);
    expect(dead!.MessageAttributes!.error!.StringValue).to.contain("Solapi may have accepted it");
    expect(suite.fake.sendRequests).to.have.length(1);
  });

  it("fails closed: when the database cannot answer, nothing is sent and the job comes back", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    await seedReservation(suite.database.db, tenant * 10, tenant, "CONFIRMED");
    await suite.database.db.query("RENAME TABLE reservations TO reservations_away");
    try {
      await sendBody(suite.sqs.client, suite.queues.queueUrl, job("closed", tenant, { reservation_id: tenant * 10 }));
      const worker = await start();
      const [report] = await worker.waitForReports(1);
      expect(report!.outcome).to.deep.include({ kind: "retry" });
      expect(suite.fake.sendRequests).to.have.length(0);
      expect(await balanceOf(suite.database.db, tenant)).to.equal("100.00");
    } finally {
      await suite.database.db.query("RENAME TABLE reservations_away TO reservations");
    }
  });

  it("npm run trace shows a recipient's jobs with status, reason and ids; clear messages otherwise", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    await seedReservation(suite.database.db, tenant * 10, tenant, "CANCELLED");
    const to = "010-7777-8888";
    await sendBodies(suite.sqs.client, suite.queues.queueUrl, [
      { ...job("trace-sent", tenant), to, event_type: "clinic_reminder" },
      { ...job("trace-skipped", tenant, { reservation_id: tenant * 10 }), to },
    ]);
    const worker = await start();
    await worker.waitForReports(2);
    const trace = runCli(["trace", "--to", "01077778888", "--tenant", String(tenant)], {
      PATH: process.env.PATH,
      DATABASE_URL: suite.database.url,
      MESSAGING_RECIPIENT_HASH_SECRET: RECIPIENT_HASH_SECRET,
    });
    expect((await trace.exited).code).to.equal(0);
    const output = trace.stdout.join("\n");
    expect(output).to.contain("2 jobs for 010****8888");
    expect(output).to.contain("SENT");
    expect(output).to.contain("SKIPPED_CANCELLED");
    expect(output).to.contain("clinic_reminder");
    expect(output).to.contain(suite.fake.acceptedFor("trace-sent")[0]!.messageId);

    const nothing = runCli(["trace", "--to", "010-0000-0000"], {
      PATH: process.env.PATH,
      DATABASE_URL: suite.database.url,
      MESSAGING_RECIPIENT_HASH_SECRET: RECIPIENT_HASH_SECRET,
    });
    expect((await nothing.exited).code).to.equal(0);
    expect(nothing.stdout.join("\n")).to.match(/^no jobs for 010\*\*\*\*0000 since /);

    const noDatabase = runCli(["trace", "--to", "01077778888"], { PATH: process.env.PATH });
    expect((await noDatabase.exited).code).to.equal(2);
    expect(noDatabase.stderr.join("")).to.contain("trace needs DATABASE_URL");
  });

  it("never logs the database password, even when the database refuses it", async () => {
    const url = new URL(suite.database.url);
    url.username = "nobody";
    url.password = "Db-Passw0rd-never-logged";
    const worker = runCli(["worker"], workerEnv(suite.fake, suite.sqs.endpoint, suite.queues.queueUrl, { DATABASE_URL: url.href }));
    const timer = setTimeout(() => worker.child.kill("SIGKILL"), 20_000);
    const { code } = await worker.exited;
    clearTimeout(timer);
    expect(code).to.equal(1);
    const everything = worker.stdout.join("\n") + worker.stderr.join("");
    expect(everything).to.contain("worker could not start");
    expect(everything).not.to.contain("Db-Passw0rd-never-logged");
  });
});

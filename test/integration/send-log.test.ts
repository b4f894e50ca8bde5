/**
 * The worker with DATABASE_URL against a real MySQL-compatible server: cancelled reservations,
 * credits and refunds, the send log and "never the same message twice".
 */
import { expect } from "chai";
import { LATEST_SCHEMA_VERSION, migrate, schemaVersion } from "../../worker/src/store/migrate";
import { balanceOf, logRow, logRows, seedReservation, seedTenant, startTestDatabase, type TestDatabase } from "../support/database";
import { workerEnv } from "../support/config";
import { type FakeSolapi, startFakeSolapi, UNAPPROVED_TEMPLATE_PREFIX } from "../support/fake-solapi";
import { runCli } from "../support/process";
import { receiveAll, sendBodies, sendBody, startTestSqs, type TestQueues, type TestSqs } from "../support/sqs";
import { startTestWorker, type TestWorker, waitFor } from "../support/worker";

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
  let database: TestDatabase;
  let sqs: TestSqs;
  let fake: FakeSolapi;
  let queues: TestQueues;
  const workers: TestWorker[] = [];

  before(async function () {
    database = await startTestDatabase(this);
    sqs = await startTestSqs();
  });
  after(async () => {
    await sqs?.close();
    await database?.close();
  });
  beforeEach(async () => {
    fake = await startFakeSolapi();
    queues = await sqs.createQueues();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    await fake.close();
  });

  async function start(env: Record<string, string> = {}): Promise<TestWorker> {
    const worker = await startTestWorker(fake, sqs, queues, { DATABASE_URL: database.url, ...env });
    workers.push(worker);
    return worker;
  }

  it("migrations run twice without error and record their version", async () => {
    expect(await migrate(database.db)).to.deep.equal([]);
    expect(await schemaVersion(database.db)).to.equal(LATEST_SCHEMA_VERSION);
    const migrateAgain = runCli(["migrate"], { PATH: process.env.PATH, DATABASE_URL: database.url });
    expect((await migrateAgain.exited).code).to.equal(0);
    expect(migrateAgain.stdout.join("\n")).to.equal(`schema already at version ${LATEST_SCHEMA_VERSION}: nothing to do`);
  });

  it("skips a job whose reservation is cancelled: recorded, deleted, nothing sent", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    await seedReservation(database.db, tenant * 10, tenant, "CANCELLED");
    await sendBody(sqs.client, queues.queueUrl, job("cancelled", tenant, { reservation_id: tenant * 10 }));
    const worker = await start();
    const [report] = await worker.waitForReports(1);
    expect(report!.outcome).to.deep.include({ kind: "skipped", status: "SKIPPED_CANCELLED" });
    expect(fake.sendRequests).to.have.length(0);
    expect(await logRow(database.db, "cancelled")).to.include({ status: "SKIPPED_CANCELLED", amount_charged: "0.00", tenant_id: tenant });
    expect(await balanceOf(database.db, tenant)).to.equal("100.00");
    expect(await receiveAll(sqs.client, queues.queueUrl)).to.have.length(0);
  });

  it("does not skip for another tenant's cancelled reservation with that id", async () => {
    const mine = nextTenant();
    const theirs = nextTenant();
    await seedTenant(database.db, { id: mine, credit: "100.00" });
    await seedTenant(database.db, { id: theirs, credit: "100.00" });
    await seedReservation(database.db, theirs * 10, theirs, "CANCELLED");
    await sendBody(sqs.client, queues.queueUrl, job("other-tenant", mine, { reservation_id: theirs * 10 }));
    const worker = await start();
    const [report] = await worker.waitForReports(1);
    expect(report!.outcome.kind).to.equal("sent");
    expect(fake.acceptedFor("other-tenant")).to.have.length(1);
  });

  it("50 concurrent debits on credits for 20: exactly 20 sent, 30 SKIPPED_BALANCE, balance exact and never negative", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "200.00", sms: "10.00" });
    const keys = Array.from({ length: 50 }, (_, index) => `credit-${tenant}-${index}`);
    await sendBodies(sqs.client, queues.queueUrl, keys.map((key) => job(key, tenant)));
    let lowest = Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        lowest = Math.min(lowest, Number(await balanceOf(database.db, tenant)));
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
    const rows = (await logRows(database.db)).filter((row) => String(row.idempotency_key).startsWith(`credit-${tenant}-`));
    const byStatus = (status: string) => rows.filter((row) => row.status === status).length;
    expect(byStatus("SENT")).to.equal(20);
    expect(byStatus("SKIPPED_BALANCE")).to.equal(30);
    expect(fake.accepted.filter((message) => String(message.jobKey).startsWith(`credit-${tenant}-`))).to.have.length(20);
    expect(await balanceOf(database.db, tenant)).to.equal("0.00");
    expect(lowest).to.be.at.least(0);
    expect(rows.filter((row) => row.status === "SENT").every((row) => row.amount_charged === "10.00")).to.equal(true);
    expect(rows.filter((row) => row.status === "SKIPPED_BALANCE").every((row) => row.amount_charged === "0.00")).to.equal(true);
  });

  it("skips a tenant with messaging disabled, and uses the tenant's own sender and Kakao channel", async () => {
    const off = nextTenant();
    const own = nextTenant();
    await seedTenant(database.db, { id: off, credit: "100.00", enabled: false });
    await seedTenant(database.db, { id: own, credit: "100.00", sender: "0311112222", pfId: "KA01PF-TENANT" });
    await sendBodies(sqs.client, queues.queueUrl, [job("disabled", off), job("own-sender", own, { message_mode: "both" })]);
    const worker = await start();
    await worker.waitForReports(2);
    expect(await logRow(database.db, "disabled")).to.include({ status: "SKIPPED_BALANCE", failure_reason: `messaging is disabled for tenant ${off}` });
    const [sent] = fake.acceptedFor("own-sender");
    expect(sent!.kakaoOptions).to.include({ pfId: "KA01PF-TENANT" });
    expect(sent!.from).to.equal("0311112222");
    expect(await logRow(database.db, "own-sender")).to.include({ status: "SENT", channel: "alimtalk", amount_charged: "8.00" });
    expect(await balanceOf(database.db, own)).to.equal("92.00");
  });

  it("a permanent failure is recorded FAILED and refunded once", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "50.00" });
    await sendBody(sqs.client, queues.queueUrl, job("refused", tenant, { message_mode: "alimtalk", template_id: `${UNAPPROVED_TEMPLATE_PREFIX}-T` }));
    const worker = await start();
    await worker.waitForReports(1);
    expect(await logRow(database.db, "refused")).to.include({ status: "FAILED", amount_charged: "0.00", channel: "alimtalk" });
    expect(String((await logRow(database.db, "refused"))!.failure_reason)).to.contain("1042");
    expect(await balanceOf(database.db, tenant)).to.equal("50.00");
  });

  it("a job retried after uncertain and failed attempts is charged exactly once when it is finally sent", async () => {
    // Room for three attempts even where the emulator counts each back-off as a receive (docs/testing.md).
    queues = await sqs.createQueues({ maxReceiveCount: 6 });
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "50.00", sms: "10.00" });
    const unavailable = { kind: "status", status: 503 } as const;
    fake.next({ kind: "status", status: 500 }, unavailable, unavailable, unavailable, unavailable);
    await sendBody(sqs.client, queues.queueUrl, job("retried", tenant));
    const worker = await start();
    await worker.waitForReports(1, (report) => report.outcome.kind === "sent", 30_000);
    expect(worker.reports.map((report) => report.outcome.kind)).to.deep.equal(["retry", "retry", "sent"]);
    expect(fake.acceptedFor("retried")).to.have.length(1);
    expect(await logRow(database.db, "retried")).to.include({ status: "SENT", amount_charged: "10.00", attempts: 3 });
    expect(await balanceOf(database.db, tenant)).to.equal("40.00");
  });

  it("a job that fails until the DLQ is refunded in full and left for a redrive", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "50.00" });
    fake.always({ kind: "status", status: 503 });
    await sendBody(sqs.client, queues.queueUrl, job("exhausted", tenant));
    const worker = await start();
    await worker.waitForReports(1, (report) => report.action.action === "dead-letter", 30_000);
    const row = await logRow(database.db, "exhausted");
    expect(row).to.include({ status: "CLAIMED", amount_charged: "0.00" });
    expect(String(row!.failure_reason)).to.match(/^gave up after \d receives/);
    expect(await balanceOf(database.db, tenant)).to.equal("50.00");
    expect(await receiveAll(sqs.client, queues.deadLetterQueueUrl)).to.have.length(1);
  });

  it("both mode: a refused AlimTalk is refunded and the SMS price charged instead; short credits skip", async () => {
    const rich = nextTenant();
    const poor = nextTenant();
    await seedTenant(database.db, { id: rich, credit: "50.00", sms: "10.00", alimtalk: "8.00" });
    await seedTenant(database.db, { id: poor, credit: "9.00", sms: "10.00", alimtalk: "8.00" });
    const refused = { message_mode: "both", template_id: `${UNAPPROVED_TEMPLATE_PREFIX}-T` };
    await sendBodies(sqs.client, queues.queueUrl, [job("fallback", rich, refused), job("fallback-poor", poor, refused)]);
    const worker = await start();
    await worker.waitForReports(2);
    expect(await logRow(database.db, "fallback")).to.include({ status: "SENT", channel: "sms", amount_charged: "10.00" });
    expect(await balanceOf(database.db, rich)).to.equal("40.00");
    expect(await logRow(database.db, "fallback-poor")).to.include({ status: "SKIPPED_BALANCE", amount_charged: "0.00" });
    expect(await balanceOf(database.db, poor)).to.equal("9.00");
    expect(fake.acceptedFor("fallback-poor")).to.have.length(0);
  });

  it("the same job delivered twice, one after the other, is sent once", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    await sendBody(sqs.client, queues.queueUrl, job("again", tenant));
    const worker = await start();
    await worker.waitForReports(1);
    await sendBody(sqs.client, queues.queueUrl, job("again", tenant));
    const [, second] = await worker.waitForReports(2);
    expect(second!.outcome).to.deep.include({ kind: "duplicate", status: "SENT" });
    expect(fake.acceptedFor("again")).to.have.length(1);
    expect(await balanceOf(database.db, tenant)).to.equal("90.00");
  });

  it("10 copies of one job, concurrently, to two worker instances: one Solapi send", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    fake.latencyMs = 300;
    await sendBodies(sqs.client, queues.queueUrl, Array.from({ length: 10 }, () => job("ten-copies", tenant)));
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
    expect(fake.acceptedFor("ten-copies")).to.have.length(1);
    expect(await logRow(database.db, "ten-copies")).to.include({ status: "SENT", amount_charged: "10.00" });
    expect(await balanceOf(database.db, tenant)).to.equal("90.00");
  });

  it("a worker killed after Solapi accepted and before recording: on redelivery, found in Solapi, not sent again", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    fake.next({ kind: "accept-then-hang" });
    await sendBody(sqs.client, queues.queueUrl, job("killed", tenant));
    const env = workerEnv(fake, sqs.endpoint, queues.queueUrl, { DATABASE_URL: database.url, MESSAGING_VISIBILITY_TIMEOUT: "3", SOLAPI_TIMEOUT_MS: "10000" });
    const doomed = runCli(["worker"], env);
    await waitFor(() => fake.acceptedFor("killed").length === 1, 15_000, "Solapi to accept");
    doomed.child.kill("SIGKILL");
    await doomed.exited;
    expect(await logRow(database.db, "killed")).to.include({ status: "CLAIMED", amount_charged: "10.00" });

    const survivor = await start({ MESSAGING_VISIBILITY_TIMEOUT: "3" });
    const [report] = await survivor.waitForReports(1, undefined, 20_000);
    expect(report!.outcome).to.deep.include({ kind: "sent", recovered: true, messageId: fake.acceptedFor("killed")[0]!.messageId });
    expect(fake.acceptedFor("killed")).to.have.length(1);
    expect(await logRow(database.db, "killed")).to.include({ status: "SENT", message_id: fake.acceptedFor("killed")[0]!.messageId, amount_charged: "10.00" });
    expect(await balanceOf(database.db, tenant)).to.equal("90.00");
  });

  it("an outcome Solapi cannot tell is recorded UNKNOWN and kept for a person in the DLQ", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    fake.always({ kind: "status", status: 500 });
    fake.listStatus = 500;
    await sendBody(sqs.client, queues.queueUrl, job("unknowable", tenant));
    const worker = await start();
    await worker.waitForReports(1, (report) => report.action.action === "dead-letter", 30_000);
    expect(await logRow(database.db, "unknowable")).to.include({ status: "UNKNOWN", amount_charged: "10.00" });
    const [dead] = await receiveAll(sqs.client, queues.deadLetterQueueUrl);
    expect(dead!.MessageAttributes!.error!.StringValue).to.contain("Solapi may have accepted it");
    expect(fake.sendRequests).to.have.length(1);
  });

  it("fails closed: when the database cannot answer, nothing is sent and the job comes back", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    await seedReservation(database.db, tenant * 10, tenant, "CONFIRMED");
    await database.db.query("RENAME TABLE reservations TO reservations_away");
    try {
      await sendBody(sqs.client, queues.queueUrl, job("closed", tenant, { reservation_id: tenant * 10 }));
      const worker = await start();
      const [report] = await worker.waitForReports(1);
      expect(report!.outcome).to.deep.include({ kind: "retry" });
      expect(fake.sendRequests).to.have.length(0);
      expect(await balanceOf(database.db, tenant)).to.equal("100.00");
    } finally {
      await database.db.query("RENAME TABLE reservations_away TO reservations");
    }
  });

  it("npm run trace shows a recipient's jobs with status, reason and ids; clear messages otherwise", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    await seedReservation(database.db, tenant * 10, tenant, "CANCELLED");
    const to = "010-7777-8888";
    await sendBodies(sqs.client, queues.queueUrl, [
      { ...job("trace-sent", tenant), to, event_type: "clinic_reminder" },
      { ...job("trace-skipped", tenant, { reservation_id: tenant * 10 }), to },
    ]);
    const worker = await start();
    await worker.waitForReports(2);
    const trace = runCli(["trace", "--to", "01077778888", "--tenant", String(tenant)], { PATH: process.env.PATH, DATABASE_URL: database.url });
    expect((await trace.exited).code).to.equal(0);
    const output = trace.stdout.join("\n");
    expect(output).to.contain("2 jobs for 010****8888");
    expect(output).to.contain("SENT");
    expect(output).to.contain("SKIPPED_CANCELLED");
    expect(output).to.contain("clinic_reminder");
    expect(output).to.contain(fake.acceptedFor("trace-sent")[0]!.messageId);

    const nothing = runCli(["trace", "--to", "010-0000-0000"], { PATH: process.env.PATH, DATABASE_URL: database.url });
    expect((await nothing.exited).code).to.equal(0);
    expect(nothing.stdout.join("\n")).to.match(/^no jobs for 010\*\*\*\*0000 since /);

    const noDatabase = runCli(["trace", "--to", "01077778888"], { PATH: process.env.PATH });
    expect((await noDatabase.exited).code).to.equal(2);
    expect(noDatabase.stderr.join("")).to.contain("trace needs DATABASE_URL");
  });

  it("never logs the database password, even when the database refuses it", async () => {
    const url = new URL(database.url);
    url.username = "nobody";
    url.password = "Db-Passw0rd-never-logged";
    const worker = runCli(["worker"], workerEnv(fake, sqs.endpoint, queues.queueUrl, { DATABASE_URL: url.href }));
    const timer = setTimeout(() => worker.child.kill("SIGKILL"), 20_000);
    const { code } = await worker.exited;
    clearTimeout(timer);
    expect(code).to.equal(1);
    const everything = worker.stdout.join("\n") + worker.stderr.join("");
    expect(everything).to.contain("worker could not start");
    expect(everything).not.to.contain("Db-Passw0rd-never-logged");
  });
});

/**
 * Delivery results through the whole worker: SQS, MariaDB and the real solapi SDK against the fake
 * Solapi, with MESSAGING_DELIVERY_CHECK_SECONDS as a user sets it.
 */
import { expect } from "chai";
import type { RowDataPacket } from "mysql2/promise";
import { balanceOf, seedTenant, startTestDatabase, type TestDatabase } from "../support/database";
import type { DeliveryReport, FakeSolapi } from "../support/fake-solapi";
import { tenantIds } from "../support/jobs";
import { sendBodies, sendBody, type TestQueues, type TestSqs, useQueueServices } from "../support/sqs";
import { startTestWorker, type TestWorker, waitFor } from "../support/worker";

const nextTenant = tenantIds(7000);

const job = (key: string, tenantId: number, extra: Record<string, unknown> = {}) => ({
  tenant_id: tenantId,
  to: "010-3333-4444",
  text: `보강 안내 ${key}`,
  business_idempotency_key: key,
  ...extra,
});

describe("delivery results in the worker (SQS, MySQL, fake Solapi)", function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let sqs: TestSqs;
  let fake: FakeSolapi;
  let queues: TestQueues;
  const reports = new Map<string, DeliveryReport>();
  const workers: TestWorker[] = [];

  before(async function () {
    database = await startTestDatabase(this);
  });
  after(async () => {
    await database?.close();
  });
  useQueueServices((services) => ({ sqs, fake, queues } = services));
  beforeEach(() => {
    reports.clear();
    fake.report = (message) => reports.get(message.jobKey ?? "") ?? { statusCode: "4000" };
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    // Rows of one test must not fall due in the next.
    await database.db.query(
      "UPDATE message_log SET delivery_check_at = NULL, delivery_checks = delivery_checks + 1000 WHERE status = 'SENT'",
    );
  });

  async function start(env: Record<string, string>): Promise<TestWorker> {
    const worker = await startTestWorker(fake, sqs, queues, { DATABASE_URL: database.url, ...env });
    workers.push(worker);
    return worker;
  }

  async function deliveryOf(key: string): Promise<RowDataPacket> {
    const [rows] = await database.db.query<RowDataPacket[]>(
      "SELECT status, channel, amount_charged, delivery_status, delivery_code, delivery_channel, delivery_lease_owner FROM message_log WHERE idempotency_key = ?",
      [key],
    );
    return rows[0]!;
  }

  it("looks every sent message up after MESSAGING_DELIVERY_CHECK_SECONDS: delivered, undelivered and refunded, replaced by a substitute", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00", sms: "10.00", lms: "30.00", alimtalk: "8.00" });
    reports.set("w-undelivered", { statusCode: "3043" });
    reports.set("w-substitute", { statusCode: "4000", substitute: "SMS" });
    await sendBodies(sqs.client, queues.queueUrl, [
      job("w-delivered", tenant),
      job("w-undelivered", tenant),
      job("w-substitute", tenant, { message_mode: "both" }),
    ]);
    const worker = await start({ MESSAGING_DELIVERY_CHECK_SECONDS: "1" });
    await worker.waitForReports(3);
    expect(await balanceOf(database.db, tenant)).to.equal("72.00");
    const keys = ["w-delivered", "w-undelivered", "w-substitute"];
    const deadline = Date.now() + 15_000;
    while ((await Promise.all(keys.map(deliveryOf))).some((row) => row.delivery_status === null)) {
      if (Date.now() > deadline) throw new Error("delivery results were not recorded within 15 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await deliveryOf("w-delivered")).to.include({
      delivery_status: "DELIVERED",
      delivery_code: "4000",
      delivery_channel: "sms",
      amount_charged: "10.00",
    });
    expect(await deliveryOf("w-undelivered")).to.include({ delivery_status: "UNDELIVERED", delivery_code: "3043", amount_charged: "0.00" });
    expect(await deliveryOf("w-substitute")).to.include({
      channel: "alimtalk",
      delivery_status: "DELIVERED",
      delivery_channel: "sms",
      amount_charged: "10.00",
    });
    // 100 − (10 + 10 + 8) + 10 refunded − 2 more for the substitute SMS.
    expect(await balanceOf(database.db, tenant)).to.equal("80.00");
    expect(worker.logLines().find((line) => line.message === "message undelivered")).to.include({
      job: "w-undelivered",
      tenant_id: tenant,
      delivery_code: "3043",
      meaning: "handset switched off",
    });
    expect(fake.listRequests.length, "one list request per round, not per message").to.be.at.most(2);
  });

  it("MESSAGING_DELIVERY_CHECK_SECONDS=0 looks nothing up", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    await sendBody(sqs.client, queues.queueUrl, job("w-unchecked", tenant));
    const worker = await start({ MESSAGING_DELIVERY_CHECK_SECONDS: "0" });
    await worker.waitForReports(1);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(fake.listRequests).to.have.length(0);
    expect(await deliveryOf("w-unchecked")).to.include({ status: "SENT", delivery_status: null });
    expect(worker.logLines().find((line) => line.message === "worker polling")).to.include({ delivery_checks: "off" });
  });

  it("stopping does not wait for a delivery check in flight; the check's lease is left to lapse", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    fake.listFault = "hang";
    await sendBody(sqs.client, queues.queueUrl, job("w-hung-check", tenant));
    const worker = await start({ MESSAGING_DELIVERY_CHECK_SECONDS: "1" });
    await worker.waitForReports(1);
    await waitFor(() => fake.listRequests.length > 0, 10_000, "a delivery check in flight");
    const stoppedAt = Date.now();
    await workers.pop()!.stop();
    // Solapi's deadline here is 2 s: waiting for the check would take that long.
    expect(Date.now() - stoppedAt).to.be.below(1_000);
    const row = await deliveryOf("w-hung-check");
    expect(row).to.include({ delivery_status: null });
    expect(row.delivery_lease_owner).to.be.a("string");
  });
});

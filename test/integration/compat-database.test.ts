/**
 * Drop-in compatibility with the database (DATABASE_URL): tenants as the Django side creates them,
 * and the Python producer's bodies, recorded in the send log.
 */
import { expect } from "chai";
import { UNREACHABLE_RECIPIENT } from "../../worker/src/job";
import { SENDER } from "../support/config";
import { balanceOf, logRow, seedTenant, startTestDatabase, type TestDatabase } from "../support/database";
import { type FakeSolapi, startFakeSolapi } from "../support/fake-solapi";
import { tenantIds } from "../support/jobs";
import { receiveAll, sendBody, startTestSqs, type TestQueues, type TestSqs } from "../support/sqs";
import { startTestWorker, type TestWorker } from "../support/worker";

const CREATED_AT = "2026-11-30T06:12:45.123456+00:00";
const nextTenant = tenantIds(700);

describe("compatibility with the database: Django's tenants, the Python producer's bodies", function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let sqs: TestSqs;
  let fake: FakeSolapi;
  let queues: TestQueues;
  let worker: TestWorker | undefined;

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
  async function stopWorker(): Promise<void> {
    await worker?.stop();
    worker = undefined;
  }
  afterEach(async () => {
    await stopWorker();
    await fake.close();
  });

  async function deliver(body: Record<string, unknown>): Promise<string> {
    const key = await sendBody(sqs.client, queues.queueUrl, body);
    worker = await startTestWorker(fake, sqs, queues, { DATABASE_URL: database.url });
    await worker.waitForReports(1, (report) => report.key === key);
    return key;
  }

  it("a landline `to`: message_log FAILED with the reason, nothing sent, nothing charged", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    const key = await deliver({
      tenant_id: tenant,
      to: "02-123-4567",
      text: "[한빛학원] 출석 알림",
      sender: null,
      created_at: CREATED_AT,
      message_mode: "sms",
    });
    expect(await logRow(database.db, key)).to.include({
      status: "FAILED",
      failure_reason: UNREACHABLE_RECIPIENT,
      amount_charged: "0.00",
      tenant_id: tenant,
    });
    expect(await balanceOf(database.db, tenant)).to.equal("100.00");
    expect(fake.sendRequests).to.deep.equal([]);
    await stopWorker();
    expect(await receiveAll(sqs.client, queues.queueUrl)).to.deep.equal([]);
    expect(await receiveAll(sqs.client, queues.deadLetterQueueUrl)).to.deep.equal([]);
  });

  it("a tenant whose sender and Kakao channel are empty strings: SOLAPI_SENDER and SOLAPI_KAKAO_PF_ID are used", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00", sender: "", pfId: "" });
    const key = await deliver({
      tenant_id: String(tenant),
      to: "010-1234-5678",
      text: "[한빛학원] 12/1(화) 오후 3:00 수학 클리닉",
      sender: null,
      created_at: CREATED_AT,
      message_mode: "both",
      use_alimtalk_first: true,
      alimtalk_replacements: [{ key: "name", value: "홍길동" }],
    });
    const [message] = fake.acceptedFor(key);
    expect(message).to.deep.include({ from: SENDER, type: "ATA" });
    expect(message!.kakaoOptions).to.deep.include({ pfId: "KA01PF-TEST", disableSms: false });
    expect(await logRow(database.db, key)).to.include({ status: "SENT", channel: "alimtalk", amount_charged: "8.00", tenant_id: tenant });
    expect(await balanceOf(database.db, tenant)).to.equal("92.00");
  });

  it("a tenant's own sender and channel, when set, still come first", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00", sender: "0311234567", pfId: "KA01PF-ACADEMY" });
    const key = await deliver({
      tenant_id: tenant,
      to: "010-1234-5678",
      text: "안내",
      sender: null,
      created_at: CREATED_AT,
      message_mode: "both",
      use_alimtalk_first: true,
    });
    const [message] = fake.acceptedFor(key);
    expect(message).to.deep.include({ from: "0311234567" });
    expect(message!.kakaoOptions).to.deep.include({ pfId: "KA01PF-ACADEMY" });
  });
});

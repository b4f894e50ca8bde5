/**
 * `npm run trace` with delivery results, run as a user runs it (the built CLI): each sent message's
 * status and code with its meaning, and `--refresh` asking Solapi now and recording the answers.
 */
import { expect } from "chai";
import type { RowDataPacket } from "mysql2/promise";
import { RECIPIENT_HASH_SECRET, workerEnv } from "../support/config";
import { balanceOf, seedTenant, startTestDatabase, type TestDatabase } from "../support/database";
import { type DeliveryReport, type FakeSolapi, startFakeSolapi } from "../support/fake-solapi";
import { runCli } from "../support/process";
import { sendBodies, startTestSqs, type TestQueues, type TestSqs } from "../support/sqs";
import { startTestWorker } from "../support/worker";

const PHONE = "010-7777-8888";

describe("npm run trace: delivery results and --refresh", function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let sqs: TestSqs;
  let fake: FakeSolapi;
  let queues: TestQueues;
  const reports = new Map<string, DeliveryReport>([["t-undelivered", { statusCode: "3104" }]]);

  before(async function () {
    database = await startTestDatabase(this);
    sqs = await startTestSqs();
    fake = await startFakeSolapi({ report: (message) => reports.get(message.jobKey ?? "") ?? { statusCode: "4000" } });
    queues = await sqs.createQueues();
  });
  after(async () => {
    await fake?.close();
    await sqs?.close();
    await database?.close();
  });

  async function trace(...extra: string[]): Promise<string> {
    const command = runCli(
      ["trace", "--to", PHONE, ...extra],
      workerEnv(fake, sqs.endpoint, queues.queueUrl, { DATABASE_URL: database.url }),
    );
    const { code } = await command.exited;
    expect(code, command.stderr.join("")).to.equal(0);
    // The table wraps long cells: read it as words.
    return command.stdout
      .join("\n")
      .replace(/[│┌┐└┘├┤┬┴┼─]/g, " ")
      .replace(/\s+/g, " ");
  }

  it("shows where each sent message's check stands, and --refresh asks Solapi and records the answers", async () => {
    await seedTenant(database.db, { id: 31, credit: "100.00", sms: "10.00", alimtalk: "8.00" });
    await sendBodies(sqs.client, queues.queueUrl, [
      { tenant_id: 31, to: PHONE, text: "출석 알림", business_idempotency_key: "t-delivered" },
      { tenant_id: 31, to: PHONE, text: "보강 안내", message_mode: "alimtalk", business_idempotency_key: "t-undelivered" },
    ]);
    // Checks an hour after acceptance: nothing is looked up while the test runs, until --refresh.
    const worker = await startTestWorker(fake, sqs, queues, { DATABASE_URL: database.url, MESSAGING_DELIVERY_CHECK_SECONDS: "3600" });
    await worker.waitForReports(2);
    await worker.stop();
    expect(await balanceOf(database.db, 31)).to.equal("82.00");

    const before = await trace();
    expect(before.match(/not looked up yet/g)).to.have.length(2);
    expect(fake.listRequests).to.have.length(0);

    const refreshed = await trace("--refresh");
    expect(refreshed).to.contain("refresh: asked Solapi about 2 messages: 1 delivered, 1 undelivered (refunded), 0 still without a result");
    expect(refreshed).to.contain("DELIVERED 4000 delivered");
    expect(refreshed).to.contain("UNDELIVERED 3104 not a KakaoTalk user");
    expect(fake.listRequests).to.have.length(1);
    const [rows] = await database.db.query<RowDataPacket[]>(
      "SELECT idempotency_key, delivery_status, delivery_code, amount_charged FROM message_log ORDER BY idempotency_key",
    );
    expect(rows.map((row) => ({ ...row }))).to.deep.equal([
      { idempotency_key: "t-delivered", delivery_status: "DELIVERED", delivery_code: "4000", amount_charged: "10.00" },
      { idempotency_key: "t-undelivered", delivery_status: "UNDELIVERED", delivery_code: "3104", amount_charged: "0.00" },
    ]);
    expect(await balanceOf(database.db, 31)).to.equal("90.00");

    const again = await trace("--refresh");
    expect(again).to.contain("refresh: every sent message already has its result");
    expect(fake.listRequests).to.have.length(1);
    expect(await balanceOf(database.db, 31)).to.equal("90.00");
  });

  it("--refresh without Solapi settings says what is missing, exit 1", async () => {
    await database.db.query("UPDATE message_log SET delivery_status = NULL, delivery_code = NULL WHERE idempotency_key = 't-delivered'");
    const command = runCli(["trace", "--to", PHONE, "--refresh"], {
      PATH: process.env.PATH,
      DATABASE_URL: database.url,
      MESSAGING_RECIPIENT_HASH_SECRET: RECIPIENT_HASH_SECRET,
    });
    const { code } = await command.exited;
    expect(code).to.equal(1);
    expect(command.stderr.join("")).to.contain(
      "--refresh needs the worker's Solapi settings: Invalid configuration: SOLAPI_API_KEY is required",
    );
  });
});

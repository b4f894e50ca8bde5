/**
 * Academies share the worker and never touch each other's messages, keys, senders or credits; a job
 * keeps its identity through the DLQ; the schema upgrade keeps every row. The worker with
 * DATABASE_URL, against MariaDB, the SQS emulator and the real solapi SDK on the fake Solapi server.
 */
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import type { RowDataPacket } from "mysql2/promise";
import { migrate } from "../../worker/src/store/migrate";
import { initial } from "../../worker/src/store/migrations/001-initial";
import type { Db } from "../../worker/src/store/pool";
import { balanceOf, MYSQL8_SQL_MODE, scratchDatabase, seedTenant } from "../support/database";
import { tenantIds } from "../support/jobs";
import { receiveAll, sendBodies, sendBody } from "../support/sqs";
import { useWorkerSuite } from "../support/worker-suite";

const nextTenant = tenantIds(500);

const job = (tenantId: number, key: string | undefined, extra: Record<string, unknown> = {}) => ({
  tenant_id: tenantId,
  to: "010-3456-7890",
  text: `안내 ${key ?? "no key"}`,
  ...(key === undefined ? {} : { business_idempotency_key: key }),
  ...extra,
});

async function rowOf(db: Db, tenantId: number, key: string): Promise<Record<string, unknown> | undefined> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT * FROM message_log WHERE tenant_id = ? AND idempotency_key = ?", [tenantId, key]);
  return rows[0];
}

async function rowsOf(db: Db, tenantId: number): Promise<Record<string, unknown>[]> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT * FROM message_log WHERE tenant_id = ? ORDER BY id", [tenantId]);
  return rows;
}

describe("tenants isolated: keys, senders, credits; identity through the DLQ (MySQL)", function () {
  this.timeout(90_000);
  const suite = useWorkerSuite();
  const { start } = suite;

  it("three academies' own reminder-7 (one as REMINDER-7) are three jobs: each sent once, each charged to its academy", async () => {
    const academies = [nextTenant(), nextTenant(), nextTenant()];
    for (const id of academies) await seedTenant(suite.database.db, { id, credit: "100.00" });
    await sendBodies(suite.sqs.client, suite.queues.queueUrl, [
      job(academies[0]!, "reminder-7"),
      job(academies[1]!, "reminder-7"),
      job(academies[2]!, "REMINDER-7"),
      job(academies[2]!, "reminder-7"),
    ]);
    const worker = await start();
    const reports = await worker.waitForReports(4);
    expect(reports.map((report) => report.outcome.kind)).to.deep.equal(["sent", "sent", "sent", "sent"]);
    expect(suite.fake.accepted.filter((message) => String(message.jobKey).toLowerCase() === "reminder-7")).to.have.length(4);
    expect(await balanceOf(suite.database.db, academies[0]!)).to.equal("90.00");
    expect(await balanceOf(suite.database.db, academies[1]!)).to.equal("90.00");
    expect(await balanceOf(suite.database.db, academies[2]!)).to.equal("80.00");
    expect(await rowOf(suite.database.db, academies[2]!, "REMINDER-7")).to.include({ status: "SENT", tenant_id: academies[2] });
    expect(await rowOf(suite.database.db, academies[2]!, "reminder-7")).to.include({ status: "SENT", tenant_id: academies[2] });
  });

  it("a job naming another academy's sender or Kakao channel is FAILED with the reason: nothing sent, nothing charged", async () => {
    const mine = nextTenant();
    const theirs = nextTenant();
    await seedTenant(suite.database.db, { id: mine, credit: "100.00", sender: "031-111-2222", pfId: "KA01PF-MINE" });
    await seedTenant(suite.database.db, { id: theirs, credit: "100.00", sender: "0299998888", pfId: "KA01PF-THEIRS" });
    await suite.database.db.query("INSERT INTO tenant_senders (tenant_id, sender) VALUES (?, ?)", [mine, "0313334444"]);
    await sendBodies(suite.sqs.client, suite.queues.queueUrl, [
      job(mine, "borrowed-sender", { sender: "02-9999-8888" }),
      job(mine, "borrowed-channel", { message_mode: "alimtalk", pf_id: "KA01PF-THEIRS" }),
      job(mine, "own-sender", { sender: "0311112222" }),
      job(mine, "allow-listed-sender", { sender: "031-333-4444" }),
      job(mine, "own-channel", { message_mode: "alimtalk", pf_id: "KA01PF-MINE" }),
    ]);
    const worker = await start();
    await worker.waitForReports(5);
    expect(await rowOf(suite.database.db, mine, "borrowed-sender")).to.include({ status: "FAILED", amount_charged: "0.00" });
    expect(String((await rowOf(suite.database.db, mine, "borrowed-sender"))!.failure_reason)).to.contain(
      `sender 0299998888 is not a sender number of tenant ${mine}`,
    );
    expect(await rowOf(suite.database.db, mine, "borrowed-channel")).to.include({ status: "FAILED", amount_charged: "0.00" });
    expect(String((await rowOf(suite.database.db, mine, "borrowed-channel"))!.failure_reason)).to.contain(
      "Kakao channel KA01PF-THEIRS is not a channel of tenant",
    );
    expect(suite.fake.acceptedFor("borrowed-sender")).to.have.length(0);
    expect(suite.fake.acceptedFor("borrowed-channel")).to.have.length(0);
    expect(suite.fake.acceptedFor("own-sender")[0]!.from).to.equal("0311112222");
    expect(suite.fake.acceptedFor("allow-listed-sender")[0]!.from).to.equal("0313334444");
    expect(suite.fake.acceptedFor("own-channel")[0]!.kakaoOptions).to.include({ pfId: "KA01PF-MINE" });
    expect(await balanceOf(suite.database.db, mine)).to.equal("72.00");
    expect(await balanceOf(suite.database.db, theirs)).to.equal("100.00");
  });

  it("a job without a business key keeps its identity through the DLQ: redriven, it is found in Solapi, not sent again", async () => {
    suite.queues = await suite.sqs.createQueues({ maxReceiveCount: 3 });
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    // Solapi takes the message but the answer is lost, and its message list cannot be read: UNKNOWN.
    suite.fake.next({ kind: "drop-after-accept" });
    suite.fake.listStatus = 500;
    await sendBody(suite.sqs.client, suite.queues.queueUrl, job(tenant, undefined));
    const worker = await start();
    const [dead] = await worker.waitForReports(1, (report) => report.action.action === "dead-letter", 45_000);
    const key = dead!.key;
    expect(await rowOf(suite.database.db, tenant, key)).to.include({ status: "UNKNOWN", amount_charged: "10.00" });
    const [copy] = await receiveAll(suite.sqs.client, suite.queues.deadLetterQueueUrl);
    expect(copy!.MessageAttributes!.job_key!.StringValue).to.equal(key);
    expect(copy!.MessageAttributes!.tenant_id!.StringValue).to.equal(String(tenant));

    // The operator redrives it (docs/operations.md) once Solapi answers again: a new SQS message, the same job.
    suite.fake.listStatus = undefined;
    await suite.sqs.client.send(
      new SendMessageCommand({ QueueUrl: suite.queues.queueUrl, MessageBody: copy!.Body!, MessageAttributes: copy!.MessageAttributes }),
    );
    const [redriven] = await worker.waitForReports(1, (report) => report.key === key && report.outcome.kind === "sent", 30_000);
    expect(redriven!.sqsMessageId).to.not.equal(dead!.sqsMessageId);
    expect(redriven!.outcome).to.deep.include({ recovered: true });
    expect(suite.fake.accepted).to.have.length(1);
    expect(await rowsOf(suite.database.db, tenant)).to.have.length(1);
    expect(await rowOf(suite.database.db, tenant, key)).to.include({ status: "SENT", amount_charged: "10.00" });
    expect(await balanceOf(suite.database.db, tenant)).to.equal("90.00");
  });

  it("a body whose key is longer than the send log holds goes to the DLQ naming the field: no crash, no loop", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    await sendBodies(suite.sqs.client, suite.queues.queueUrl, [job(tenant, "k".repeat(300)), job(tenant, "fine")]);
    const worker = await start();
    const reports = await worker.waitForReports(2);
    expect(reports.find((report) => report.outcome.kind === "poison")!.action).to.deep.include({ action: "dead-letter" });
    const [dead] = await receiveAll(suite.sqs.client, suite.queues.deadLetterQueueUrl);
    expect(dead!.MessageAttributes!.error!.StringValue).to.contain("business_idempotency_key: must be at most 255 characters");
    expect(suite.fake.acceptedFor("fine")).to.have.length(1);
    expect(await receiveAll(suite.sqs.client, suite.queues.queueUrl)).to.have.length(0);
  });

  it("the schema upgrade keeps every row of the old shape, merges none, and lets tenants share keys afterwards", async () => {
    const old = await scratchDatabase("academy_upgrade", { connectionLimit: 4, sqlMode: MYSQL8_SQL_MODE });
    try {
      for (const statement of initial.statements!) await old.db.query(statement);
      await old.db.query(
        "CREATE TABLE schema_migrations (version INT NOT NULL, name VARCHAR(200) NOT NULL, applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), PRIMARY KEY (version))",
      );
      await old.db.query("INSERT INTO schema_migrations (version, name) VALUES (1, ?)", [initial.name]);
      const oldRows = [
        [1, "reminder-7", "SENT"],
        [2, "Reminder-8", "FAILED"],
        [2, "attendance-9", "CLAIMED"],
        [3, "x".repeat(255), "UNKNOWN"],
      ] as const;
      for (const [tenantId, key, status] of oldRows) {
        await old.db.query(
          "INSERT INTO message_log (idempotency_key, tenant_id, status, mode, recipient, recipient_hash, amount_charged) VALUES (?, ?, ?, 'sms', '010****5678', ?, '10.00')",
          [key, tenantId, status, "0".repeat(64)],
        );
      }

      await migrate(old.db);
      const [rows] = await old.db.query<RowDataPacket[]>(
        "SELECT tenant_id, idempotency_key, status, amount_charged FROM message_log ORDER BY id",
      );
      expect(rows.map((row) => [Number(row.tenant_id), row.idempotency_key, row.status])).to.deep.equal(oldRows.map((row) => [...row]));
      expect(rows.every((row) => row.amount_charged === "10.00")).to.equal(true);

      // Now the same key in another tenant, and a key differing only in case, are rows of their own.
      await old.db.query(
        "INSERT INTO message_log (idempotency_key, tenant_id, status, mode, recipient, recipient_hash) VALUES ('reminder-7', 2, 'CLAIMED', 'sms', 'r', 'h'), ('REMINDER-7', 1, 'CLAIMED', 'sms', 'r', 'h')",
      );
      const duplicate = await old.db
        .query(
          "INSERT INTO message_log (idempotency_key, tenant_id, status, mode, recipient, recipient_hash) VALUES ('reminder-7', 1, 'CLAIMED', 'sms', 'r', 'h')",
        )
        .then(
          () => "inserted",
          (error: Error) => error.message,
        );
      expect(duplicate).to.match(/Duplicate entry/);
      expect(await migrate(old.db), "a second run changes nothing").to.deep.equal([]);
    } finally {
      await old.close();
    }
  });
});

/**
 * Privacy against a real MySQL-compatible server: keyed recipient digests and masked reasons in the
 * send log, what `trace` shows, and the rewrite of older rows' unkeyed digests (`db:rehash`).
 */
import { expect } from "chai";
import type { RowDataPacket } from "mysql2/promise";
import { maskPhone } from "../../worker/src/log";
import { LATEST_SCHEMA_VERSION, migrate, schemaVersion } from "../../worker/src/store/migrate";
import { MIGRATIONS } from "../../worker/src/store/migrations";
import { legacyRecipientHash, recipientHasher } from "../../worker/src/store/recipient";
import { readRehashProgress, rehashRecipients } from "../../worker/src/store/rehash";
import { commandEnv, RECIPIENT_HASH_SECRET } from "../support/config";
import {
  logRow,
  MYSQL8_SQL_MODE,
  NoDatabaseError,
  scratchDatabase,
  seedTenant,
  startTestDatabase,
  type TestDatabase,
} from "../support/database";
import { startFakeSolapi } from "../support/fake-solapi";
import { runToEnd } from "../support/process";
import { sendBodies, startTestSqs } from "../support/sqs";
import { startTestWorker } from "../support/worker";

const hash = recipientHasher(RECIPIENT_HASH_SECRET);

describe("privacy: the send log", function () {
  this.timeout(120_000);
  let database: TestDatabase;

  before(async function () {
    database = await startTestDatabase(this);
  });
  after(async () => {
    await database?.close();
  });

  it("the send log keeps a keyed digest, a masked failure_reason; trace finds the number and prints no number and no escape", async () => {
    const sqs = await startTestSqs();
    const fake = await startFakeSolapi();
    const tenant = 901;
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    // Solapi's refusals can quote the number, in a form of their own.
    fake.refuse = (message) =>
      message.customFields?.jobKey?.includes("refused")
        ? {
            statusCode: "1062",
            statusMessage: `수신번호 +82 ${message.to.slice(1, 3)}-${message.to.slice(3, 7)}-${message.to.slice(7)} 수신거부`,
          }
        : undefined;
    try {
      const queues = await sqs.createQueues();
      await sendBodies(sqs.client, queues.queueUrl, [
        {
          tenant_id: tenant,
          to: "010-7777-8888",
          text: "안내",
          business_idempotency_key: "privacy-sent",
          event_type: "clinic\u001b[2J\u001b[31m_reminder",
        },
        { tenant_id: tenant, to: "+82 10 7777 8888", text: "안내", business_idempotency_key: "privacy-refused" },
      ]);
      const worker = await startTestWorker(fake, sqs, queues, { DATABASE_URL: database.url });
      await worker.waitForReports(2);
      await worker.stop();

      const sent = await logRow(database.db, "privacy-sent");
      expect(sent).to.include({ recipient: "010****8888", recipient_hash: hash("01077778888") });
      const refused = await logRow(database.db, "privacy-refused");
      expect(refused).to.include({ status: "FAILED", recipient_hash: hash("01077778888") });
      expect(refused!.failure_reason).to.equal("Solapi refused the sms message: 1062 수신번호 010****8888 수신거부");

      const trace = await runToEnd(["trace", "--to", "010-7777-8888", "--tenant", String(tenant)], commandEnv(database.url));
      expect(trace.code, trace.stderr).to.equal(0);
      expect(trace.stdout).to.contain("2 jobs for 010****8888");
      expect(trace.stdout).to.contain("010****8888 수신거부");
      expect(trace.stdout).to.contain("[2J[31m_reminder");
      expect(trace.stdout).not.to.contain("\u001b");
      expect(trace.stdout).not.to.match(/7777.?8888/);

      const withoutKey = await runToEnd(
        ["trace", "--to", "01077778888"],
        commandEnv(database.url, { MESSAGING_RECIPIENT_HASH_SECRET: "" }),
      );
      expect(withoutKey.code).to.equal(2);
      expect(withoutKey.stderr).to.contain("trace needs MESSAGING_RECIPIENT_HASH_SECRET");
      // Another key finds nothing: the digest is of no use without it.
      const otherKey = await runToEnd(
        ["trace", "--to", "01077778888"],
        commandEnv(database.url, { MESSAGING_RECIPIENT_HASH_SECRET: "another-recipient-key-0123456789" }),
      );
      expect(otherKey.stdout).to.match(/^no jobs for 010\*\*\*\*8888/);
    } finally {
      await fake.close();
      await sqs.close();
    }
  });
});

describe("privacy: rows written before the keyed digest (migration 3, db:rehash)", function () {
  this.timeout(120_000);
  let old: TestDatabase;

  before(async function () {
    try {
      old = await scratchDatabase("academy_rehash", { connectionLimit: 4, sqlMode: MYSQL8_SQL_MODE });
    } catch (error) {
      if (error instanceof NoDatabaseError && process.env.CI !== "true") this.skip();
      throw error;
    }
    // The schema of version 1, and rows as the worker wrote them then: SHA-256 of the number, no key.
    for (const statement of MIGRATIONS.find((migration) => migration.version === 1)!.statements!) await old.db.query(statement);
  });
  after(async () => {
    await old?.close();
  });

  const numbers = ["01011112222", "01011112222", "0113334444", "01955556666", "01011112222", "01077778888", "01600001111"];

  it("upgrades in place after migrating: resumable, row times kept, trace finding every row before and after", async () => {
    const rows = numbers.map((number, index) => [
      `old-${index}`,
      1,
      index % 2 ? "FAILED" : "SENT",
      "sms",
      maskPhone(number),
      legacyRecipientHash(number),
    ]);
    await old.db.query("INSERT INTO message_log (idempotency_key, tenant_id, status, mode, recipient, recipient_hash) VALUES ?", [rows]);
    await old.db.query("UPDATE message_log SET created_at = NOW(3) - INTERVAL 1 DAY, updated_at = '2026-01-02 03:04:05.678'");

    const migrated = await runToEnd(["migrate"], { PATH: process.env.PATH, DATABASE_URL: old.url });
    expect(migrated.code, migrated.stderr).to.equal(0);
    expect(await schemaVersion(old.db)).to.equal(LATEST_SCHEMA_VERSION);
    expect(await migrate(old.db)).to.deep.equal([]);

    // Meanwhile: a new worker's row (keyed), and trace finds old and new alike.
    await old.db.query(
      "INSERT INTO message_log (idempotency_key, tenant_id, status, mode, recipient, recipient_hash) VALUES ('new-0', 1, 'SENT', 'sms', '010****2222', ?)",
      [hash("01011112222")],
    );
    const before = await runToEnd(["trace", "--to", "010-1111-2222"], commandEnv(old.url));
    expect(before.stdout).to.contain("4 jobs for 010****2222");

    // Interrupted after its first batch: that batch and the progress past it are kept.
    let batches = 0;
    const interrupted = rehashRecipients(old.db, hash, {
      batchSize: 3,
      onBatch: () => {
        batches += 1;
        throw new Error("interrupted");
      },
    });
    await interrupted.then(
      () => expect.fail("should have been interrupted"),
      (error: Error) => expect(error.message).to.equal("interrupted"),
    );
    expect(batches).to.equal(1);
    expect(await readRehashProgress(old.db)).to.deep.include({ rowsRehashed: 3 });

    const rehash = await runToEnd(["rehash"], commandEnv(old.url));
    expect(rehash.code, rehash.stderr).to.equal(0);
    expect(rehash.stdout).to.match(/^examined 5 rows in [\d.]+ s: 4 unkeyed digests rewritten as keyed ones/);

    const [after] = await old.db.query<RowDataPacket[]>(
      "SELECT idempotency_key, recipient_hash, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') AS updated FROM message_log ORDER BY id",
    );
    for (const row of after) {
      const index = Number(String(row.idempotency_key).split("-")[1]);
      const number = row.idempotency_key === "new-0" ? "01011112222" : numbers[index]!;
      expect(row.recipient_hash, String(row.idempotency_key)).to.equal(hash(number));
      if (row.idempotency_key !== "new-0") expect(row.updated).to.equal("2026-01-02 03:04:05.678000");
    }
    const [stillUnkeyed] = await old.db.query<RowDataPacket[]>("SELECT COUNT(*) AS found FROM message_log WHERE recipient_hash IN (?)", [
      numbers.map(legacyRecipientHash),
    ]);
    expect(Number(stillUnkeyed[0]!.found)).to.equal(0);

    const afterTrace = await runToEnd(["trace", "--to", "010-1111-2222"], commandEnv(old.url));
    expect(afterTrace.stdout).to.contain("4 jobs for 010****2222");
    const again = await runToEnd(["rehash"], commandEnv(old.url));
    expect(again.stdout).to.match(/^nothing to rehash: every row up to id \d+ was examined \(7 rehashed in all\)/);
    const withoutKey = await runToEnd(["rehash"], { PATH: process.env.PATH, DATABASE_URL: old.url });
    expect(withoutKey.code).to.equal(2);
  });
});

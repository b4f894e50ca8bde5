/**
 * Privacy against a real MySQL-compatible server: TLS asked for is TLS or a clear failure, keyed
 * recipient digests (and the rewrite of older rows), and what the send log and `trace` show.
 */
import { expect } from "chai";
import type { RowDataPacket } from "mysql2/promise";
import { maskPhone } from "../../worker/src/log";
import { LATEST_SCHEMA_VERSION, migrate, schemaVersion } from "../../worker/src/store/migrate";
import { MIGRATIONS } from "../../worker/src/store/migrations";
import { createDatabase } from "../../worker/src/store/pool";
import { legacyRecipientHash, recipientHasher } from "../../worker/src/store/recipient";
import { readRehashProgress, rehashRecipients } from "../../worker/src/store/rehash";
import { RECIPIENT_HASH_SECRET, workerEnv } from "../support/config";
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
import { runCli } from "../support/process";
import { sendBodies, startTestSqs } from "../support/sqs";
import { startTlsMysqlProxy, TEST_CA_FILE, type TlsMysqlProxy } from "../support/tls-mysql-proxy";
import { startTestWorker } from "../support/worker";

const hash = recipientHasher(RECIPIENT_HASH_SECRET);
const commandEnv = (url: string, extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH,
  DATABASE_URL: url,
  MESSAGING_RECIPIENT_HASH_SECRET: RECIPIENT_HASH_SECRET,
  ...extra,
});

async function runToEnd(args: string[], env: NodeJS.ProcessEnv) {
  const command = runCli(args, env);
  const { code } = await command.exited;
  return { code, stdout: command.stdout.join("\n"), stderr: command.stderr.join("") };
}

function withQuery(url: string, query: string): string {
  const parsed = new URL(url);
  parsed.search = query;
  return parsed.href;
}

describe("privacy: the database", function () {
  this.timeout(120_000);
  let database: TestDatabase;

  before(async function () {
    database = await startTestDatabase(this);
  });
  after(async () => {
    await database?.close();
  });

  it("TLS asked for in DATABASE_URL is TLS, or a clear failure: never plain text", async () => {
    const [variables] = await database.db.query<RowDataPacket[]>("SHOW VARIABLES LIKE 'have_ssl'");
    const serverHasTls = String(variables[0]?.Value ?? "").toUpperCase() === "YES";
    const required = withQuery(database.url, "ssl-mode=REQUIRED");
    if (serverHasTls) {
      const tls = createDatabase(required, { connectionLimit: 1 });
      try {
        const [status] = await tls.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
        expect(String(status[0]?.Value ?? "")).not.to.equal("");
      } finally {
        await tls.end();
      }
      return;
    }
    // This server offers no TLS (have_ssl DISABLED): the command and the worker both stop and say why.
    const migrateOverTls = await runToEnd(["migrate"], commandEnv(required));
    expect(migrateOverTls.code).to.equal(1);
    expect(migrateOverTls.stderr).to.equal("migration failed: Server does not support secure connection\n");

    const sqs = await startTestSqs();
    const fake = await startFakeSolapi();
    try {
      const queues = await sqs.createQueues();
      const started = Date.now();
      const worker = runCli(
        ["worker"],
        workerEnv(fake, sqs.endpoint, queues.queueUrl, { DATABASE_URL: withQuery(database.url, "ssl-mode=VERIFY_CA&ssl-ca=rds") }),
      );
      const { code } = await worker.exited;
      expect(code).to.equal(1);
      // Not retried as if the server were unreachable: nothing will change by waiting.
      expect(Date.now() - started).to.be.below(15_000);
      expect(worker.lines().find((line) => line.message === "worker could not start")).to.include({
        error: "Server does not support secure connection",
      });
      expect(worker.lines().some((line) => line.message === "cannot reach the database yet; retrying")).to.equal(false);
    } finally {
      await fake.close();
      await sqs.close();
    }
  });

  it("TLS from a server that offers it: encrypted, and its certificate checked as DATABASE_URL asks", async () => {
    const upstream = new URL(database.url);
    const through = (proxy: TlsMysqlProxy, query: string) => {
      const url = new URL(database.url);
      url.hostname = "localhost";
      url.port = String(proxy.port);
      url.search = query;
      return url.href;
    };
    const attempt = async (url: string) => {
      const db = createDatabase(url, { connectionLimit: 1 });
      try {
        const [rows] = await db.query<RowDataPacket[]>("SELECT 1 AS answered");
        return `answered ${rows[0]!.answered}`;
      } catch (error) {
        return `${(error as { code?: string }).code}: ${(error as Error).message}`;
      } finally {
        await db.end();
      }
    };
    const proxy = await startTlsMysqlProxy({ host: upstream.hostname, port: Number(upstream.port || 3306) });
    const otherHost = await startTlsMysqlProxy({ host: upstream.hostname, port: Number(upstream.port || 3306) }, "db.example.test");
    try {
      expect(await attempt(through(proxy, "ssl-mode=REQUIRED"))).to.equal("answered 1");
      expect(proxy.ciphers).to.have.length(1);
      expect(await attempt(through(proxy, `ssl-mode=VERIFY_IDENTITY&ssl-ca=${TEST_CA_FILE}`))).to.equal("answered 1");
      // Not signed by a CA Node.js trusts: refused, not connected in plain text.
      expect(await attempt(through(proxy, "ssl-mode=VERIFY_CA"))).to.equal("HANDSHAKE_SSL_ERROR: unable to verify the first certificate");
      // Signed by the CA, but for another host: only VERIFY_IDENTITY tells.
      expect(await attempt(through(otherHost, `ssl-mode=VERIFY_CA&ssl-ca=${TEST_CA_FILE}`))).to.equal("answered 1");
      expect(await attempt(through(otherHost, `ssl-mode=VERIFY_IDENTITY&ssl-ca=${TEST_CA_FILE}`))).to.match(
        /^HANDSHAKE_SSL_ERROR: Hostname\/IP does not match certificate's altnames/,
      );

      const migrated = await runToEnd(["migrate"], commandEnv(through(proxy, `ssl-mode=VERIFY_IDENTITY&ssl-ca=${TEST_CA_FILE}`)));
      expect(migrated.code, migrated.stderr).to.equal(0);
      const refused = await runToEnd(["migrate"], commandEnv(through(otherHost, "ssl-ca=rds")));
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(
        /^migration failed: (unable to get local issuer certificate|self-signed certificate in certificate chain|unable to verify the first certificate)/,
      );
    } finally {
      await proxy.close();
      await otherHost.close();
    }
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

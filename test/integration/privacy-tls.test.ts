/**
 * Privacy against a real MySQL-compatible server: TLS asked for in DATABASE_URL is TLS or a clear
 * failure, never plain text, and the server's certificate is checked as far as `ssl-mode` asks.
 */
import { expect } from "chai";
import type { RowDataPacket } from "mysql2/promise";
import { createDatabase } from "../../worker/src/store/pool";
import { commandEnv, workerEnv } from "../support/config";
import { startTestDatabase, type TestDatabase } from "../support/database";
import { startFakeSolapi } from "../support/fake-solapi";
import { runCli, runToEnd } from "../support/process";
import { startTestSqs } from "../support/sqs";
import { startTlsMysqlProxy, TEST_CA_FILE, type TlsMysqlProxy } from "../support/tls-mysql-proxy";

function withQuery(url: string, query: string): string {
  const parsed = new URL(url);
  parsed.search = query;
  return parsed.href;
}

describe("privacy: TLS to the database", function () {
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
});

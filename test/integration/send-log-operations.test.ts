/**
 * The worker with DATABASE_URL against a real MySQL-compatible server, as it is run: migrations,
 * failing closed when the database cannot answer, `npm run trace`, and the password kept out of logs.
 */
import { expect } from "chai";
import { LATEST_SCHEMA_VERSION, migrate, schemaVersion } from "../../worker/src/store/migrate";
import { RECIPIENT_HASH_SECRET, workerEnv } from "../support/config";
import { balanceOf, seedReservation, seedTenant } from "../support/database";
import { tenantIds, tenantJobBody } from "../support/jobs";
import { runCli } from "../support/process";
import { sendBodies, sendBody } from "../support/sqs";
import { useWorkerSuite } from "../support/worker-suite";

const nextTenant = tenantIds(300);

describe("send log: migrations, failing closed, trace and secrets (MySQL)", function () {
  this.timeout(90_000);
  const suite = useWorkerSuite();
  const { start } = suite;

  it("migrations run twice without error and record their version", async () => {
    expect(await migrate(suite.database.db)).to.deep.equal([]);
    expect(await schemaVersion(suite.database.db)).to.equal(LATEST_SCHEMA_VERSION);
    const migrateAgain = runCli(["migrate"], { PATH: process.env.PATH, DATABASE_URL: suite.database.url });
    expect((await migrateAgain.exited).code).to.equal(0);
    expect(migrateAgain.stdout.join("\n")).to.equal(`schema already at version ${LATEST_SCHEMA_VERSION}: nothing to do`);
  });

  it("fails closed: when the database cannot answer, nothing is sent and the job comes back", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    await seedReservation(suite.database.db, tenant * 10, tenant, "CONFIRMED");
    await suite.database.db.query("RENAME TABLE reservations TO reservations_away");
    try {
      await sendBody(suite.sqs.client, suite.queues.queueUrl, tenantJobBody("closed", tenant, { reservation_id: tenant * 10 }));
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
      { ...tenantJobBody("trace-sent", tenant), to, event_type: "clinic_reminder" },
      { ...tenantJobBody("trace-skipped", tenant, { reservation_id: tenant * 10 }), to },
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

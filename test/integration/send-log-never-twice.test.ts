/**
 * The worker with DATABASE_URL against a real MySQL-compatible server: "never the same message
 * twice" — a job delivered again, copies racing on two workers, a worker killed mid-send — and the
 * outcome Solapi cannot tell, kept as UNKNOWN.
 */
import { expect } from "chai";
import { workerEnv } from "../support/config";
import { balanceOf, logRow, seedTenant } from "../support/database";
import { tenantIds, tenantJobBody } from "../support/jobs";
import { runCli } from "../support/process";
import { receiveAll, sendBodies, sendBody } from "../support/sqs";
import { waitFor } from "../support/worker";
import { useWorkerSuite } from "../support/worker-suite";

const nextTenant = tenantIds(200);

describe("send log: never the same message twice (MySQL)", function () {
  this.timeout(90_000);
  const suite = useWorkerSuite();
  const { start } = suite;

  it("the same job delivered twice, one after the other, is sent once", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    await sendBody(suite.sqs.client, suite.queues.queueUrl, tenantJobBody("again", tenant));
    const worker = await start();
    await worker.waitForReports(1);
    await sendBody(suite.sqs.client, suite.queues.queueUrl, tenantJobBody("again", tenant));
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
      Array.from({ length: 10 }, () => tenantJobBody("ten-copies", tenant)),
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
    await sendBody(suite.sqs.client, suite.queues.queueUrl, tenantJobBody("killed", tenant));
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
    await sendBody(suite.sqs.client, suite.queues.queueUrl, tenantJobBody("unknowable", tenant));
    const worker = await start();
    await worker.waitForReports(1, (report) => report.action.action === "dead-letter", 30_000);
    expect(await logRow(suite.database.db, "unknowable")).to.include({ status: "UNKNOWN", amount_charged: "10.00" });
    const [dead] = await receiveAll(suite.sqs.client, suite.queues.deadLetterQueueUrl);
    expect(dead!.MessageAttributes!.error!.StringValue).to.contain("Solapi may have accepted it");
    expect(suite.fake.sendRequests).to.have.length(1);
  });
});

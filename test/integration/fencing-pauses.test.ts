/**
 * "Never twice" when a worker stalls (a GC pause, a starved CPU, a frozen host): while its lease runs
 * out, after its fence, or after its send left. Two workers' ledgers are driven by hand against
 * MariaDB and the real solapi SDK on the fake Solapi server, with the pauses made real: the event loop
 * is blocked, so no timer of the stalled worker can run.
 */
import { expect } from "chai";
import { jobIdentity } from "../../worker/src/pipeline/ledger-port";
import { createDatabase } from "../../worker/src/store/pool";
import { balanceOf, seedTenant } from "../support/database";
import { altered, received, row, stall, useFencingSuite, window } from "../support/fencing";
import { tenantIds } from "../support/jobs";

const nextTenant = tenantIds(900);

describe("fencing: never twice under process pauses (MySQL)", function () {
  this.timeout(60_000);
  const suite = useFencingSuite();

  it("a worker whose lease ran out while it stalled cannot pass the fence: one send, one charge", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    const w1 = suite.ledger();
    const w2 = suite.ledger();
    const first = received(tenant, "stalled");
    expect((await w1.admit([first])).get(first.id)).to.deep.include({ admitted: true });

    stall(1_000); // past the 600 ms lease; W1's renewals cannot run

    // W1 resumes first and goes for the fence: its lease has run out, so it may not send.
    const late = await w1.charge([{ item: first, channel: "sms" }]);
    expect(late.refusals.get(first.id)).to.deep.include({ kind: "retry", ambiguous: false });
    expect(late.startBy).to.equal(undefined);
    // The job's other copy reaches W2, which takes the claim over and sends it.
    const copy = received(tenant, "stalled");
    expect((await suite.deliver(w2, copy)).outcome).to.deep.include({ kind: "sent" });
    await w1.record([{ item: first, outcome: late.refusals.get(first.id)!, action: { action: "retry-later", delaySeconds: 1 } }]);

    expect(suite.fake.acceptedFor("stalled")).to.have.length(1);
    expect(await balanceOf(suite.database.db, tenant)).to.equal("90.00");
    expect(await row(suite.database.db, tenant, "stalled")).to.include({ status: "SENT", amount_charged: "10.00" });
  });

  it("a worker whose claim was taken over while it stalled cannot pass the fence", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    const w1 = suite.ledger();
    const first = received(tenant, "taken-over");
    await w1.admit([first]);
    stall(1_000);
    // W2 takes the claim over with the job's other copy, and holds it (its lease is live).
    const w2 = suite.ledger();
    const copy = received(tenant, "taken-over");
    expect((await w2.admit([copy])).get(copy.id)).to.deep.include({ admitted: true });
    const late = await w1.charge([{ item: first, channel: "sms" }]);
    expect(late.refusals.get(first.id)).to.deep.include({ kind: "retry", reason: "another worker took this job's claim" });
    expect(late.startBy).to.equal(undefined);
    expect(await balanceOf(suite.database.db, tenant), "W1 charged nothing").to.equal("100.00");
    const charged = await w2.charge([{ item: copy, channel: "sms" }]);
    expect(charged.refusals.size).to.equal(0);
    expect(await balanceOf(suite.database.db, tenant)).to.equal("90.00");
  });

  it("a worker that stalls after the fence sends nothing: its request would leave after its window", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    const real = suite.ledger();
    const pausedAfterFence = altered(real, {
      charge: async (requests) => {
        const result = await real.charge(requests);
        stall(window.startBudgetMs + 300);
        return result;
      },
    });
    const first = received(tenant, "paused-after-fence");
    const { outcome } = await suite.deliver(pausedAfterFence, first);
    expect(outcome).to.deep.include({ kind: "retry", ambiguous: false });
    expect(suite.fake.sendRequests, "no request left the stalled worker").to.have.length(0);
    expect(await balanceOf(suite.database.db, tenant)).to.equal("100.00");

    const copy = received(tenant, "paused-after-fence", { receiveCount: 2 });
    expect((await suite.deliver(suite.ledger(), copy)).outcome).to.deep.include({ kind: "sent" });
    expect(suite.fake.acceptedFor("paused-after-fence")).to.have.length(1);
    expect(await balanceOf(suite.database.db, tenant)).to.equal("90.00");
  });

  it("a send that left before its worker froze is never repeated: a take-over waits for it to settle, then finds it", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    suite.fake.next({ kind: "accept-then-hang" });
    // W1, a process of its own: it passes the fence and sends, Solapi takes the message, and W1 dies
    // before the answer comes (its pool and renewals end with it; nothing of its outcome is written).
    const w1 = suite.ledger(createDatabase(suite.database.url, { connectionLimit: 4 }));
    const dead = altered(w1, { record: () => new Promise(() => undefined) });
    const first = received(tenant, "left-then-froze");
    void suite.deliver(dead, first).catch(() => undefined);
    const started = Date.now();
    while (suite.fake.acceptedFor("left-then-froze").length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await w1.close();

    // W2 gets the other copy at once: the fence stretched W1's claim over the whole send.
    const w2 = suite.ledger();
    const copy = received(tenant, "left-then-froze", { receiveCount: 2 });
    expect((await suite.deliver(w2, copy)).outcome).to.deep.include({ kind: "retry" });

    // Later, W2 takes over only after the send has settled, and finds it in Solapi.
    const again = await suite.deliver(w2, { ...copy, receiveCount: 3 });
    expect(again.outcome).to.deep.include({
      kind: "sent",
      recovered: true,
      messageId: suite.fake.acceptedFor("left-then-froze")[0]!.messageId,
    });
    expect(Date.now() - started, "asked Solapi only once the send had settled").to.be.at.least(window.settleMs - 500);
    expect(suite.fake.acceptedFor("left-then-froze")).to.have.length(1);
    expect(await balanceOf(suite.database.db, tenant)).to.equal("90.00");
  });

  it("while one job of a group waits for an old send to settle, its siblings' claims are kept alive and they go", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    suite.fake.next({ kind: "accept-then-hang" });
    const w1 = suite.ledger(createDatabase(suite.database.url, { connectionLimit: 4 }));
    void suite.deliver(altered(w1, { record: () => new Promise(() => undefined) }), received(tenant, "settling")).catch(() => undefined);
    while (suite.fake.acceptedFor("settling").length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await w1.close();
    await new Promise((resolve) => setTimeout(resolve, window.fenceLeaseMs));

    // A receive holding that job's copy and a new job, each with a lease far shorter than the settle wait.
    const results = await suite.deliverAll(suite.ledger(suite.database.db, 600), [
      received(tenant, "settling", { receiveCount: 2 }),
      received(tenant, "sibling"),
    ]);
    expect(results.get(jobIdentity(tenant, "sibling"))!.outcome).to.deep.include({ kind: "sent" });
    expect(results.get(jobIdentity(tenant, "settling"))!.outcome).to.deep.include({ kind: "sent", recovered: true });
    expect(suite.fake.acceptedFor("settling")).to.have.length(1);
    expect(await balanceOf(suite.database.db, tenant)).to.equal("80.00");
  });
});

/**
 * The delivery checks' leases (issue 10), against MariaDB and the fake Solapi: racing checkers look
 * each message up once and refund it once; a lease that lapsed mid-check cannot write; a checker
 * killed or stopped mid-round loses nothing.
 */
import { expect } from "chai";
import { findFirstChecks, leaseDueChecks } from "../../worker/src/store/deliveries";
import { useDeliverySuite } from "../support/delivery-suite";

describe("delivery checks' leases (MySQL, fake Solapi)", function () {
  this.timeout(60_000);
  const suite = useDeliverySuite();
  const { checker, sendAndRecord, rowsOf, askedIds, pausedGateway } = suite;

  it("four checkers racing on the same due rows: each row looked up once, refunded once", async () => {
    const tenant = await suite.tenant({ credit: "0.00" });
    const sent = [
      ...(await sendAndRecord(tenant, 150, { report: { statusCode: "3104" } })),
      ...(await sendAndRecord(tenant, 150, { report: { statusCode: "3104" } })),
    ];
    const racers = Array.from({ length: 4 }, () => checker({ batchSize: 40 }));
    // A racer whose round found rows another leased first comes back empty-handed: it goes on while
    // any row is still without a result, as the checker's own loop does, instead of leaving the race.
    const undecided = async () => (await rowsOf(sent)).some((row) => row.delivery_status === null);
    const summaries = await Promise.all(
      racers.map(async (racer) => {
        const mine = [];
        for (;;) {
          const summary = await racer.runOnce();
          if (summary) mine.push(summary);
          else if (!(await undecided())) return mine;
        }
      }),
    );
    const all = summaries.flat();
    expect(summaries.filter((mine) => mine.length > 0).length, "rounds spread over the racers").to.be.above(1);
    expect(all.reduce((sum, summary) => sum + summary.leased, 0)).to.equal(300);
    expect(all.reduce((sum, summary) => sum + summary.undelivered, 0)).to.equal(300);
    expect(askedIds()).to.have.length(300);
    expect(new Set(askedIds()).size).to.equal(300);
    expect(await suite.balance(tenant)).to.equal("3000.00");
    expect((await rowsOf(sent)).every((row) => row.delivery_status === "UNDELIVERED" && row.amount_charged === "0.00")).to.equal(true);
  });

  it("rounds that found the same due rows: one conditional UPDATE leases each to one of them", async () => {
    const tenant = await suite.tenant({ credit: "0.00" });
    await sendAndRecord(tenant, 30);
    const found = await findFirstChecks(suite.database.db, { firstCheckMs: 1_000, boundMs: 60_000, limit: 100 });
    expect(found).to.have.length(30);
    const leased = await Promise.all(
      ["round-a", "round-b", "round-c"].map((owner) => leaseDueChecks(suite.database.db, found, owner, 10_000)),
    );
    expect(leased.reduce((sum, count) => sum + count, 0)).to.equal(30);
    expect(leased.filter((count) => count > 0)).to.have.length(1);
  });

  it("a checker whose lease lapsed mid-check cannot write; the one that took over does, once", async () => {
    const tenant = await suite.tenant({ credit: "0.00" });
    const sent = await sendAndRecord(tenant, 4, { report: { statusCode: "3104" } });
    const paused = pausedGateway();
    const slow = checker({ solapi: paused.solapi, leaseMs: 400 });
    const slowRound = slow.runOnce();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await checker().runOnce()).to.deep.include({ leased: 4, undelivered: 4 });
    paused.open();
    expect(await slowRound).to.deep.include({ leased: 4, lost: 4, undelivered: 0 });
    expect(
      slow
        .lines()
        .some((line) => line.message === "delivery checks' leases lapsed before their results were written; another round has them"),
    ).to.equal(true);
    expect(await suite.balance(tenant)).to.equal("40.00");
    for (const row of await rowsOf(sent)) expect(row).to.include({ delivery_status: "UNDELIVERED", delivery_checks: 2 });
  });

  it("a lease that lapsed with nobody taking over is not written either: the check falls due again", async () => {
    const tenant = await suite.tenant({ credit: "0.00" });
    const sent = await sendAndRecord(tenant, 2, { report: { statusCode: "3104" } });
    const paused = pausedGateway();
    const slowRound = checker({ solapi: paused.solapi, leaseMs: 300 }).runOnce();
    await new Promise((resolve) => setTimeout(resolve, 450));
    paused.open();
    expect(await slowRound).to.deep.include({ lost: 2, undelivered: 0 });
    expect(await suite.balance(tenant)).to.equal("0.00");
    expect(await checker().runOnce()).to.deep.include({ leased: 2, undelivered: 2 });
    expect(await suite.balance(tenant)).to.equal("20.00");
    expect((await rowsOf(sent)).map((row) => row.delivery_checks)).to.deep.equal([2, 2]);
  });

  it("a checker killed mid-check loses nothing: the next one picks its rows up once the lease lapses", async () => {
    const tenant = await suite.tenant({ credit: "100.00" });
    const sent = await sendAndRecord(tenant, 3);
    // Killed while waiting for Solapi: the lease is in the database, the round never comes back.
    const dead = checker({ solapi: pausedGateway().solapi, leaseMs: 500 });
    void dead.runOnce();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await rowsOf(sent)).every((row) => row.delivery_lease_owner !== null)).to.equal(true);
    expect(await checker().runOnce(), "still leased").to.equal(undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await checker().runOnce()).to.deep.include({ leased: 3, delivered: 3 });
  });

  it("the loop stops at once, abandoning a round in flight, and a new loop finishes its checks", async () => {
    const tenant = await suite.tenant({ credit: "100.00" });
    const sent = await sendAndRecord(tenant, 2);
    suite.fake.listFault = "hang";
    const first = checker({ leaseMs: 400 });
    first.start();
    while (suite.fake.listRequests.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const stoppedAt = Date.now();
    first.stop();
    expect(Date.now() - stoppedAt).to.be.below(50);
    suite.fake.listFault = undefined;
    const second = checker();
    second.start();
    const deadline = Date.now() + 10_000;
    while ((await rowsOf(sent)).some((row) => row.delivery_status === null) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    second.stop();
    expect((await rowsOf(sent)).map((row) => row.delivery_status)).to.deep.equal(["DELIVERED", "DELIVERED"]);
  });
});

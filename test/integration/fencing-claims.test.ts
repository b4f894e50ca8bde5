/**
 * "Never twice" under the interleavings around a claim: a take-over acting on a stale read, a lease
 * renewal that fails, a charge transaction retried after a deadlock, and two academies using one job
 * key. Workers' ledgers are driven by hand against MariaDB and the real solapi SDK on the fake Solapi
 * server.
 */
import { expect } from "chai";
import type { ResultSetHeader } from "mysql2/promise";
import { ClaimLeases } from "../../worker/src/store/leases";
import { findLogEntry, takeOverClaim } from "../../worker/src/store/message-log";
import type { Db } from "../../worker/src/store/pool";
import { capturingLogger } from "../support/config";
import { balanceOf, seedTenant } from "../support/database";
import { received, row, useFencingSuite } from "../support/fencing";
import { tenantIds } from "../support/jobs";

const nextTenant = tenantIds(950);

describe("fencing: never twice around a claim: stale reads, failed renewals, retried transactions, shared keys (MySQL)", function () {
  this.timeout(60_000);
  const suite = useFencingSuite();

  it("a take-over acts only on the row exactly as it read it", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    await suite.ledger().admit([received(tenant, "stale-read")]);
    await suite.database.db.query(
      "UPDATE message_log SET lease_expires_at = NOW(3) - INTERVAL 1 SECOND WHERE tenant_id = ? AND idempotency_key = ?",
      [tenant, "stale-read"],
    );
    const claim = (owner: string) => ({ owner, leaseMs: 5_000, sqsMessageId: "sqs", receiveCount: 2 });

    const seen = (await findLogEntry(suite.database.db, { tenantId: tenant, key: "stale-read" }))!;
    expect(seen).to.include({ status: "CLAIMED", leaseExpired: true, sendStartedAt: null });
    // Between W2's read and its take-over, the row's owner passes a fence (a send mark and a fresh lease).
    await suite.database.db.query<ResultSetHeader>(
      "UPDATE message_log SET send_started_at = NOW(3), send_settles_at = NOW(3), lease_expires_at = NOW(3) - INTERVAL 1 SECOND WHERE id = ?",
      [seen.rowId],
    );
    expect(await takeOverClaim(suite.database.db, seen, claim("w2")), "a send began after the read").to.equal(false);

    const fresh = (await findLogEntry(suite.database.db, { tenantId: tenant, key: "stale-read" }))!;
    expect(await takeOverClaim(suite.database.db, fresh, claim("w3"))).to.equal(true);
    expect(await takeOverClaim(suite.database.db, fresh, claim("w4")), "another worker took it first").to.equal(false);
    expect(await row(suite.database.db, tenant, "stale-read")).to.include({ lease_owner: "w3", attempts: 2 });
  });

  it("a lease renewal that fails is tried again, and the claim stays alive", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    const refusing = (failures: number) => {
      let left = failures;
      return new Proxy(suite.database.db, {
        get(target, property) {
          if (property !== "query") return Reflect.get(target, property, target);
          return (sql: string, ...rest: unknown[]) => {
            if (String(sql).includes("GREATEST(lease_expires_at") && left > 0) {
              left -= 1;
              return Promise.reject(
                Object.assign(new Error("Connection lost: The server closed the connection."), { code: "PROTOCOL_CONNECTION_LOST" }),
              );
            }
            return (target.query as (...args: unknown[]) => unknown)(sql, ...rest);
          };
        },
      }) as Db;
    };
    // The claim is made by a worker whose own renewals never get through.
    await suite.ledger(refusing(Infinity), 2_000).admit([received(tenant, "renewed", { leaseMs: 2_000 })]);
    const claim = await row(suite.database.db, tenant, "renewed");
    const keeper = new ClaimLeases(refusing(2), 2_000, capturingLogger().log);
    keeper.stop();
    keeper.hold(Number(claim.id), String(claim.lease_owner), Date.now() + 2_000);
    const due = Date.now() + 1_000;
    await keeper.renewDue(due);
    await keeper.renewDue(due);
    expect((await row(suite.database.db, tenant, "renewed")).lease_expires_at, "two renewals failed").to.deep.equal(claim.lease_expires_at);
    await keeper.renewDue(due);
    const renewed = (await row(suite.database.db, tenant, "renewed")).lease_expires_at as Date;
    expect(renewed.getTime(), "the third try renewed the lease").to.be.above((claim.lease_expires_at as Date).getTime());
  });

  it("a claim whose lease could not be kept is not sent: it is refused at the fence and released", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    const down = new Proxy(suite.database.db, {
      get(target, property) {
        if (property !== "query") return Reflect.get(target, property, target);
        return (sql: string, ...rest: unknown[]) =>
          String(sql).includes("GREATEST(lease_expires_at")
            ? Promise.reject(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))
            : (target.query as (...args: unknown[]) => unknown)(sql, ...rest);
      },
    }) as Db;
    const w1 = suite.ledger(down, 600);
    const item = received(tenant, "unkept", { leaseMs: 600 });
    await w1.admit([item]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const charged = await w1.charge([{ item, channel: "sms" }]);
    expect(charged.refusals.get(item.id)).to.deep.include({ kind: "retry", ambiguous: false });
    expect(String((charged.refusals.get(item.id) as { reason: string }).reason)).to.contain("ran out");
    expect(suite.fake.sendRequests).to.have.length(0);
    expect(await balanceOf(suite.database.db, tenant)).to.equal("100.00");
  });

  it("a charge transaction retried after a deadlock decides afresh: credits short on the failed attempt do not skip the job", async () => {
    const tenant = nextTenant();
    await seedTenant(suite.database.db, { id: tenant, credit: "100.00" });
    let attempt = 0;
    let spent = false;
    const deadlockOnce = new Proxy(suite.database.db, {
      get(target, property) {
        if (property !== "getConnection") return Reflect.get(target, property, target);
        return async () => {
          const connection = await target.getConnection();
          return new Proxy(connection, {
            get(inner, name) {
              if (name !== "query") return Reflect.get(inner, name, inner);
              return async (sql: string, ...rest: unknown[]) => {
                const text = String(sql);
                if (text.includes("FOR UPDATE") && text.includes("lease_live")) attempt += 1;
                // …and once that attempt has rolled back, the other transaction's change is undone too.
                if (attempt === 2 && text.includes("FOR UPDATE"))
                  await suite.database.db.query("UPDATE tenants SET credit_balance = 100 WHERE id = ?", [tenant]);
                // On the first attempt another transaction spends the credits just before the debit…
                if (attempt === 1 && !spent && text.startsWith("UPDATE tenants SET credit_balance = credit_balance -")) {
                  spent = true;
                  await suite.database.db.query("UPDATE tenants SET credit_balance = 0 WHERE id = ?", [tenant]);
                }
                // …then this attempt dies in a deadlock.
                if (attempt === 1 && text.startsWith("UPDATE message_log SET amount_charged = 0")) {
                  throw Object.assign(new Error("Deadlock found when trying to get lock; try restarting transaction"), { errno: 1213 });
                }
                return (inner.query as (...args: unknown[]) => unknown)(sql, ...rest);
              };
            },
          });
        };
      },
    }) as Db;
    const ledger = suite.ledger(deadlockOnce);
    const item = received(tenant, "retried-clean");
    await ledger.admit([item]);
    const charged = await ledger.charge([{ item, channel: "sms" }]);
    expect(attempt, "the transaction ran twice").to.equal(2);
    expect(charged.refusals.size, "the second attempt found the credits").to.equal(0);
    expect(await balanceOf(suite.database.db, tenant)).to.equal("90.00");
  });

  it("the same key in two academies is two jobs: a take-over never crosses tenants, and refunds go home", async () => {
    const academyA = nextTenant();
    const academyB = nextTenant();
    await seedTenant(suite.database.db, { id: academyA, credit: "100.00" });
    await seedTenant(suite.database.db, { id: academyB, credit: "100.00" });
    const w1 = suite.ledger();
    const a = received(academyA, "reminder-7");
    // A's job is charged, then released with its charge refunded (a transient failure).
    await w1.admit([a]);
    await w1.charge([{ item: a, channel: "sms" }]);
    expect(await balanceOf(suite.database.db, academyA)).to.equal("90.00");
    await w1.record([
      {
        item: a,
        outcome: { kind: "retry", reason: "Solapi 503", ambiguous: false, minDelaySeconds: 0, alert: false },
        action: { action: "retry-later", delaySeconds: 1 },
      },
    ]);
    expect(await balanceOf(suite.database.db, academyA)).to.equal("100.00");

    // B's job with the same key — and A's with the key in capitals — are jobs of their own.
    const b = received(academyB, "reminder-7");
    const upper = received(academyA, "REMINDER-7");
    const results = await suite.deliverAll(suite.ledger(), [b, upper]);
    expect(results.get(b.id)!.outcome).to.deep.include({ kind: "sent" });
    expect(results.get(upper.id)!.outcome).to.deep.include({ kind: "sent" });
    expect(await balanceOf(suite.database.db, academyA)).to.equal("90.00");
    expect(await balanceOf(suite.database.db, academyB)).to.equal("90.00");
    expect(await row(suite.database.db, academyA, "reminder-7")).to.include({ status: "CLAIMED", amount_charged: "0.00", attempts: 1 });
    expect(await row(suite.database.db, academyB, "reminder-7")).to.include({ status: "SENT", amount_charged: "10.00" });
    expect(await row(suite.database.db, academyA, "REMINDER-7")).to.include({ status: "SENT", amount_charged: "10.00" });
  });
});

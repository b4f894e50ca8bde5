/**
 * "Never twice" under the interleavings that break send logs in practice: a worker that stalls (a
 * GC pause, a starved CPU, a frozen host) while its lease runs out, a take-over acting on a stale
 * read, a lease renewal that fails, and two academies using one job key. Two workers' ledgers are
 * driven by hand against MariaDB and the real solapi SDK on the fake Solapi server, with the pauses
 * made real: the event loop is blocked, so no timer of the stalled worker can run.
 */
import { expect } from "chai";
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { parseJob } from "../../worker/src/job";
import type { RetryPolicy } from "../../worker/src/pipeline/decide";
import { jobIdentity, type Ledger, type ReceivedJob } from "../../worker/src/pipeline/ledger-port";
import { deliverGroup } from "../../worker/src/pipeline/process";
import { sendWindow } from "../../worker/src/pipeline/send-window";
import { createSolapiGateway, type SolapiGateway } from "../../worker/src/solapi/client";
import { LeaseKeeper } from "../../worker/src/store/leases";
import { mysqlLedger } from "../../worker/src/store/ledger";
import { findLogEntry, takeOverClaim } from "../../worker/src/store/message-log";
import { createDatabase, type Db } from "../../worker/src/store/pool";
import { recipientHasher } from "../../worker/src/store/recipient";
import { capturingLogger, RECIPIENT_HASH_SECRET, solapiConfigFor } from "../support/config";
import { balanceOf, seedTenant, startTestDatabase, type TestDatabase } from "../support/database";
import { type FakeSolapi, startFakeSolapi } from "../support/fake-solapi";

const SOLAPI_TIMEOUT_MS = 800;
const hashRecipient = recipientHasher(RECIPIENT_HASH_SECRET);
const window = sendWindow(SOLAPI_TIMEOUT_MS);
const retry: RetryPolicy = { maxReceives: 5, baseSeconds: 1, maxSeconds: 2 };
let tenantSequence = 900;
const nextTenant = () => (tenantSequence += 1);

/** A process pause: nothing of this process runs — no timer, no renewal — while the database's clock moves on. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Blocked on purpose.
  }
}

function received(tenantId: number, key: string, extra: Partial<ReceivedJob> = {}): ReceivedJob {
  const job = parseJob({ tenant_id: tenantId, to: "010-2345-6789", text: `안내 ${key}`, business_idempotency_key: key });
  return {
    id: jobIdentity(tenantId, key),
    key,
    job,
    sqsMessageId: `sqs-${key}-${Math.random()}`,
    receiveCount: 1,
    enqueuedAt: new Date(),
    leaseMs: 600,
    ...extra,
  };
}

async function row(db: Db, tenantId: number, key: string): Promise<Record<string, unknown>> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT * FROM message_log WHERE tenant_id = ? AND idempotency_key = ?", [tenantId, key]);
  return rows[0]!;
}

describe("fencing: never twice under pauses, stale reads and failed renewals (MySQL)", function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let fake: FakeSolapi;
  let solapi: SolapiGateway;
  const ledgers: Ledger[] = [];

  before(async function () {
    database = await startTestDatabase(this);
  });
  after(async () => {
    await database?.close();
  });
  beforeEach(async () => {
    fake = await startFakeSolapi();
    solapi = createSolapiGateway(solapiConfigFor(fake, { timeoutMs: SOLAPI_TIMEOUT_MS }));
  });
  afterEach(async () => {
    await Promise.all(ledgers.splice(0).map((ledger) => ledger.close().catch(() => undefined)));
    solapi.close();
    await fake.close();
  });

  /** One worker's ledger; each has a pool of its own, as two processes would. */
  function worker(db: Db = database.db, leaseMs = 600): Ledger {
    const ledger = mysqlLedger({
      db,
      solapi,
      defaults: { sender: "0212345678" },
      log: capturingLogger().log,
      leaseMs,
      window,
      hashRecipient,
    });
    ledgers.push({ ...ledger, close: async () => undefined });
    return ledger;
  }

  const deliver = (ledger: Ledger, item: ReceivedJob) =>
    deliverGroup([item], { solapi, ledger, retry, log: capturingLogger().log }, new AbortController().signal).then(
      (results) => results.get(item.id)!,
    );

  it("a worker whose lease ran out while it stalled cannot pass the fence: one send, one charge", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    const w1 = worker();
    const w2 = worker();
    const first = received(tenant, "stalled");
    expect((await w1.admit([first])).get(first.id)).to.deep.include({ admitted: true });

    stall(1_000); // past the 600 ms lease; W1's renewals cannot run

    // W1 resumes first and goes for the fence: its lease has run out, so it may not send.
    const late = await w1.charge([{ item: first, channel: "sms" }]);
    expect(late.refusals.get(first.id)).to.deep.include({ kind: "retry", ambiguous: false });
    expect(late.startBy).to.equal(undefined);
    // The job's other copy reaches W2, which takes the claim over and sends it.
    const copy = received(tenant, "stalled");
    expect((await deliver(w2, copy)).outcome).to.deep.include({ kind: "sent" });
    await w1.record([{ item: first, outcome: late.refusals.get(first.id)!, action: { action: "retry-later", delaySeconds: 1 } }]);

    expect(fake.acceptedFor("stalled")).to.have.length(1);
    expect(await balanceOf(database.db, tenant)).to.equal("90.00");
    expect(await row(database.db, tenant, "stalled")).to.include({ status: "SENT", amount_charged: "10.00" });
  });

  it("a worker whose claim was taken over while it stalled cannot pass the fence", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    const w1 = worker();
    const first = received(tenant, "taken-over");
    await w1.admit([first]);
    stall(1_000);
    // W2 takes the claim over with the job's other copy, and holds it (its lease is live).
    const w2 = worker();
    const copy = received(tenant, "taken-over");
    expect((await w2.admit([copy])).get(copy.id)).to.deep.include({ admitted: true });
    const late = await w1.charge([{ item: first, channel: "sms" }]);
    expect(late.refusals.get(first.id)).to.deep.include({ kind: "retry", reason: "another worker took this job's claim" });
    expect(late.startBy).to.equal(undefined);
    expect(await balanceOf(database.db, tenant), "W1 charged nothing").to.equal("100.00");
    const charged = await w2.charge([{ item: copy, channel: "sms" }]);
    expect(charged.refusals.size).to.equal(0);
    expect(await balanceOf(database.db, tenant)).to.equal("90.00");
  });

  it("a worker that stalls after the fence sends nothing: its request would leave after its window", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    const real = worker();
    const pausedAfterFence: Ledger = {
      ...real,
      charge: async (requests) => {
        const result = await real.charge(requests);
        stall(window.startBudgetMs + 300);
        return result;
      },
    };
    const first = received(tenant, "paused-after-fence");
    const { outcome } = await deliver(pausedAfterFence, first);
    expect(outcome).to.deep.include({ kind: "retry", ambiguous: false });
    expect(fake.sendRequests, "no request left the stalled worker").to.have.length(0);
    expect(await balanceOf(database.db, tenant)).to.equal("100.00");

    const copy = received(tenant, "paused-after-fence", { receiveCount: 2 });
    expect((await deliver(worker(), copy)).outcome).to.deep.include({ kind: "sent" });
    expect(fake.acceptedFor("paused-after-fence")).to.have.length(1);
    expect(await balanceOf(database.db, tenant)).to.equal("90.00");
  });

  it("a send that left before its worker froze is never repeated: a take-over waits for it to settle, then finds it", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    fake.next({ kind: "accept-then-hang" });
    // W1, a process of its own: it passes the fence and sends, Solapi takes the message, and W1 dies
    // before the answer comes (its pool and renewals end with it; nothing of its outcome is written).
    const w1 = mysqlLedger({
      db: createDatabase(database.url, { connectionLimit: 4 }),
      solapi,
      defaults: { sender: "0212345678" },
      log: capturingLogger().log,
      leaseMs: 600,
      window,
      hashRecipient,
    });
    const dead: Ledger = { ...w1, record: () => new Promise(() => undefined) };
    const first = received(tenant, "left-then-froze");
    void deliver(dead, first).catch(() => undefined);
    const started = Date.now();
    while (fake.acceptedFor("left-then-froze").length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await w1.close();

    // W2 gets the other copy at once: the fence stretched W1's claim over the whole send.
    const w2 = worker();
    const copy = received(tenant, "left-then-froze", { receiveCount: 2 });
    expect((await deliver(w2, copy)).outcome).to.deep.include({ kind: "retry" });

    // Later, W2 takes over only after the send has settled, and finds it in Solapi.
    const again = await deliver(w2, { ...copy, receiveCount: 3 });
    expect(again.outcome).to.deep.include({ kind: "sent", recovered: true, messageId: fake.acceptedFor("left-then-froze")[0]!.messageId });
    expect(Date.now() - started, "asked Solapi only once the send had settled").to.be.at.least(window.settleMs - 500);
    expect(fake.acceptedFor("left-then-froze")).to.have.length(1);
    expect(await balanceOf(database.db, tenant)).to.equal("90.00");
  });

  it("while one job of a group waits for an old send to settle, its siblings' claims are kept alive and they go", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    fake.next({ kind: "accept-then-hang" });
    const w1 = mysqlLedger({
      db: createDatabase(database.url, { connectionLimit: 4 }),
      solapi,
      defaults: { sender: "0212345678" },
      log: capturingLogger().log,
      leaseMs: 600,
      window,
      hashRecipient,
    });
    void deliver({ ...w1, record: () => new Promise(() => undefined) }, received(tenant, "settling")).catch(() => undefined);
    while (fake.acceptedFor("settling").length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await w1.close();
    await new Promise((resolve) => setTimeout(resolve, window.fenceLeaseMs));

    // A receive holding that job's copy and a new job, each with a lease far shorter than the settle wait.
    const results = await deliverGroup(
      [received(tenant, "settling", { receiveCount: 2 }), received(tenant, "sibling")],
      { solapi, ledger: worker(database.db, 600), retry, log: capturingLogger().log },
      new AbortController().signal,
    );
    expect(results.get(jobIdentity(tenant, "sibling"))!.outcome).to.deep.include({ kind: "sent" });
    expect(results.get(jobIdentity(tenant, "settling"))!.outcome).to.deep.include({ kind: "sent", recovered: true });
    expect(fake.acceptedFor("settling")).to.have.length(1);
    expect(await balanceOf(database.db, tenant)).to.equal("80.00");
  });

  it("a take-over acts only on the row exactly as it read it", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    await worker().admit([received(tenant, "stale-read")]);
    await database.db.query(
      "UPDATE message_log SET lease_expires_at = NOW(3) - INTERVAL 1 SECOND WHERE tenant_id = ? AND idempotency_key = ?",
      [tenant, "stale-read"],
    );
    const claim = (owner: string) => ({ owner, leaseMs: 5_000, sqsMessageId: "sqs", receiveCount: 2 });

    const seen = (await findLogEntry(database.db, { tenantId: tenant, key: "stale-read" }))!;
    expect(seen).to.include({ status: "CLAIMED", leaseExpired: true, sendStartedAt: null });
    // Between W2's read and its take-over, the row's owner passes a fence (a send mark and a fresh lease).
    await database.db.query<ResultSetHeader>(
      "UPDATE message_log SET send_started_at = NOW(3), send_settles_at = NOW(3), lease_expires_at = NOW(3) - INTERVAL 1 SECOND WHERE id = ?",
      [seen.rowId],
    );
    expect(await takeOverClaim(database.db, seen, claim("w2")), "a send began after the read").to.equal(false);

    const fresh = (await findLogEntry(database.db, { tenantId: tenant, key: "stale-read" }))!;
    expect(await takeOverClaim(database.db, fresh, claim("w3"))).to.equal(true);
    expect(await takeOverClaim(database.db, fresh, claim("w4")), "another worker took it first").to.equal(false);
    expect(await row(database.db, tenant, "stale-read")).to.include({ lease_owner: "w3", attempts: 2 });
  });

  it("a lease renewal that fails is tried again, and the claim stays alive", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    const refusing = (failures: number) => {
      let left = failures;
      return new Proxy(database.db, {
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
    await worker(refusing(Infinity), 2_000).admit([received(tenant, "renewed", { leaseMs: 2_000 })]);
    const claim = await row(database.db, tenant, "renewed");
    const keeper = new LeaseKeeper(refusing(2), 2_000, capturingLogger().log);
    keeper.stop();
    keeper.hold(Number(claim.id), String(claim.lease_owner), Date.now() + 2_000);
    const due = Date.now() + 1_000;
    await keeper.renewDue(due);
    await keeper.renewDue(due);
    expect((await row(database.db, tenant, "renewed")).lease_expires_at, "two renewals failed").to.deep.equal(claim.lease_expires_at);
    await keeper.renewDue(due);
    const renewed = (await row(database.db, tenant, "renewed")).lease_expires_at as Date;
    expect(renewed.getTime(), "the third try renewed the lease").to.be.above((claim.lease_expires_at as Date).getTime());
  });

  it("a claim whose lease could not be kept is not sent: it is refused at the fence and released", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    const down = new Proxy(database.db, {
      get(target, property) {
        if (property !== "query") return Reflect.get(target, property, target);
        return (sql: string, ...rest: unknown[]) =>
          String(sql).includes("GREATEST(lease_expires_at")
            ? Promise.reject(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))
            : (target.query as (...args: unknown[]) => unknown)(sql, ...rest);
      },
    }) as Db;
    const w1 = worker(down, 600);
    const item = received(tenant, "unkept", { leaseMs: 600 });
    await w1.admit([item]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const charged = await w1.charge([{ item, channel: "sms" }]);
    expect(charged.refusals.get(item.id)).to.deep.include({ kind: "retry", ambiguous: false });
    expect(String((charged.refusals.get(item.id) as { reason: string }).reason)).to.contain("ran out");
    expect(fake.sendRequests).to.have.length(0);
    expect(await balanceOf(database.db, tenant)).to.equal("100.00");
  });

  it("a charge transaction retried after a deadlock decides afresh: credits short on the failed attempt do not skip the job", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    let attempt = 0;
    let spent = false;
    const deadlockOnce = new Proxy(database.db, {
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
                  await database.db.query("UPDATE tenants SET credit_balance = 100 WHERE id = ?", [tenant]);
                // On the first attempt another transaction spends the credits just before the debit…
                if (attempt === 1 && !spent && text.startsWith("UPDATE tenants SET credit_balance = credit_balance -")) {
                  spent = true;
                  await database.db.query("UPDATE tenants SET credit_balance = 0 WHERE id = ?", [tenant]);
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
    const ledger = worker(deadlockOnce);
    const item = received(tenant, "retried-clean");
    await ledger.admit([item]);
    const charged = await ledger.charge([{ item, channel: "sms" }]);
    expect(attempt, "the transaction ran twice").to.equal(2);
    expect(charged.refusals.size, "the second attempt found the credits").to.equal(0);
    expect(await balanceOf(database.db, tenant)).to.equal("90.00");
  });

  it("the same key in two academies is two jobs: a take-over never crosses tenants, and refunds go home", async () => {
    const academyA = nextTenant();
    const academyB = nextTenant();
    await seedTenant(database.db, { id: academyA, credit: "100.00" });
    await seedTenant(database.db, { id: academyB, credit: "100.00" });
    const w1 = worker();
    const a = received(academyA, "reminder-7");
    // A's job is charged, then released with its charge refunded (a transient failure).
    await w1.admit([a]);
    await w1.charge([{ item: a, channel: "sms" }]);
    expect(await balanceOf(database.db, academyA)).to.equal("90.00");
    await w1.record([
      {
        item: a,
        outcome: { kind: "retry", reason: "Solapi 503", ambiguous: false, minDelaySeconds: 0, alert: false },
        action: { action: "retry-later", delaySeconds: 1 },
      },
    ]);
    expect(await balanceOf(database.db, academyA)).to.equal("100.00");

    // B's job with the same key — and A's with the key in capitals — are jobs of their own.
    const b = received(academyB, "reminder-7");
    const upper = received(academyA, "REMINDER-7");
    const results = await deliverGroup(
      [b, upper],
      { solapi, ledger: worker(), retry, log: capturingLogger().log },
      new AbortController().signal,
    );
    expect(results.get(b.id)!.outcome).to.deep.include({ kind: "sent" });
    expect(results.get(upper.id)!.outcome).to.deep.include({ kind: "sent" });
    expect(await balanceOf(database.db, academyA)).to.equal("90.00");
    expect(await balanceOf(database.db, academyB)).to.equal("90.00");
    expect(await row(database.db, academyA, "reminder-7")).to.include({ status: "CLAIMED", amount_charged: "0.00", attempts: 1 });
    expect(await row(database.db, academyB, "reminder-7")).to.include({ status: "SENT", amount_charged: "10.00" });
    expect(await row(database.db, academyA, "REMINDER-7")).to.include({ status: "SENT", amount_charged: "10.00" });
  });
});

/**
 * Delivery results (issue 10): the checker against MariaDB and the real solapi SDK talking to the
 * fake Solapi. Sent messages are real sends to the fake, recorded as SENT rows the way the worker
 * records them; each test runs checker rounds directly so that what a round does is seen alone.
 */
import { expect } from "chai";
import type { RowDataPacket } from "mysql2/promise";
import { checkNow, DeliveryChecker } from "../../worker/src/delivery/checker";
import { type CheckPolicy, checkPolicy } from "../../worker/src/delivery/decide";
import { createSolapiGateway, type SolapiGateway } from "../../worker/src/solapi/client";
import { buildAlimtalkMessage, buildTextMessage } from "../../worker/src/solapi/messages";
import { findFirstChecks, leaseDueChecks } from "../../worker/src/store/deliveries";
import { deliveryResults } from "../../worker/src/store/migrations/004-delivery-results";
import { capturingLogger, SENDER, solapiConfigFor } from "../support/config";
import { balanceOf, seedTenant, startTestDatabase, type TestDatabase } from "../support/database";
import { type DeliveryReport, type FakeSolapi, startFakeSolapi } from "../support/fake-solapi";

let tenantSequence = 5000;
const nextTenant = () => (tenantSequence += 1);
let keySequence = 0;
const PHONE = "01055556666";

interface Sent {
  key: string;
  messageId: string;
}

describe("delivery results (MySQL, fake Solapi)", function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let fake: FakeSolapi;
  let gateway: SolapiGateway;
  const reports = new Map<string, DeliveryReport>();

  before(async function () {
    database = await startTestDatabase(this);
  });
  after(async () => {
    await database?.close();
  });
  beforeEach(async () => {
    reports.clear();
    fake = await startFakeSolapi({ report: (message) => reports.get(message.jobKey ?? "") ?? { statusCode: "4000" } });
    gateway = createSolapiGateway(solapiConfigFor(fake));
  });
  afterEach(async () => {
    gateway.close();
    await fake.close();
    // Rows of one test must not fall due in the next.
    await database.db.query(
      "UPDATE message_log SET delivery_check_at = NULL, delivery_checks = delivery_checks + 1000 WHERE status = 'SENT'",
    );
  });

  const policy = (overrides: Partial<CheckPolicy> = {}) => checkPolicy(1, overrides);

  function checker(options: { solapi?: SolapiGateway; policy?: CheckPolicy; leaseMs?: number; batchSize?: number } = {}) {
    const { log, lines } = capturingLogger();
    const instance = new DeliveryChecker({
      db: database.db,
      solapi: options.solapi ?? gateway,
      log,
      policy: options.policy ?? policy(),
      leaseMs: options.leaseMs ?? 10_000,
      batchSize: options.batchSize,
    });
    return Object.assign(instance, { lines });
  }

  /** Sends real messages to the fake and records them SENT, `sentAgoMs` ago, charged `amount` each. */
  async function sendAndRecord(
    tenantId: number,
    count: number,
    options: { alimtalk?: boolean; amount?: string; sentAgoMs?: number; report?: DeliveryReport } = {},
  ): Promise<Sent[]> {
    const keys = Array.from({ length: count }, () => `delivery-${(keySequence += 1)}`);
    for (const key of keys) if (options.report) reports.set(key, options.report);
    const outgoing = keys.map((key) =>
      options.alimtalk
        ? buildAlimtalkMessage({
            jobKey: key,
            tenantId,
            to: PHONE,
            pfId: "KA01PF-TEST",
            templateId: "KA01TP-TEST",
            variables: {},
            substitute: { from: SENDER, text: "보강 안내" },
          })
        : buildTextMessage({ jobKey: key, tenantId, to: PHONE, from: SENDER, text: `안내 ${key}` }),
    );
    const results = await gateway.send(outgoing.map((built, index) => ({ id: keys[index]!, jobKey: keys[index]!, tenantId, ...built })));
    const sent = keys.map((key) => {
      const result = results.get(key)!;
      if (result.status !== "accepted") throw new Error(`fake did not accept ${key}`);
      return { key, groupId: result.groupId, messageId: result.messageId, channel: result.channel };
    });
    await database.db.query(
      `INSERT INTO message_log (idempotency_key, tenant_id, status, mode, channel, recipient, recipient_hash, group_id, message_id, amount_charged, sent_at)
       VALUES ${sent.map(() => "(?, ?, 'SENT', ?, ?, '010****6666', REPEAT('0', 64), ?, ?, ?, DATE_SUB(NOW(3), INTERVAL ? MICROSECOND))").join(", ")}`,
      sent.flatMap((row) => [
        row.key,
        tenantId,
        options.alimtalk ? "both" : "sms",
        row.channel,
        row.groupId,
        row.messageId,
        options.amount ?? "10.00",
        (options.sentAgoMs ?? 2_000) * 1000,
      ]),
    );
    return sent;
  }

  async function rowsOf(sent: readonly Sent[]): Promise<RowDataPacket[]> {
    const [rows] = await database.db.query<RowDataPacket[]>(
      `SELECT id, idempotency_key, delivery_status, delivery_code, delivery_channel, delivery_note, delivery_checks, amount_charged,
              delivery_lease_owner, delivery_check_at, TIMESTAMPDIFF(MICROSECOND, delivery_checked_at, delivery_check_at) / 1000 AS next_in_ms
         FROM message_log WHERE idempotency_key IN (?) ORDER BY id`,
      [sent.map((row) => row.key)],
    );
    return rows;
  }

  /** Message ids each list request asked about. */
  const askedIds = () => fake.listRequests.flatMap((request) => new URL(request.path, fake.url).searchParams.getAll("messageIds"));

  it("records DELIVERED with code 4000, one list request for the whole round", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    const sent = await sendAndRecord(tenant, 25);
    const summary = await checker().runOnce();
    expect(summary).to.deep.include({ leased: 25, delivered: 25, undelivered: 0, pending: 0, requests: 1 });
    expect(fake.listRequests).to.have.length(1);
    expect(askedIds()).to.have.members(sent.map((row) => row.messageId));
    for (const row of await rowsOf(sent)) {
      expect(row).to.include({
        delivery_status: "DELIVERED",
        delivery_code: "4000",
        delivery_channel: "sms",
        delivery_checks: 1,
        amount_charged: "10.00",
      });
      expect(row).to.include({ delivery_lease_owner: null, delivery_check_at: null });
    }
    expect(await balanceOf(database.db, tenant)).to.equal("100.00");
    expect(await checker().runOnce(), "nothing left to check").to.equal(undefined);
  });

  it("an UNDELIVERED message refunds its academy exactly once", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "70.00" });
    const failed = await sendAndRecord(tenant, 3, { report: { statusCode: "3043" } });
    const delivered = await sendAndRecord(tenant, 2);
    const summary = await checker().runOnce();
    expect(summary).to.deep.include({ delivered: 2, undelivered: 3 });
    expect(await balanceOf(database.db, tenant)).to.equal("100.00");
    for (const row of await rowsOf(failed)) {
      expect(row).to.include({
        delivery_status: "UNDELIVERED",
        delivery_code: "3043",
        amount_charged: "0.00",
        delivery_note: "3043 handset switched off",
      });
    }
    // Checked again, by a round and by `trace --refresh`: nothing is due, nothing is leased, nothing refunded twice.
    expect(await checker().runOnce()).to.equal(undefined);
    const { log } = capturingLogger();
    const ids = (await rowsOf(failed)).map((row) => Number(row.id));
    const again = await checkNow({ db: database.db, solapi: gateway, log, policy: policy() }, ids, 10_000);
    expect(again.leased).to.equal(0);
    expect(await balanceOf(database.db, tenant)).to.equal("100.00");
    expect((await rowsOf(delivered)).map((row) => row.amount_charged)).to.deep.equal(["10.00", "10.00"]);
  });

  it("a pending message is looked at again later, with back-off, until its result comes", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    const sent = await sendAndRecord(tenant, 2, { sentAgoMs: 1_000, report: { statusCode: "4000", afterMs: 1_500 } });
    const first = await checker().runOnce();
    expect(first).to.deep.include({ leased: 2, pending: 2, delivered: 0 });
    for (const row of await rowsOf(sent)) {
      expect(row).to.include({ delivery_status: null, delivery_code: null, delivery_checks: 1, delivery_lease_owner: null });
      expect(row.delivery_note).to.equal("3000 with the carrier or Kakao, waiting for its report");
      // First delay 1 s, then twice that.
      expect(Number(row.next_in_ms)).to.be.within(1_990, 2_010);
    }
    expect(await checker().runOnce(), "not due yet").to.equal(undefined);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(await checker().runOnce()).to.deep.include({ leased: 2, delivered: 2 });
    for (const row of await rowsOf(sent))
      expect(row).to.include({ delivery_status: "DELIVERED", delivery_checks: 2, delivery_check_at: null });
  });

  it("at the bound: no further look, no result recorded, the charge kept", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "90.00" });
    const sent = await sendAndRecord(tenant, 1, { sentAgoMs: 2_600, report: { statusCode: "3043", afterMs: 3_600_000 } });
    const bounded = policy({ boundMs: 3_000 });
    const pending = checker({ policy: bounded });
    expect(await pending.runOnce()).to.deep.include({ pending: 1 });
    // The last look falls on the bound itself.
    expect(Number((await rowsOf(sent))[0]!.next_in_ms)).to.be.within(300, 500);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const last = checker({ policy: bounded });
    expect(await last.runOnce()).to.deep.include({ pending: 0, gaveUp: 1 });
    const [row] = await rowsOf(sent);
    expect(row).to.include({
      delivery_status: null,
      delivery_code: null,
      delivery_check_at: null,
      delivery_checks: 2,
      amount_charged: "10.00",
    });
    expect(row!.delivery_note).to.equal("no final result within 3 s; last: 3000 with the carrier or Kakao, waiting for its report");
    expect(last.lines().find((line) => line.message === "delivery result unknown: no further checks")).to.include({
      job: sent[0]!.key,
      tenant_id: tenant,
    });
    expect(await balanceOf(database.db, tenant)).to.equal("90.00");
    expect(await checker({ policy: bounded }).runOnce()).to.equal(undefined);
  });

  it("four checkers racing on the same due rows: each row looked up once, refunded once", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "0.00" });
    const sent = [
      ...(await sendAndRecord(tenant, 150, { report: { statusCode: "3104" } })),
      ...(await sendAndRecord(tenant, 150, { report: { statusCode: "3104" } })),
    ];
    const racers = Array.from({ length: 4 }, () => checker({ batchSize: 40 }));
    const summaries = await Promise.all(
      racers.map(async (racer) => {
        const mine = [];
        for (let summary = await racer.runOnce(); summary; summary = await racer.runOnce()) mine.push(summary);
        return mine;
      }),
    );
    const all = summaries.flat();
    expect(summaries.filter((mine) => mine.length > 0).length, "rounds spread over the racers").to.be.above(1);
    expect(all.reduce((sum, summary) => sum + summary.leased, 0)).to.equal(300);
    expect(all.reduce((sum, summary) => sum + summary.undelivered, 0)).to.equal(300);
    expect(askedIds()).to.have.length(300);
    expect(new Set(askedIds()).size).to.equal(300);
    expect(await balanceOf(database.db, tenant)).to.equal("3000.00");
    expect((await rowsOf(sent)).every((row) => row.delivery_status === "UNDELIVERED" && row.amount_charged === "0.00")).to.equal(true);
  });

  it("rounds that found the same due rows: one conditional UPDATE leases each to one of them", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "0.00" });
    await sendAndRecord(tenant, 30);
    const found = await findFirstChecks(database.db, { firstCheckMs: 1_000, boundMs: 60_000, limit: 100 });
    expect(found).to.have.length(30);
    const leased = await Promise.all(["round-a", "round-b", "round-c"].map((owner) => leaseDueChecks(database.db, found, owner, 10_000)));
    expect(leased.reduce((sum, count) => sum + count, 0)).to.equal(30);
    expect(leased.filter((count) => count > 0)).to.have.length(1);
  });

  /** A gateway whose look-ups wait until `open` is called (a paused or dying worker). */
  function pausedGateway(): { solapi: SolapiGateway; open: () => void } {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    return { solapi: { ...gateway, listMessages: async (query) => (await gate, gateway.listMessages(query)) }, open };
  }

  it("a checker whose lease lapsed mid-check cannot write; the one that took over does, once", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "0.00" });
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
    expect(await balanceOf(database.db, tenant)).to.equal("40.00");
    for (const row of await rowsOf(sent)) expect(row).to.include({ delivery_status: "UNDELIVERED", delivery_checks: 2 });
  });

  it("a lease that lapsed with nobody taking over is not written either: the check falls due again", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "0.00" });
    const sent = await sendAndRecord(tenant, 2, { report: { statusCode: "3104" } });
    const paused = pausedGateway();
    const slowRound = checker({ solapi: paused.solapi, leaseMs: 300 }).runOnce();
    await new Promise((resolve) => setTimeout(resolve, 450));
    paused.open();
    expect(await slowRound).to.deep.include({ lost: 2, undelivered: 0 });
    expect(await balanceOf(database.db, tenant)).to.equal("0.00");
    expect(await checker().runOnce()).to.deep.include({ leased: 2, undelivered: 2 });
    expect(await balanceOf(database.db, tenant)).to.equal("20.00");
    expect((await rowsOf(sent)).map((row) => row.delivery_checks)).to.deep.equal([2, 2]);
  });

  it("a checker killed mid-check loses nothing: the next one picks its rows up once the lease lapses", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
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
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00" });
    const sent = await sendAndRecord(tenant, 2);
    fake.listFault = "hang";
    const first = checker({ leaseMs: 400 });
    first.start();
    while (fake.listRequests.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const stoppedAt = Date.now();
    first.stop();
    expect(Date.now() - stoppedAt).to.be.below(50);
    fake.listFault = undefined;
    const second = checker();
    second.start();
    const deadline = Date.now() + 10_000;
    while ((await rowsOf(sent)).some((row) => row.delivery_status === null) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    second.stop();
    expect((await rowsOf(sent)).map((row) => row.delivery_status)).to.deep.equal(["DELIVERED", "DELIVERED"]);
  });

  for (const [fault, note] of [
    ["unreadable", /^Solapi could not be asked: unreadable Solapi answer: /],
    ["omit", /^not in Solapi's answer$/],
    ["no-status", /^unreadable status code null$/],
    ["HTTP 500", /^Solapi could not be asked: Solapi 500 /],
  ] as const) {
    it(`a ${fault} list answer is never recorded as delivered or undelivered; it is asked again later`, async () => {
      const tenant = nextTenant();
      await seedTenant(database.db, { id: tenant, credit: "0.00" });
      const sent = await sendAndRecord(tenant, 2, { report: { statusCode: "3104" } });
      if (fault === "HTTP 500") fake.listStatus = 500;
      else fake.listFault = fault;
      expect(await checker().runOnce()).to.deep.include({ leased: 2, delivered: 0, undelivered: 0, pending: 2 });
      for (const row of await rowsOf(sent)) {
        expect(row).to.include({ delivery_status: null, delivery_code: null, delivery_checks: 1, amount_charged: "10.00" });
        expect(row.delivery_note).to.match(note);
        expect(row.delivery_check_at).to.be.instanceOf(Date);
      }
      expect(await balanceOf(database.db, tenant)).to.equal("0.00");
      fake.listStatus = undefined;
      fake.listFault = undefined;
      await new Promise((resolve) => setTimeout(resolve, 2_050));
      expect(await checker().runOnce()).to.deep.include({ leased: 2, undelivered: 2 });
      expect(await balanceOf(database.db, tenant)).to.equal("20.00");
    });
  }

  it("a both job whose AlimTalk was replaced: the substitute is recorded, and its price charged", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "100.00", sms: "10.00", lms: "30.00", alimtalk: "8.00" });
    const bySms = await sendAndRecord(tenant, 1, { alimtalk: true, amount: "8.00", report: { statusCode: "4000", substitute: "SMS" } });
    const asAlimtalk = await sendAndRecord(tenant, 1, { alimtalk: true, amount: "8.00" });
    const lost = await sendAndRecord(tenant, 1, { alimtalk: true, amount: "8.00", report: { statusCode: "3043", substitute: "SMS" } });
    await checker().runOnce();
    expect((await rowsOf(bySms))[0]).to.include({
      delivery_status: "DELIVERED",
      delivery_code: "4000",
      delivery_channel: "sms",
      amount_charged: "10.00",
    });
    expect((await rowsOf(bySms))[0]!.delivery_note).to.equal("4000 delivered (Solapi's substitute SMS instead of the AlimTalk)");
    expect((await rowsOf(asAlimtalk))[0]).to.include({
      delivery_status: "DELIVERED",
      delivery_channel: "alimtalk",
      amount_charged: "8.00",
    });
    expect((await rowsOf(lost))[0]).to.include({
      delivery_status: "UNDELIVERED",
      delivery_code: "3043",
      delivery_channel: "sms",
      amount_charged: "0.00",
    });
    // +2.00 for the substitute SMS, +8.00 back for the one that never arrived.
    expect(await balanceOf(database.db, tenant)).to.equal("106.00");
  });

  it("a substitute the credits cannot cover keeps the AlimTalk price: credits never go negative", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "5.00", sms: "10.00", lms: "30.00", alimtalk: "8.00" });
    const sent = await sendAndRecord(tenant, 1, { alimtalk: true, amount: "8.00", report: { statusCode: "4000", substitute: "LMS" } });
    await checker().runOnce();
    const [row] = await rowsOf(sent);
    expect(row).to.include({ delivery_status: "DELIVERED", delivery_channel: "lms", amount_charged: "8.00" });
    expect(row!.delivery_note).to.equal(
      "4000 delivered (Solapi's substitute LMS instead of the AlimTalk); credits did not cover the substitute's price, the AlimTalk price stands",
    );
    expect(await balanceOf(database.db, tenant)).to.equal("5.00");
  });

  it("looks a message up by its group when Solapi gave it no id, matched by its job key", async () => {
    const tenant = nextTenant();
    await seedTenant(database.db, { id: tenant, credit: "0.00" });
    const sent = await sendAndRecord(tenant, 3, { report: { statusCode: "3104" } });
    await database.db.query("UPDATE message_log SET message_id = '' WHERE idempotency_key = ?", [sent[1]!.key]);
    expect(await checker().runOnce()).to.deep.include({ leased: 3, undelivered: 3, requests: 2 });
    expect(new URL(fake.listRequests[1]!.path, fake.url).searchParams.get("groupId")).to.match(/^G4V/);
    expect(await balanceOf(database.db, tenant)).to.equal("30.00");
  });

  it("migration 4 applied again changes nothing", async () => {
    await deliveryResults.apply!(database.db);
    await deliveryResults.apply!(database.db);
  });
});

/**
 * Delivery results (issue 10): what a round of the checker records against MariaDB, the real solapi
 * SDK talking to the fake Solapi — results, refunds, the next look and its bound, answers that say
 * nothing, Solapi's substitutes and their price.
 */
import { expect } from "chai";
import { checkNow } from "../../worker/src/delivery/checker";
import { deliveryResults } from "../../worker/src/store/migrations/004-delivery-results";
import { capturingLogger } from "../support/config";
import { useDeliverySuite } from "../support/delivery-suite";

describe("delivery results (MySQL, fake Solapi)", function () {
  this.timeout(60_000);
  const suite = useDeliverySuite();
  const { checker, sendAndRecord, rowsOf, askedIds, policy } = suite;

  it("records DELIVERED with code 4000, one list request for the whole round", async () => {
    const tenant = await suite.tenant({ credit: "100.00" });
    const sent = await sendAndRecord(tenant, 25);
    const summary = await checker().runOnce();
    expect(summary).to.deep.include({ leased: 25, delivered: 25, undelivered: 0, pending: 0, requests: 1 });
    expect(suite.fake.listRequests).to.have.length(1);
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
    expect(await suite.balance(tenant)).to.equal("100.00");
    expect(await checker().runOnce(), "nothing left to check").to.equal(undefined);
  });

  it("an UNDELIVERED message refunds its academy exactly once", async () => {
    const tenant = await suite.tenant({ credit: "70.00" });
    const failed = await sendAndRecord(tenant, 3, { report: { statusCode: "3043" } });
    const delivered = await sendAndRecord(tenant, 2);
    const summary = await checker().runOnce();
    expect(summary).to.deep.include({ delivered: 2, undelivered: 3 });
    expect(await suite.balance(tenant)).to.equal("100.00");
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
    const again = await checkNow({ db: suite.database.db, solapi: suite.gateway, log, policy: policy() }, ids, 10_000);
    expect(again.leased).to.equal(0);
    expect(await suite.balance(tenant)).to.equal("100.00");
    expect((await rowsOf(delivered)).map((row) => row.amount_charged)).to.deep.equal(["10.00", "10.00"]);
  });

  it("a pending message is looked at again later, with back-off, until its result comes", async () => {
    const tenant = await suite.tenant({ credit: "100.00" });
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
    const tenant = await suite.tenant({ credit: "90.00" });
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
    expect(await suite.balance(tenant)).to.equal("90.00");
    expect(await checker({ policy: bounded }).runOnce()).to.equal(undefined);
  });

  for (const [fault, note] of [
    ["unreadable", /^Solapi could not be asked: unreadable Solapi answer: /],
    ["omit", /^not in Solapi's answer$/],
    ["no-status", /^unreadable status code null$/],
    ["HTTP 500", /^Solapi could not be asked: Solapi 500 /],
  ] as const) {
    it(`a ${fault} list answer is never recorded as delivered or undelivered; it is asked again later`, async () => {
      const tenant = await suite.tenant({ credit: "0.00" });
      const sent = await sendAndRecord(tenant, 2, { report: { statusCode: "3104" } });
      if (fault === "HTTP 500") suite.fake.listStatus = 500;
      else suite.fake.listFault = fault;
      expect(await checker().runOnce()).to.deep.include({ leased: 2, delivered: 0, undelivered: 0, pending: 2 });
      for (const row of await rowsOf(sent)) {
        expect(row).to.include({ delivery_status: null, delivery_code: null, delivery_checks: 1, amount_charged: "10.00" });
        expect(row.delivery_note).to.match(note);
        expect(row.delivery_check_at).to.be.instanceOf(Date);
      }
      expect(await suite.balance(tenant)).to.equal("0.00");
      suite.fake.listStatus = undefined;
      suite.fake.listFault = undefined;
      await new Promise((resolve) => setTimeout(resolve, 2_050));
      expect(await checker().runOnce()).to.deep.include({ leased: 2, undelivered: 2 });
      expect(await suite.balance(tenant)).to.equal("20.00");
    });
  }

  it("a both job whose AlimTalk was replaced: the substitute is recorded, and its price charged", async () => {
    const tenant = await suite.tenant({ credit: "100.00", sms: "10.00", lms: "30.00", alimtalk: "8.00" });
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
    expect(await suite.balance(tenant)).to.equal("106.00");
  });

  it("a substitute the credits cannot cover keeps the AlimTalk price: credits never go negative", async () => {
    const tenant = await suite.tenant({ credit: "5.00", sms: "10.00", lms: "30.00", alimtalk: "8.00" });
    const sent = await sendAndRecord(tenant, 1, { alimtalk: true, amount: "8.00", report: { statusCode: "4000", substitute: "LMS" } });
    await checker().runOnce();
    const [row] = await rowsOf(sent);
    expect(row).to.include({ delivery_status: "DELIVERED", delivery_channel: "lms", amount_charged: "8.00" });
    expect(row!.delivery_note).to.equal(
      "4000 delivered (Solapi's substitute LMS instead of the AlimTalk); credits did not cover the substitute's price, the AlimTalk price stands",
    );
    expect(await suite.balance(tenant)).to.equal("5.00");
  });

  it("looks a message up by its group when Solapi gave it no id, matched by its job key", async () => {
    const tenant = await suite.tenant({ credit: "0.00" });
    const sent = await sendAndRecord(tenant, 3, { report: { statusCode: "3104" } });
    await suite.database.db.query("UPDATE message_log SET message_id = '' WHERE idempotency_key = ?", [sent[1]!.key]);
    expect(await checker().runOnce()).to.deep.include({ leased: 3, undelivered: 3, requests: 2 });
    expect(new URL(suite.fake.listRequests[1]!.path, suite.fake.url).searchParams.get("groupId")).to.match(/^G4V/);
    expect(await suite.balance(tenant)).to.equal("30.00");
  });

  it("migration 4 applied again changes nothing", async () => {
    await deliveryResults.apply!(suite.database.db);
    await deliveryResults.apply!(suite.database.db);
  });
});

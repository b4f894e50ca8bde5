import { expect } from "chai";
import { fromCents, toCents } from "../../worker/src/money";
import { type ChargeCandidate, type ChargePlan, debitTenant, planCharges, refundsOf } from "../../worker/src/store/charge-plan";

const PRICES = { sms: "10.00", lms: "30.00", alimtalk: "8.00" };

let rows = 0;
function candidate(tenantId: number, extra: Partial<ChargeCandidate> = {}): ChargeCandidate {
  rows += 1;
  return { id: `${tenantId}:job-${rows}`, rowId: rows, tenantId, channel: "sms", prices: PRICES, ...extra };
}

/**
 * Runs a plan against tenants' credits held in memory, the way the fence runs it against the tenants
 * table: refunds first, then each tenant's debits, each taken only when the credits cover it.
 */
async function run(plan: ChargePlan, credits: Record<number, string>) {
  const balance = new Map(Object.entries(credits).map(([tenantId, amount]) => [Number(tenantId), toCents(amount)]));
  const debits: string[] = [];
  for (const refund of plan.refunds) balance.set(refund.tenantId, (balance.get(refund.tenantId) ?? 0) + toCents(refund.amount));
  const charged: string[] = [];
  const short: string[] = [];
  for (const tenant of plan.tenants) {
    const coverage = await debitTenant(tenant, async (amount) => {
      const left = balance.get(tenant.tenantId) ?? 0;
      const covered = left >= toCents(amount);
      if (covered) balance.set(tenant.tenantId, left - toCents(amount));
      debits.push(`${tenant.tenantId}: ${amount} ${covered ? "taken" : "refused"}`);
      return covered;
    });
    charged.push(...coverage.charged.map((charge) => charge.id));
    short.push(...coverage.short.map((charge) => charge.id));
  }
  const balances = Object.fromEntries([...balance].map(([tenantId, cents]) => [tenantId, fromCents(cents)]));
  return { debits, charged, short, balances };
}

describe("charge plan: the fence's money, without the database", () => {
  it("credits exactly enough for the group: one debit of the total, every job charged", async () => {
    const jobs = [candidate(7), candidate(7), candidate(7)];
    const plan = planCharges(jobs);
    expect(plan.tenants).to.have.length(1);
    expect(plan.tenants[0]).to.deep.include({ tenantId: 7, total: "30.00" });
    const result = await run(plan, { 7: "30.00" });
    expect(result.debits).to.deep.equal(["7: 30.00 taken"]);
    expect(result.charged).to.deep.equal(jobs.map((job) => job.id));
    expect(result.short).to.deep.equal([]);
    expect(result.balances).to.deep.equal({ 7: "0.00" });
  });

  it("one job short: the total is refused, then the jobs are debited one by one, in order, as far as the credits reach", async () => {
    const jobs = [candidate(7), candidate(7), candidate(7)];
    const result = await run(planCharges(jobs), { 7: "29.99" });
    expect(result.debits).to.deep.equal(["7: 30.00 refused", "7: 10.00 taken", "7: 10.00 taken", "7: 10.00 refused"]);
    expect(result.charged).to.deep.equal([jobs[0]!.id, jobs[1]!.id]);
    expect(result.short).to.deep.equal([jobs[2]!.id]);
    expect(result.balances).to.deep.equal({ 7: "9.99" });
  });

  it("a free channel needs no debit and goes even with no credits", async () => {
    const free = candidate(7, { channel: "alimtalk", prices: { ...PRICES, alimtalk: "0.00" } });
    const paid = candidate(7);
    const result = await run(planCharges([free, paid]), { 7: "0.00" });
    expect(result.debits).to.deep.equal(["7: 10.00 refused", "7: 10.00 refused"]);
    expect(result.charged).to.deep.equal([free.id]);
    expect(result.short).to.deep.equal([paid.id]);
  });

  it("a `both` job falling back: its AlimTalk charge is refunded, then the SMS price charged", async () => {
    const fallback = candidate(7, { channel: "sms", replaces: "8.00" });
    const plan = planCharges([fallback]);
    expect(plan.refunds).to.deep.equal([{ tenantId: 7, amount: "8.00" }]);
    expect(plan.tenants[0]!.charges).to.deep.equal([{ id: fallback.id, rowId: fallback.rowId, channel: "sms", price: "10.00" }]);
    // 2.00 left after the AlimTalk: only its refund makes the SMS affordable.
    const result = await run(plan, { 7: "2.00" });
    expect(result.charged).to.deep.equal([fallback.id]);
    expect(result.balances).to.deep.equal({ 7: "0.00" });
  });

  it("two tenants are never mixed: each is planned, refunded and debited on its own, in lock order", async () => {
    const rich = [candidate(9), candidate(9, { channel: "lms", replaces: "8.00" })];
    const poor = [candidate(4), candidate(4, { replaces: "3.00" })];
    const plan = planCharges([rich[0]!, poor[0]!, rich[1]!, poor[1]!]);
    expect(plan.refunds).to.deep.equal([
      { tenantId: 4, amount: "3.00" },
      { tenantId: 9, amount: "8.00" },
    ]);
    expect(plan.tenants.map((tenant) => [tenant.tenantId, tenant.total, tenant.charges.map((charge) => charge.id)])).to.deep.equal([
      [4, "20.00", poor.map((job) => job.id)],
      [9, "40.00", rich.map((job) => job.id)],
    ]);
    const result = await run(plan, { 4: "7.00", 9: "100.00" });
    expect(result.debits).to.deep.equal(["4: 20.00 refused", "4: 10.00 taken", "4: 10.00 refused", "9: 40.00 taken"]);
    expect(result.short).to.deep.equal([poor[1]!.id]);
    expect(result.balances).to.deep.equal({ 4: "0.00", 9: "68.00" });
  });

  it("amounts stay DECIMAL strings, summed in whole cents: never a float's 0.30000000000000004", () => {
    const dimes = { sms: "0.10", lms: "0.20", alimtalk: "0.07" };
    const plan = planCharges([
      candidate(3, { prices: dimes }),
      candidate(3, { channel: "lms", prices: dimes }),
      candidate(3, { channel: "alimtalk", prices: dimes, replaces: "0.10" }),
      candidate(3, { channel: "alimtalk", prices: dimes, replaces: "0.20" }),
    ]);
    expect(plan.tenants[0]!.total).to.equal("0.44");
    expect(plan.tenants[0]!.charges.map((charge) => charge.price)).to.deep.equal(["0.10", "0.20", "0.07", "0.07"]);
    expect(plan.refunds).to.deep.equal([{ tenantId: 3, amount: "0.30" }]);
  });

  it("refundsOf: what the rows carry, summed per tenant in lock order; tenants owed nothing are left out", () => {
    const refunds = refundsOf([
      { tenantId: 8, amount: "10.00" },
      { tenantId: 2, amount: "0.00" },
      { tenantId: 8, amount: "0.01" },
      { tenantId: 5, amount: "30.00" },
    ]);
    expect(refunds).to.deep.equal([
      { tenantId: 5, amount: "30.00" },
      { tenantId: 8, amount: "10.01" },
    ]);
  });
});

/**
 * The money of the fence, planned without the database: what each job costs, the refunds of the
 * charges it replaces, each tenant's total, and which jobs the credits do not cover. Sums are made
 * in whole cents; the amounts handed to SQL stay DECIMAL strings. The fence (fence.ts) runs the plan.
 */
import { fromCents, toCents } from "../money";
import type { Channel } from "../solapi/messages";
import { type Prices, priceFor } from "./send-log-rules";
import { type Amount, byTenantInLockOrder } from "./tenants";

/** A job cleared by the fence to be charged for a channel. */
export interface ChargeCandidate {
  /** The job's identity in this process. */
  id: string;
  rowId: number;
  tenantId: number;
  channel: Channel;
  prices: Prices;
  /** The charge the job's row carries now: a `both` job falling back gets it back before its next channel is charged. */
  replaces?: Amount;
}

export interface PlannedCharge {
  id: string;
  rowId: number;
  channel: Channel;
  /** As the tenant's row holds it. */
  price: Amount;
}

/** One tenant's charges, in the order the jobs came. */
export interface TenantCharges {
  tenantId: number;
  /** The charges' sum: debited in one statement when the credits cover it. */
  total: Amount;
  charges: PlannedCharge[];
}

export interface Credit {
  tenantId: number;
  amount: Amount;
}

export interface ChargePlan {
  /** Replaced charges given back, a tenant at a time in lock order. */
  refunds: Credit[];
  /** The debits, a tenant at a time in lock order. */
  tenants: TenantCharges[];
}

/** What a tenant's credits covered. */
export interface Coverage {
  charged: PlannedCharge[];
  /** Refused for a short balance. */
  short: PlannedCharge[];
}

const isFree = (amount: Amount) => toCents(amount) === 0;

/** The sum, per tenant in lock order, of the amounts the rows carry; tenants owed nothing are left out. */
export function refundsOf(claims: readonly { tenantId: number; amount: Amount }[]): Credit[] {
  return byTenantInLockOrder(claims, (claim) => claim.tenantId).flatMap(([tenantId, tenantClaims]) => {
    const cents = tenantClaims.reduce((sum, claim) => sum + toCents(claim.amount), 0);
    return cents > 0 ? [{ tenantId, amount: fromCents(cents) }] : [];
  });
}

export function planCharges(candidates: readonly ChargeCandidate[]): ChargePlan {
  const replaced = candidates.flatMap((candidate) =>
    candidate.replaces === undefined ? [] : [{ tenantId: candidate.tenantId, amount: candidate.replaces }],
  );
  const tenants = byTenantInLockOrder(candidates, (candidate) => candidate.tenantId).map(([tenantId, tenantCandidates]) => {
    const charges = tenantCandidates.map(({ id, rowId, channel, prices }) => ({ id, rowId, channel, price: priceFor(channel, prices) }));
    const total = fromCents(charges.reduce((sum, charge) => sum + toCents(charge.price), 0));
    return { tenantId, total, charges };
  });
  return { refunds: refundsOf(replaced), tenants };
}

/** Takes `amount` from the tenant's credits only if they cover it; says whether they did. */
export type Debit = (amount: Amount) => Promise<boolean>;

/**
 * One tenant's debits, in the order the fence makes them: the whole total first; only when it is
 * refused each job on its own, in order, so the credits go as far as they reach. A free job (or
 * total) needs no debit. Returns which jobs were charged and which are short.
 */
export async function debitTenant(tenant: TenantCharges, debit: Debit): Promise<Coverage> {
  if (isFree(tenant.total) || (await debit(tenant.total))) return { charged: [...tenant.charges], short: [] };
  const coverage: Coverage = { charged: [], short: [] };
  for (const charge of tenant.charges) {
    if (isFree(charge.price) || (await debit(charge.price))) coverage.charged.push(charge);
    else coverage.short.push(charge);
  }
  return coverage;
}

/**
 * The fence before Solapi, in one transaction for a group: lock the claims — only the owner of a
 * live claim gets past — refund replaced charges, debit each tenant (all its jobs in one conditional
 * UPDATE when its credits cover them, else job by job), mark the sends started and stretch the claims
 * over them. The money is planned in charge-plan.ts; here are its statements, in lock order.
 */
import { performance } from "node:perf_hooks";
import type { ChargeRequest } from "../pipeline/ledger-port";
import { type JobOutcome, retry } from "../pipeline/outcome";
import type { SendWindow } from "../pipeline/send-window";
import { type ChargeCandidate, type Coverage, debitTenant, type PlannedCharge, planCharges } from "./charge-plan";
import { clearCharges, lockClaims, markSendsStarted } from "./message-log-fence";
import type { Connection } from "./pool";
import type { Prices } from "./send-log-rules";
import { creditBack, debitCredits } from "./tenants";

/** A job whose claim this process holds, to be charged for a channel. */
export interface FenceEntry {
  request: ChargeRequest;
  rowId: number;
  owner: string;
  prices: Prices;
}

/** One attempt at the fence; everything it decides is returned, so a retried transaction starts clean. */
export interface FenceResult {
  refusals: Map<string, JobOutcome>;
  /** Claims another worker holds now: this process lets go of them. */
  lost: string[];
  /** The rows whose sends may start. */
  started: number[];
  startBy?: number;
}

/** Locks the entries' claims; the ones still live and ours become candidates for a charge, the rest are refused. */
async function lockLiveClaims(connection: Connection, entries: readonly FenceEntry[], result: FenceResult): Promise<ChargeCandidate[]> {
  const locked = await lockClaims(
    connection,
    entries.map((entry) => entry.rowId),
    entries.map((entry) => entry.owner),
  );
  const candidates: ChargeCandidate[] = [];
  for (const { request, rowId, owner, prices } of entries) {
    const lock = locked.get(rowId);
    if (lock?.owner !== owner) {
      result.lost.push(request.item.id);
      result.refusals.set(request.item.id, retry("another worker took this job's claim"));
    } else if (!lock.leaseLive) {
      result.refusals.set(
        request.item.id,
        retry("this worker's claim ran out before the send could start (a pause or a starved CPU?): not sent"),
      );
    } else {
      const replaces = request.replacing ? lock.amountCharged : undefined;
      candidates.push({ id: request.item.id, rowId, tenantId: request.item.job.tenantId, channel: request.channel, prices, replaces });
    }
  }
  return candidates;
}

/** Gives back replaced charges, then runs each tenant's debits (charge-plan.ts's debitTenant) as conditional UPDATEs, in lock order. */
async function chargeTenants(connection: Connection, candidates: readonly ChargeCandidate[]): Promise<Coverage> {
  const plan = planCharges(candidates);
  for (const refund of plan.refunds) await creditBack(connection, refund.tenantId, refund.amount);
  const charged: PlannedCharge[] = [];
  const short: PlannedCharge[] = [];
  for (const tenant of plan.tenants) {
    const coverage = await debitTenant(tenant, (amount) => debitCredits(connection, tenant.tenantId, amount));
    charged.push(...coverage.charged);
    short.push(...coverage.short);
  }
  return { charged, short };
}

export async function passFence(connection: Connection, entries: readonly FenceEntry[], window: SendWindow): Promise<FenceResult> {
  const result: FenceResult = { refusals: new Map(), lost: [], started: [] };
  const { charged, short } = await chargeTenants(connection, await lockLiveClaims(connection, entries, result));
  for (const { id, channel, price } of short) {
    result.refusals.set(id, {
      kind: "skipped",
      status: "SKIPPED_BALANCE",
      reason: `credits do not cover the ${channel} price of ${price}`,
    });
  }
  await clearCharges(
    connection,
    short.map((charge) => charge.rowId),
  );
  // Taken before the send mark is written, so the request's deadline can only fall inside the database's window.
  if (charged.length > 0) result.startBy = performance.now() + window.startBudgetMs;
  await markSendsStarted(
    connection,
    charged.map(({ rowId, channel, price }) => ({ rowId, channel, amount: price })),
    window,
  );
  result.started = charged.map((charge) => charge.rowId);
  return result;
}

/**
 * The MySQL ledger: the send log's claims and leases, tenant credits and the reservation check,
 * behind the pipeline's Ledger interface. Every money movement shares a transaction with the
 * claim row it belongs to, so a refund can happen only once.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { backOff } from "exponential-backoff";
import { maskPhone, type Logger } from "../log";
import { decideClaim, type JobOutcome, type Prices, priceFor, type SendDefaults, type Transition, transitionFor } from "../pipeline/decide";
import { findEarlierSend, type Ledger, type ReceivedJob } from "../pipeline/ledger";
import type { SolapiGateway } from "../solapi/client";
import {
  clearCharge,
  closeClaim,
  extendLeases,
  findLogEntry,
  insertClaim,
  lockClaim,
  markSendStarted,
  recordSent,
  recipientHash,
  releaseClaim,
  takeOverClaim,
  type LogEntry,
  type NewClaim,
} from "./message-log";
import { DatabaseHealth } from "./health";
import { type Db, inTransaction } from "./pool";
import { CANCELLED, reservationStatus } from "./reservations";
import { creditBack, debitCredits, findTenant } from "./tenants";

export interface MysqlLedgerOptions {
  db: Db;
  solapi: SolapiGateway;
  /** From the environment; a tenant's own sender and Kakao channel come first. */
  defaults: SendDefaults;
  log: Logger;
  /** Identifies this process's claims; unique per process by default. */
  owner?: string;
}

/** What this process knows of a job it has claimed and not yet finished. */
interface HeldClaim {
  tenantId: number;
  prices: Prices;
  /** When the claim's lease ends (ms since the epoch, this machine's clock). */
  leaseEndsAt: number;
}

const NO_PRICES: Prices = { sms: "0", lms: "0", alimtalk: "0" };

const isPositive = (amount: string) => Number(amount) > 0;
const BUSY_WAIT_MS = 3_000;
const BUSY_POLL_MS = 100;

function retry(reason: string, options: { ambiguous?: boolean; minDelaySeconds?: number } = {}): JobOutcome {
  return { kind: "retry", reason, ambiguous: options.ambiguous ?? false, minDelaySeconds: options.minDelaySeconds ?? 0, alert: false };
}

export function mysqlLedger(options: MysqlLedgerOptions): Ledger {
  const { db, solapi, log } = options;
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const held = new Map<string, HeldClaim>();
  const health = new DatabaseHealth(db, log);

  function claimFor(item: ReceivedJob): NewClaim {
    return {
      key: item.key,
      tenantId: item.job.tenantId,
      mode: item.job.mode,
      recipient: maskPhone(item.job.to),
      recipientHash: recipientHash(item.job.to),
      eventType: item.job.eventType,
      targetName: item.job.targetName,
      reservationId: item.job.reservationId,
      sqsMessageId: item.sqsMessageId,
      receiveCount: item.receiveCount,
      owner,
      leaseMs: item.leaseMs,
    };
  }

  /** Refunds whatever the claim carries and clears its send mark: the previous attempt sent nothing. */
  async function refundClaim(key: string): Promise<void> {
    await inTransaction(db, async (connection) => {
      const claim = await lockClaim(connection, key, owner);
      if (!claim) return;
      if (isPositive(claim.amountCharged)) await creditBack(connection, claim.tenantId, claim.amountCharged);
      await clearCharge(connection, key);
    });
  }

  /**
   * The row of a job claimed before. A claim held by a live worker is usually a copy of a job being
   * finished right now: wait a little for it rather than spend one of the copy's receives.
   */
  async function settledRow(key: string): Promise<LogEntry | undefined> {
    const deadline = Date.now() + BUSY_WAIT_MS;
    for (;;) {
      const row = await findLogEntry(db, key);
      if (!row || row.status !== "CLAIMED" || row.leaseExpired || Date.now() >= deadline) return row;
      await sleep(BUSY_POLL_MS);
    }
  }

  /** Claims the job: fresh, or taken over from an expired lease. An outcome when it may not go on. */
  async function claim(item: ReceivedJob): Promise<JobOutcome | undefined> {
    const newClaim = claimFor(item);
    if (await insertClaim(db, newClaim)) return undefined;
    const row = await settledRow(item.key);
    if (!row) return retry("the job's log row vanished while it was being claimed");
    const decision = decideClaim(row);
    switch (decision.decision) {
      case "done":
        return { kind: "duplicate", status: decision.status, reason: `already ${decision.status} by an earlier delivery` };
      case "unknown":
        return { kind: "unknown", reason: "an earlier attempt's outcome is unknown (status UNKNOWN)" };
      case "busy":
        // Usually a copy of a job another worker is finishing right now: look again after the usual back-off.
        return retry("another worker holds this job's claim");
      case "take-over":
        if (!(await takeOverClaim(db, item.key, newClaim))) return retry("another worker took this job's claim first");
        if (!decision.uncertain) return undefined;
    }
    // A send began under the expired claim and its answer was never written: ask Solapi.
    held.set(item.key, { tenantId: item.job.tenantId, prices: NO_PRICES, leaseEndsAt: Date.now() + item.leaseMs });
    let earlier: JobOutcome | undefined;
    try {
      earlier = await findEarlierSend(solapi, item);
    } catch (error) {
      return retry(`an earlier attempt may have been sent and Solapi cannot be asked: ${error instanceof Error ? error.message : String(error)}`, {
        ambiguous: true,
      });
    }
    if (earlier) return earlier;
    await refundClaim(item.key);
    return undefined;
  }

  async function write(key: string, item: ReceivedJob, outcome: JobOutcome, transition: Transition): Promise<void> {
    switch (transition.write) {
      case "none":
        return;
      case "sent": {
        if (outcome.kind !== "sent") return;
        const recorded = await recordSent(db, key, owner, outcome);
        if (!recorded) log.error("a sent job's claim was lost before it was recorded", { job: key, tenant_id: item.job.tenantId });
        return;
      }
      case "close":
        await inTransaction(db, async (connection) => {
          const claimRow = await lockClaim(connection, key, owner);
          if (!claimRow) return;
          if (isPositive(claimRow.amountCharged)) await creditBack(connection, claimRow.tenantId, claimRow.amountCharged);
          await clearCharge(connection, key);
          await closeClaim(connection, key, transition.status, transition.reason);
        });
        return;
      case "unknown":
        await inTransaction(db, async (connection) => {
          if (await lockClaim(connection, key, owner)) await closeClaim(connection, key, "UNKNOWN", transition.reason);
        });
        return;
      case "release":
        if (transition.refund) await refundClaim(key);
        await releaseClaim(db, key, owner, transition.reason);
        return;
    }
  }

  const ledger: Ledger = {
    async admit(item) {
      const turnedAway = await claim(item);
      if (turnedAway) return { admitted: false, outcome: turnedAway };
      const leaseEndsAt = Date.now() + item.leaseMs;
      held.set(item.key, { tenantId: item.job.tenantId, prices: NO_PRICES, leaseEndsAt });

      const tenant = await findTenant(db, item.job.tenantId);
      if (!tenant) return { admitted: false, outcome: { kind: "failed", reason: `tenant ${item.job.tenantId} does not exist` } };
      if (!tenant.messagingEnabled) {
        return { admitted: false, outcome: { kind: "skipped", status: "SKIPPED_BALANCE", reason: `messaging is disabled for tenant ${tenant.id}` } };
      }
      if (item.job.reservationId !== undefined) {
        const status = await reservationStatus(db, tenant.id, item.job.reservationId);
        if (status === CANCELLED) {
          return { admitted: false, outcome: { kind: "skipped", status: "SKIPPED_CANCELLED", reason: `reservation ${item.job.reservationId} is cancelled` } };
        }
      }
      held.set(item.key, { tenantId: tenant.id, prices: tenant.prices, leaseEndsAt });
      return {
        admitted: true,
        defaults: {
          sender: tenant.sender ?? options.defaults.sender,
          pfId: tenant.kakaoPfId ?? options.defaults.pfId,
          templateId: options.defaults.templateId,
        },
      };
    },

    async charge(item, channel, replacing) {
      const claimed = held.get(item.key);
      if (!claimed) return retry("the job is not claimed by this worker");
      const price = priceFor(channel, claimed.prices);
      return inTransaction(db, async (connection) => {
        const claimRow = await lockClaim(connection, item.key, owner);
        if (!claimRow) {
          held.delete(item.key);
          return retry("another worker took this job's claim");
        }
        if (replacing && isPositive(claimRow.amountCharged)) await creditBack(connection, claimRow.tenantId, claimRow.amountCharged);
        if (isPositive(price) && !(await debitCredits(connection, claimRow.tenantId, price))) {
          await clearCharge(connection, item.key);
          return { kind: "skipped", status: "SKIPPED_BALANCE", reason: `credits do not cover the ${channel} price of ${price}` } as const;
        }
        await markSendStarted(connection, item.key, channel, price);
        return undefined;
      });
    },

    async finish(item, outcome, action) {
      const claimed = held.get(item.key);
      if (!claimed) return undefined;
      held.delete(item.key);
      const transition = transitionFor(outcome, action);
      try {
        await backOff(() => write(item.key, item, outcome, transition), { numOfAttempts: 4, startingDelay: 100, timeMultiple: 4, jitter: "full" });
        return undefined;
      } catch (error) {
        health.note(error);
        const sent = outcome.kind === "sent" || (outcome.kind === "retry" && outcome.ambiguous);
        // The claim could not be released either: come back only once it has expired, or the job
        // would find its own stale claim "busy".
        const leaseLeftSeconds = Math.max(0, Math.ceil((claimed.leaseEndsAt - Date.now()) / 1000)) + 1;
        return retry(`could not write the send log: ${error instanceof Error ? error.message : String(error)}`, {
          ambiguous: sent,
          minDelaySeconds: leaseLeftSeconds,
        });
      }
    },

    async extend(keys, leaseMs) {
      const mine = keys.filter((key) => held.has(key));
      await extendLeases(db, mine, owner, leaseMs);
      for (const key of mine) held.get(key)!.leaseEndsAt = Date.now() + leaseMs;
    },

    ready: (signal) => health.ready(signal),

    async close() {
      await db.end();
    },
  };

  // Every failure passes by the health check on its way out.
  return {
    ...ledger,
    admit: (item) => ledger.admit(item).catch((error: unknown) => health.observe(error)),
    charge: (item, channel, replacing) => ledger.charge(item, channel, replacing).catch((error: unknown) => health.observe(error)),
    extend: (keys, leaseMs) => ledger.extend(keys, leaseMs).catch((error: unknown) => health.observe(error)),
  };
}

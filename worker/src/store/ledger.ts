/**
 * The MySQL ledger: the send log's claims and leases, tenant credits and the reservation check,
 * behind the pipeline's Ledger interface, a group of jobs at a time. Every money movement shares a
 * transaction with the claim rows it belongs to, so a refund can happen only once.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { backOff } from "exponential-backoff";
import type { Logger } from "../log";
import { type JobOutcome, type Prices, priceFor, type SendDefaults, type Transition, transitionFor } from "../pipeline/decide";
import type { Admission, ChargeRequest, Ending, Ledger, ReceivedJob } from "../pipeline/ledger";
import type { SolapiGateway } from "../solapi/client";
import { askSolapi, claimGroup, retry } from "./claims";
import { DatabaseHealth } from "./health";
import {
  clearCharges,
  closeClaim,
  closeClaims,
  extendLeases,
  lockClaim,
  type LockedClaim,
  lockClaims,
  markSendsStarted,
  recordSents,
  releaseClaim,
} from "./message-log";
import { type Connection, type Db, inTransaction } from "./pool";
import type { RecipientHasher } from "./recipient";
import { findReservations, isCancelled } from "./reservations";
import { creditBack, debitCredits, findTenants } from "./tenants";
import { errorMessage } from "../error-message";

export interface MysqlLedgerOptions {
  db: Db;
  solapi: SolapiGateway;
  /** From the environment; a tenant's own sender and Kakao channel come first. */
  defaults: SendDefaults;
  log: Logger;
  /** message_log.recipient_hash of a number: keyed with MESSAGING_RECIPIENT_HASH_SECRET. */
  hashRecipient: RecipientHasher;
}

/** What this process knows of a job it has claimed and not yet finished. */
interface HeldClaim {
  owner: string;
  tenantId: number;
  prices: Prices;
  /** When the claim's lease ends (ms since the epoch, this machine's clock). */
  leaseEndsAt: number;
}

const NO_PRICES: Prices = { sms: "0", lms: "0", alimtalk: "0" };
const cents = (amount: string) => Math.round(Number(amount) * 100);
const amount = (value: number) => (value / 100).toFixed(2);

/** Refunds, per tenant in id order (one lock order for every worker), what the locked claims carry. */
async function refund(connection: Connection, claims: readonly LockedClaim[]): Promise<void> {
  const byTenant = new Map<number, number>();
  for (const claim of claims) byTenant.set(claim.tenantId, (byTenant.get(claim.tenantId) ?? 0) + cents(claim.amountCharged));
  for (const [tenantId, total] of [...byTenant].sort((a, b) => a[0] - b[0])) {
    if (total > 0) await creditBack(connection, tenantId, amount(total));
  }
}

export function mysqlLedger(options: MysqlLedgerOptions): Ledger {
  const { db, solapi, log } = options;
  const processOwner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let claimsMade = 0;
  const held = new Map<string, HeldClaim>();
  const health = new DatabaseHealth(db, log);

  /** Refunds one claim and clears its send mark: its previous attempt sent nothing. */
  async function refundOne(key: string, owner: string): Promise<void> {
    await inTransaction(db, async (connection) => {
      const claim = await lockClaim(connection, key, owner);
      if (!claim) return;
      await refund(connection, [{ key, owner, ...claim }]);
      await clearCharges(connection, [key]);
    });
  }

  async function admit(items: readonly ReceivedJob[]): Promise<Map<string, Admission>> {
    const admissions = new Map<string, Admission>();
    const turnAway = (key: string, outcome: JobOutcome) => admissions.set(key, { admitted: false, outcome });
    const claims = await claimGroup(db, items, () => `${processOwner}#${(claimsMade += 1)}`, options.hashRecipient);
    const claimed: ReceivedJob[] = [];
    await Promise.all(
      items.map(async (item) => {
        const claim = claims.get(item.key)!;
        if (!claim.claimed) return turnAway(item.key, claim.outcome);
        held.set(item.key, { owner: claim.owner, tenantId: item.job.tenantId, prices: NO_PRICES, leaseEndsAt: Date.now() + item.leaseMs });
        if (claim.uncertain) {
          // A send began under the expired claim and its answer was never written: ask Solapi.
          const earlier = await askSolapi(solapi, item);
          if (earlier) return turnAway(item.key, earlier);
          await refundOne(item.key, claim.owner);
        }
        claimed.push(item);
      }),
    );

    const tenants = await findTenants(db, [...new Set(claimed.map((item) => item.job.tenantId))]);
    const reservationIds = claimed.flatMap((item) => (item.job.reservationId === undefined ? [] : [item.job.reservationId]));
    const reservations = await findReservations(db, [...new Set(reservationIds)]);
    for (const item of claimed) {
      const tenant = tenants.get(item.job.tenantId);
      if (!tenant) turnAway(item.key, { kind: "failed", reason: `tenant ${item.job.tenantId} does not exist` });
      else if (!tenant.messagingEnabled) turnAway(item.key, { kind: "skipped", status: "SKIPPED_BALANCE", reason: `messaging is disabled for tenant ${tenant.id}` });
      else if (item.job.reservationId !== undefined && isCancelled(reservations, tenant.id, item.job.reservationId)) {
        turnAway(item.key, { kind: "skipped", status: "SKIPPED_CANCELLED", reason: `reservation ${item.job.reservationId} is cancelled` });
      } else {
        held.get(item.key)!.prices = tenant.prices;
        admissions.set(item.key, {
          admitted: true,
          defaults: { sender: tenant.sender ?? options.defaults.sender, pfId: tenant.kakaoPfId ?? options.defaults.pfId, templateId: options.defaults.templateId },
        });
      }
    }
    return admissions;
  }

  /**
   * One transaction for the group: lock the claims (the fence: only their owners get past), refund
   * replaced charges, debit each tenant — all its jobs in one conditional UPDATE when its credits
   * cover them, else job by job — and mark the sends started.
   */
  async function charge(requests: readonly ChargeRequest[]): Promise<Map<string, JobOutcome>> {
    const refusals = new Map<string, JobOutcome>();
    const mine = requests.filter((request) => held.has(request.item.key));
    for (const request of requests) if (!held.has(request.item.key)) refusals.set(request.item.key, retry("the job is not claimed by this worker"));
    if (mine.length === 0) return refusals;
    await inTransaction(db, async (connection) => {
      const locked = await lockClaims(connection, mine.map((request) => request.item.key), mine.map((request) => held.get(request.item.key)!.owner));
      const charging = mine.filter((request) => {
        if (locked.get(request.item.key)?.owner === held.get(request.item.key)!.owner) return true;
        held.delete(request.item.key);
        refusals.set(request.item.key, retry("another worker took this job's claim"));
        return false;
      });
      await refund(connection, charging.filter((request) => request.replacing).map((request) => locked.get(request.item.key)!));
      const byTenant = new Map<number, ChargeRequest[]>();
      for (const request of charging) byTenant.set(held.get(request.item.key)!.tenantId, [...(byTenant.get(held.get(request.item.key)!.tenantId) ?? []), request]);
      const started: { key: string; channel: ChargeRequest["channel"]; amount: string }[] = [];
      const short: string[] = [];
      for (const [tenantId, tenantRequests] of [...byTenant].sort((a, b) => a[0] - b[0])) {
        const priced = tenantRequests.map((request) => ({ request, price: priceFor(request.channel, held.get(request.item.key)!.prices) }));
        const total = priced.reduce((sum, { price }) => sum + cents(price), 0);
        const all = total === 0 || (await debitCredits(connection, tenantId, amount(total)));
        for (const { request, price } of priced) {
          if (all || cents(price) === 0 || (await debitCredits(connection, tenantId, price))) {
            started.push({ key: request.item.key, channel: request.channel, amount: price });
          } else {
            short.push(request.item.key);
            refusals.set(request.item.key, { kind: "skipped", status: "SKIPPED_BALANCE", reason: `credits do not cover the ${request.channel} price of ${price}` });
          }
        }
      }
      await clearCharges(connection, short);
      await markSendsStarted(connection, started);
    });
    return refusals;
  }

  type Closing = Ending & { transition: Transition; claim: HeldClaim };

  async function recordSent(sent: readonly Closing[]): Promise<void> {
    const recorded = await recordSents(
      db,
      sent.map(({ item, outcome, claim }) => {
        const sentOutcome = outcome as Extract<JobOutcome, { kind: "sent" }>;
        return { key: item.key, owner: claim.owner, channel: sentOutcome.channel, groupId: sentOutcome.groupId, messageId: sentOutcome.messageId };
      }),
    );
    if (recorded < sent.length) log.error("sent jobs' claims were lost before they were recorded", { jobs: sent.length - recorded });
  }

  async function recordClosed(closing: readonly Closing[]): Promise<void> {
    await inTransaction(db, async (connection) => {
      const locked = await lockClaims(connection, closing.map(({ item }) => item.key), closing.map(({ claim }) => claim.owner));
      const mine = closing.filter(({ item, claim }) => locked.get(item.key)?.owner === claim.owner);
      await refund(connection, mine.map(({ item }) => locked.get(item.key)!));
      await closeClaims(
        connection,
        mine.map(({ item, transition }) => {
          const close = transition as Extract<Transition, { write: "close" }>;
          return { key: item.key, status: close.status, reason: close.reason };
        }),
      );
    });
  }

  async function recordOne({ item, transition, claim }: Closing): Promise<void> {
    if (transition.write === "unknown") {
      await inTransaction(db, async (connection) => {
        if (await lockClaim(connection, item.key, claim.owner)) await closeClaim(connection, item.key, "UNKNOWN", transition.reason);
      });
    } else if (transition.write === "release") {
      if (transition.refund) await refundOne(item.key, claim.owner);
      await releaseClaim(db, item.key, claim.owner, transition.reason);
    }
  }

  /** Writes a group's ends: sends in one statement, refused and skipped jobs in one transaction, the rest one by one. */
  async function finish(endings: readonly Ending[]): Promise<Map<string, JobOutcome>> {
    const mine: Closing[] = endings.flatMap((ending) => {
      const claim = held.get(ending.item.key);
      if (!claim) return [];
      held.delete(ending.item.key);
      return [{ ...ending, claim, transition: transitionFor(ending.outcome, ending.action) }];
    });
    const failed = new Map<Closing, unknown>();
    const persist = async (part: readonly Closing[], step: () => Promise<void>) => {
      if (part.length === 0) return;
      try {
        await backOff(step, { numOfAttempts: 4, startingDelay: 100, timeMultiple: 4, jitter: "full" });
      } catch (error) {
        health.note(error);
        for (const closing of part) failed.set(closing, error);
      }
    };
    const sent = mine.filter((closing) => closing.transition.write === "sent" && closing.outcome.kind === "sent");
    const closed = mine.filter((closing) => closing.transition.write === "close");
    await persist(sent, () => recordSent(sent));
    await persist(closed, () => recordClosed(closed));
    for (const closing of mine.filter((candidate) => candidate.transition.write === "unknown" || candidate.transition.write === "release")) {
      await persist([closing], () => recordOne(closing));
    }

    const replaced = new Map<string, JobOutcome>();
    for (const [{ item, outcome, claim }, error] of failed) {
      const uncertain = outcome.kind === "sent" || (outcome.kind === "retry" && outcome.ambiguous);
      // The claim could not be released either: come back only once it has expired, or the job
      // would find its own stale claim "busy".
      const leaseLeftSeconds = Math.max(0, Math.ceil((claim.leaseEndsAt - Date.now()) / 1000)) + 1;
      replaced.set(item.key, retry(`could not write the send log: ${errorMessage(error)}`, { ambiguous: uncertain, minDelaySeconds: leaseLeftSeconds }));
    }
    return replaced;
  }

  // Every failure passes by the health check on its way out.
  return {
    admit: (items) => admit(items).catch((error: unknown) => health.observe(error)),
    charge: (requests) => charge(requests).catch((error: unknown) => health.observe(error)),
    finish,
    async extend(keys, leaseMs) {
      const claims = keys.flatMap((key) => (held.has(key) ? [[key, held.get(key)!] as const] : []));
      await extendLeases(db, claims.map(([key]) => key), claims.map(([, claim]) => claim.owner), leaseMs).catch((error: unknown) => health.observe(error));
      for (const [, claim] of claims) claim.leaseEndsAt = Date.now() + leaseMs;
    },
    ready: (signal) => health.ready(signal),
    close: () => db.end(),
  };
}

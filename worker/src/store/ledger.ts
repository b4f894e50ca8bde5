/**
 * The MySQL ledger: the send log's claims and leases, tenant credits and the admission checks, behind
 * the pipeline's Ledger interface, a group of jobs at a time. Every money movement shares a
 * transaction with the claim rows it belongs to, so a refund can happen only once.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import { backOff } from "exponential-backoff";
import { errorMessage } from "../error-message";
import type { Logger } from "../log";
import { fromCents, toCents } from "../money";
import { type Prices, priceFor, type SendDefaults, type Transition, transitionFor } from "../pipeline/decide";
import type { Admission, ChargeRequest, ChargeResult, ConcludedJob, Ledger, ReceivedJob } from "../pipeline/ledger-port";
import { type JobOutcome, retry } from "../pipeline/outcome";
import type { SendWindow } from "../pipeline/send-window";
import type { SolapiGateway } from "../solapi/client";
import { admitToTenants } from "./admission";
import { askSolapi, claimGroup } from "./claims";
import { DatabaseHealth } from "./health";
import { LeaseKeeper } from "./leases";
import {
  clearCharges,
  closeClaims,
  type LockedClaim,
  lockClaims,
  markSendsStarted,
  markUnknown,
  recordSents,
  releaseClaim,
  rowsMissingSends,
} from "./message-log";
import { type Connection, type Db, inTransaction } from "./pool";
import type { RecipientHasher } from "./recipient";
import { byTenantInLockOrder, creditBack, debitCredits } from "./tenants";

export interface MysqlLedgerOptions {
  db: Db;
  solapi: SolapiGateway;
  /** From the environment; a tenant's own sender and Kakao channel come first. */
  defaults: SendDefaults;
  /** The SQS visibility timeout: a claim is renewed to last as long. */
  leaseMs: number;
  window: SendWindow;
  log: Logger;
  /** message_log.recipient_hash of a number: keyed with MESSAGING_RECIPIENT_HASH_SECRET. */
  hashRecipient: RecipientHasher;
}

/** What this process knows of a job it has claimed and not yet finished. */
interface HeldClaim {
  rowId: number;
  owner: string;
  item: ReceivedJob;
  prices: Prices;
}

const NO_PRICES: Prices = { sms: "0", lms: "0", alimtalk: "0" };

/** Refunds, per tenant in lock order, what the locked claims carry. */
async function refund(connection: Connection, claims: readonly LockedClaim[]): Promise<void> {
  for (const [tenantId, tenantClaims] of byTenantInLockOrder(claims, (claim) => claim.tenantId)) {
    const total = tenantClaims.reduce((sum, claim) => sum + toCents(claim.amountCharged), 0);
    if (total > 0) await creditBack(connection, tenantId, fromCents(total));
  }
}

/** One attempt at the fence; everything it decides is returned, so a retried transaction starts clean. */
interface FenceResult {
  refusals: Map<string, JobOutcome>;
  /** Claims another worker holds now: this process lets go of them. */
  lost: string[];
  started: number[];
  startBy?: number;
}

export function mysqlLedger(options: MysqlLedgerOptions): Ledger {
  const { db, solapi, log, window } = options;
  const processOwner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let claimsMade = 0;
  const held = new Map<string, HeldClaim>();
  const health = new DatabaseHealth(db, log);
  const leases = new LeaseKeeper(db, options.leaseMs, log, (error) => health.note(error));

  function letGo(id: string): HeldClaim | undefined {
    const claim = held.get(id);
    held.delete(id);
    if (claim) leases.forget(claim.rowId);
    return claim;
  }

  /** Refunds one claim and clears its send mark: its previous attempt sent nothing. */
  async function refundOne(claim: Pick<HeldClaim, "rowId" | "owner">): Promise<void> {
    await inTransaction(db, async (connection) => {
      const locked = (await lockClaims(connection, [claim.rowId], [claim.owner])).get(claim.rowId);
      if (!locked) return;
      await refund(connection, [locked]);
      await clearCharges(connection, [claim.rowId]);
    });
  }

  async function admit(items: readonly ReceivedJob[]): Promise<Map<string, Admission>> {
    const admissions = new Map<string, Admission>();
    const turnAway = (item: ReceivedJob, outcome: JobOutcome) => admissions.set(item.id, { admitted: false, outcome });
    const claims = await claimGroup(
      db,
      items,
      () => `${processOwner}#${(claimsMade += 1)}`,
      options.hashRecipient,
      (item, claim) => {
        held.set(item.id, { rowId: claim.rowId, owner: claim.owner, item, prices: NO_PRICES });
        leases.hold(claim.rowId, claim.owner, Date.now() + item.leaseMs);
      },
    );
    const claimed: ReceivedJob[] = [];
    await Promise.all(
      items.map(async (item) => {
        const claim = claims.get(item.id)!;
        if (!claim.claimed) return turnAway(item, claim.outcome);
        if (claim.uncertain) {
          // A send began under the row and settled without its answer written: ask Solapi.
          const earlier = await askSolapi(solapi, item);
          if (earlier) return turnAway(item, earlier);
          await refundOne(claim);
        }
        claimed.push(item);
      }),
    );
    const { admissions: decided, tenants } = await admitToTenants(db, claimed, options.defaults);
    for (const [id, admission] of decided) {
      admissions.set(id, admission);
      const claim = held.get(id)!;
      if (admission.admitted) claim.prices = tenants.get(claim.item.job.tenantId)!.prices;
    }
    return admissions;
  }

  /**
   * The fence, in one transaction for the group: lock the claims — only a live claim's owner gets
   * past — refund replaced charges, debit each tenant (all its jobs in one conditional UPDATE when its
   * credits cover them, else job by job), mark the sends started and stretch the claims over them.
   */
  async function fence(connection: Connection, requests: readonly ChargeRequest[]): Promise<FenceResult> {
    const result: FenceResult = { refusals: new Map(), lost: [], started: [] };
    const claimed = requests.map((request) => ({ request, claim: held.get(request.item.id)! }));
    const locked = await lockClaims(
      connection,
      claimed.map(({ claim }) => claim.rowId),
      claimed.map(({ claim }) => claim.owner),
    );
    const charging = claimed.filter(({ request, claim }) => {
      const lock = locked.get(claim.rowId);
      if (lock?.owner !== claim.owner) {
        result.lost.push(request.item.id);
        result.refusals.set(request.item.id, retry("another worker took this job's claim"));
        return false;
      }
      if (!lock.leaseLive) {
        result.refusals.set(
          request.item.id,
          retry("this worker's claim ran out before the send could start (a pause or a starved CPU?): not sent"),
        );
        return false;
      }
      return true;
    });
    await refund(
      connection,
      charging.filter(({ request }) => request.replacing).map(({ claim }) => locked.get(claim.rowId)!),
    );
    const started: { rowId: number; channel: ChargeRequest["channel"]; amount: string }[] = [];
    const short: number[] = [];
    for (const [tenantId, tenantCharges] of byTenantInLockOrder(charging, ({ request }) => request.item.job.tenantId)) {
      const priced = tenantCharges.map(({ request, claim }) => ({ request, claim, price: priceFor(request.channel, claim.prices) }));
      const total = priced.reduce((sum, { price }) => sum + toCents(price), 0);
      const all = total === 0 || (await debitCredits(connection, tenantId, fromCents(total)));
      for (const { request, claim, price } of priced) {
        if (all || toCents(price) === 0 || (await debitCredits(connection, tenantId, price))) {
          started.push({ rowId: claim.rowId, channel: request.channel, amount: price });
        } else {
          short.push(claim.rowId);
          result.refusals.set(request.item.id, {
            kind: "skipped",
            status: "SKIPPED_BALANCE",
            reason: `credits do not cover the ${request.channel} price of ${price}`,
          });
        }
      }
    }
    await clearCharges(connection, short);
    // Taken before the send mark is written, so the request's deadline can only fall inside the database's window.
    if (started.length > 0) result.startBy = performance.now() + window.startBudgetMs;
    await markSendsStarted(connection, started, window);
    result.started = started.map((send) => send.rowId);
    return result;
  }

  async function charge(requests: readonly ChargeRequest[]): Promise<ChargeResult> {
    const refusals = new Map<string, JobOutcome>();
    const mine = requests.filter((request) => held.has(request.item.id));
    for (const request of requests)
      if (!held.has(request.item.id)) refusals.set(request.item.id, retry("the job is not claimed by this worker"));
    if (mine.length === 0) return { refusals };
    const fenced = await inTransaction(db, (connection) => fence(connection, mine));
    for (const id of fenced.lost) letGo(id);
    for (const rowId of fenced.started) leases.stretch(rowId, Date.now() + window.fenceLeaseMs);
    for (const [id, outcome] of fenced.refusals) refusals.set(id, outcome);
    return { refusals, startBy: fenced.startBy };
  }

  /** `leaseEndsAt`: when the claim's lease was last known to end (this machine's clock). */
  type Closing = ConcludedJob & { transition: Transition; claim: HeldClaim; leaseEndsAt?: number };

  async function recordSent(sent: readonly Closing[]): Promise<void> {
    const records = sent.map(({ outcome, claim }) => {
      const sentOutcome = outcome as Extract<JobOutcome, { kind: "sent" }>;
      return {
        rowId: claim.rowId,
        owner: claim.owner,
        channel: sentOutcome.channel,
        groupId: sentOutcome.groupId,
        messageId: sentOutcome.messageId,
        fallbackReason: sentOutcome.fallbackReason,
      };
    });
    if ((await recordSents(db, records)) === records.length) return;
    const missing = new Set(await rowsMissingSends(db, records));
    const lost = sent.filter(({ claim }) => missing.has(claim.rowId));
    // Another worker took these claims over after their leases ran out; it finds the sends in Solapi.
    log.error("sent jobs' claims were lost before they were recorded", {
      jobs: lost.map(({ item }) => ({ job: item.key, tenant_id: item.job.tenantId })),
      message_ids: lost.map(({ outcome }) => (outcome as Extract<JobOutcome, { kind: "sent" }>).messageId),
    });
  }

  async function recordClosed(closing: readonly Closing[]): Promise<void> {
    await inTransaction(db, async (connection) => {
      const locked = await lockClaims(
        connection,
        closing.map(({ claim }) => claim.rowId),
        closing.map(({ claim }) => claim.owner),
      );
      const mine = closing.filter(({ claim }) => locked.get(claim.rowId)?.owner === claim.owner);
      await refund(
        connection,
        mine.map(({ claim }) => locked.get(claim.rowId)!),
      );
      await closeClaims(
        connection,
        mine.map(({ claim, transition }) => {
          const close = transition as Extract<Transition, { write: "close" }>;
          return { rowId: claim.rowId, status: close.status, reason: close.reason };
        }),
      );
    });
  }

  async function recordOne({ transition, claim }: Closing): Promise<void> {
    if (transition.write === "unknown") {
      await inTransaction(db, async (connection) => {
        if ((await lockClaims(connection, [claim.rowId], [claim.owner])).has(claim.rowId))
          await markUnknown(connection, claim.rowId, transition.reason);
      });
    } else if (transition.write === "release") {
      if (transition.refund) await refundOne(claim);
      await releaseClaim(db, claim.rowId, claim.owner, transition.reason);
    }
  }

  /** Writes a group's ends: sends in one statement, refused and skipped jobs in one transaction, the rest one by one. */
  async function record(concluded: readonly ConcludedJob[]): Promise<Map<string, JobOutcome>> {
    const mine: Closing[] = concluded.flatMap((ending) => {
      const leaseEndsAt = held.has(ending.item.id) ? leases.endsAt(held.get(ending.item.id)!.rowId) : undefined;
      const claim = letGo(ending.item.id);
      return claim ? [{ ...ending, claim, leaseEndsAt, transition: transitionFor(ending.outcome, ending.action) }] : [];
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
    for (const closing of mine.filter(
      (candidate) => candidate.transition.write === "unknown" || candidate.transition.write === "release",
    )) {
      await persist([closing], () => recordOne(closing));
    }

    const replaced = new Map<string, JobOutcome>();
    for (const [{ item, outcome, leaseEndsAt }, error] of failed) {
      const uncertain = outcome.kind === "sent" || (outcome.kind === "retry" && outcome.ambiguous);
      // The claim could not be released either: come back only once it has expired, or the job
      // would find its own stale claim "busy".
      const leaseLeftSeconds = Math.max(0, Math.ceil(((leaseEndsAt ?? Date.now()) - Date.now()) / 1000)) + 1;
      replaced.set(
        item.id,
        retry(`could not write the send log: ${errorMessage(error)}`, { ambiguous: uncertain, minDelaySeconds: leaseLeftSeconds }),
      );
    }
    return replaced;
  }

  // Every failure passes by the health check on its way out.
  return {
    admit: (items) => admit(items).catch((error: unknown) => health.observe(error)),
    charge: (requests) => charge(requests).catch((error: unknown) => health.observe(error)),
    record,
    ready: (signal) => health.ready(signal),
    async close() {
      leases.stop();
      await db.end();
    },
  };
}

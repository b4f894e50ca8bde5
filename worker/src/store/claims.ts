/**
 * Claiming a group of jobs in the send log: every new job in one INSERT, and the few already on record
 * one by one — finished (a duplicate), held by a live worker (busy), a send that may still be reaching
 * Solapi (wait), or left by a dead worker or UNKNOWN (taken over, and asked of Solapi first when a send
 * had begun).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../error-message";
import { maskRecipient } from "../log";
import { decideClaim } from "../pipeline/decide";
import { jobIdentity, type ReceivedJob } from "../pipeline/ledger-port";
import { type JobOutcome, retry } from "../pipeline/outcome";
import { findEarlierSend } from "../pipeline/stateless-ledger";
import type { SolapiGateway } from "../solapi/client";
import { claimHolders, findLogEntry, insertClaims, type LogEntry, type NewClaim, takeOverClaim } from "./message-log";
import type { Db } from "./pool";
import type { RecipientHasher } from "./recipient";

const BUSY_WAIT_MS = 3_000;
const BUSY_POLL_MS = 100;
/** A send left by another worker settles within its window (pipeline/send-window.ts): wait it out, within reason. */
const MAX_SETTLE_WAIT_MS = 60_000;

export function newClaim(item: ReceivedJob, owner: string, hashRecipient: RecipientHasher): NewClaim {
  return {
    key: item.key,
    tenantId: item.job.tenantId,
    mode: item.job.mode,
    recipient: maskRecipient(item.job.to),
    recipientHash: hashRecipient(item.job.to),
    eventType: item.job.eventType,
    targetName: item.job.targetName,
    reservationId: item.job.reservationId,
    sqsMessageId: item.sqsMessageId,
    receiveCount: item.receiveCount,
    owner,
    leaseMs: item.leaseMs,
  };
}

/** The result of claiming one job. */
export type Claim =
  | { claimed: true; rowId: number; owner: string /** a send began under the row before and Solapi must be asked */; uncertain: boolean }
  | { claimed: false; outcome: JobOutcome };

/**
 * A claim held by a live worker is usually a copy of a job being finished right now: wait a little
 * for it rather than spend one of the copy's receives. A send left by a worker that died or paused
 * is waited out until Solapi has registered it, so that asking Solapi then settles the question.
 */
async function settledRow(db: Db, item: ReceivedJob): Promise<LogEntry | undefined> {
  const busyUntil = Date.now() + BUSY_WAIT_MS;
  const settleUntil = Date.now() + MAX_SETTLE_WAIT_MS;
  for (;;) {
    const row = await findLogEntry(db, { tenantId: item.job.tenantId, key: item.key });
    if (!row) return row;
    const decision = decideClaim(row);
    if (decision.decision === "busy" && Date.now() < busyUntil) await sleep(BUSY_POLL_MS);
    else if (decision.decision === "wait" && Date.now() + decision.ms <= settleUntil) await sleep(decision.ms + BUSY_POLL_MS);
    else return row;
  }
}

async function claimExisting(db: Db, item: ReceivedJob, owner: string, hashRecipient: RecipientHasher): Promise<Claim> {
  const row = await settledRow(db, item);
  if (!row) return { claimed: false, outcome: retry("the job's log row vanished while it was being claimed") };
  const decision = decideClaim(row);
  switch (decision.decision) {
    case "done":
      return {
        claimed: false,
        outcome: { kind: "duplicate", status: decision.status, reason: `already ${decision.status} by an earlier delivery` },
      };
    case "busy":
      // Usually a copy of a job another worker is finishing right now: look again after the usual back-off.
      return { claimed: false, outcome: retry("another worker holds this job's claim") };
    case "wait":
      return {
        claimed: false,
        outcome: retry("an earlier attempt's send may still be reaching Solapi: asking once it has settled", {
          ambiguous: true,
          minDelaySeconds: Math.ceil(decision.ms / 1000),
        }),
      };
    case "take-over":
      // Conditional on the row being exactly as read: a worker that passed the fence meanwhile wins.
      if (!(await takeOverClaim(db, row, newClaim(item, owner, hashRecipient)))) {
        return { claimed: false, outcome: retry("another worker moved this job's claim on first") };
      }
      return { claimed: true, rowId: row.rowId, owner, uncertain: decision.uncertain };
  }
}

/**
 * Claims every job of a group: owner tokens are unique per claim, so a row holding ours is ours.
 * `held` hears of each claim as soon as it is made — the new ones at once, a take-over when it
 * happens — so that its lease is kept while a sibling waits for an old send to settle.
 */
export async function claimGroup(
  db: Db,
  items: readonly ReceivedJob[],
  ownerFor: () => string,
  hashRecipient: RecipientHasher,
  held: (item: ReceivedJob, claim: Extract<Claim, { claimed: true }>) => void = () => undefined,
): Promise<Map<string, Claim>> {
  const owners = new Map(items.map((item) => [item.id, ownerFor()]));
  await insertClaims(
    db,
    items.map((item) => newClaim(item, owners.get(item.id)!, hashRecipient)),
  );
  const holders = new Map(
    (
      await claimHolders(
        db,
        items.map((item) => ({ tenantId: item.job.tenantId, key: item.key })),
      )
    ).map((holder) => [jobIdentity(holder.tenantId, holder.key), holder]),
  );
  const claims = new Map<string, Claim>();
  await Promise.all(
    items.map(async (item) => {
      const owner = owners.get(item.id)!;
      const holder = holders.get(item.id);
      const claim: Claim =
        holder?.owner === owner
          ? { claimed: true, rowId: holder.rowId, owner, uncertain: false }
          : await claimExisting(db, item, owner, hashRecipient);
      if (claim.claimed) held(item, claim);
      claims.set(item.id, claim);
    }),
  );
  return claims;
}

/** For a claim taken over after a send had begun: did Solapi take it? An outcome when it did or cannot say. */
export async function askSolapi(solapi: SolapiGateway, item: ReceivedJob): Promise<JobOutcome | undefined> {
  try {
    return await findEarlierSend(solapi, item);
  } catch (error) {
    return retry(`an earlier attempt may have been sent and Solapi cannot be asked: ${errorMessage(error)}`, { ambiguous: true });
  }
}

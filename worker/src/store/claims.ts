/**
 * Claiming a group of jobs in the send log: every new job in one INSERT, and the few already on record
 * one by one — finished (a duplicate), held by a live worker (busy), a send that may still be reaching
 * Solapi (wait), or left by a dead worker or UNKNOWN (taken over; when a send had begun, the ledger
 * asks Solapi before anything is sent again).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { maskRecipient } from "../log";
import { jobIdentity, type ReceivedJob } from "../pipeline/ledger-port";
import { type JobOutcome, retry } from "../pipeline/outcome";
import { claimHolders, findLogEntry, insertClaims, type LogEntry, type NewClaim, takeOverClaim } from "./message-log";
import type { Db } from "./pool";
import type { RecipientHasher } from "./recipient";
import { decideClaim } from "./send-log-rules";

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

/**
 * The result of claiming one job. `uncertain`: a send began under the row before, and Solapi must be
 * asked whether it went.
 */
export type Claim = { claimed: true; rowId: number; owner: string; uncertain: boolean } | { claimed: false; outcome: JobOutcome };

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
 * Claims every job of a group, in the group's order: owner tokens are unique per claim, so a row
 * holding ours is ours. `held` hears of each claim as soon as it is made — the new ones at once, a
 * take-over when it happens — so that its lease is kept while a sibling waits for an old send to settle.
 */
export async function claimGroup(
  db: Db,
  items: readonly ReceivedJob[],
  ownerFor: () => string,
  hashRecipient: RecipientHasher,
  held: (item: ReceivedJob, claim: Extract<Claim, { claimed: true }>) => void = () => undefined,
): Promise<{ item: ReceivedJob; claim: Claim }[]> {
  const owned = items.map((item) => ({ item, owner: ownerFor() }));
  await insertClaims(
    db,
    owned.map(({ item, owner }) => newClaim(item, owner, hashRecipient)),
  );
  const holders = new Map(
    (
      await claimHolders(
        db,
        items.map((item) => ({ tenantId: item.job.tenantId, key: item.key })),
      )
    ).map((holder) => [jobIdentity(holder.tenantId, holder.key), holder]),
  );
  return Promise.all(
    owned.map(async ({ item, owner }) => {
      const holder = holders.get(item.id);
      const claim: Claim =
        holder?.owner === owner
          ? { claimed: true, rowId: holder.rowId, owner, uncertain: false }
          : await claimExisting(db, item, owner, hashRecipient);
      if (claim.claimed) held(item, claim);
      return { item, claim };
    }),
  );
}

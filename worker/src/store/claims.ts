/**
 * Claiming a group of jobs in the send log: every new key in one INSERT, and the few keys already
 * on record one by one — finished (a duplicate), held by a live worker (busy), or left by a dead
 * one (taken over, and asked of Solapi first when a send had begun).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { maskPhone } from "../log";
import { type ClaimState, decideClaim, type JobOutcome } from "../pipeline/decide";
import { findEarlierSend, type ReceivedJob } from "../pipeline/ledger";
import type { SolapiGateway } from "../solapi/client";
import { claimOwners, findLogEntry, insertClaims, type NewClaim, takeOverClaim } from "./message-log";
import type { Db } from "./pool";
import type { RecipientHasher } from "./recipient";
import { errorMessage } from "../error-message";

const BUSY_WAIT_MS = 3_000;
const BUSY_POLL_MS = 100;

export function retry(reason: string, options: { ambiguous?: boolean; minDelaySeconds?: number } = {}): JobOutcome {
  return { kind: "retry", reason, ambiguous: options.ambiguous ?? false, minDelaySeconds: options.minDelaySeconds ?? 0, alert: false };
}

export function newClaim(item: ReceivedJob, owner: string, hashRecipient: RecipientHasher): NewClaim {
  return {
    key: item.key,
    tenantId: item.job.tenantId,
    mode: item.job.mode,
    recipient: maskPhone(item.job.to),
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
  | { claimed: true; owner: string; /** a send began under an expired claim and Solapi must be asked */ uncertain: boolean }
  | { claimed: false; outcome: JobOutcome };

/**
 * A claim held by a live worker is usually a copy of a job being finished right now: wait a little
 * for it rather than spend one of the copy's receives.
 */
async function settledRow(db: Db, key: string): Promise<ClaimState | undefined> {
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (;;) {
    const row = await findLogEntry(db, key);
    if (!row || row.status !== "CLAIMED" || row.leaseExpired || Date.now() >= deadline) return row;
    await sleep(BUSY_POLL_MS);
  }
}

async function claimExisting(db: Db, item: ReceivedJob, owner: string, hashRecipient: RecipientHasher): Promise<Claim> {
  const row = await settledRow(db, item.key);
  if (!row) return { claimed: false, outcome: retry("the job's log row vanished while it was being claimed") };
  const decision = decideClaim(row);
  switch (decision.decision) {
    case "done":
      return { claimed: false, outcome: { kind: "duplicate", status: decision.status, reason: `already ${decision.status} by an earlier delivery` } };
    case "unknown":
      return { claimed: false, outcome: { kind: "unknown", reason: "an earlier attempt's outcome is unknown (status UNKNOWN)" } };
    case "busy":
      // Usually a copy of a job another worker is finishing right now: look again after the usual back-off.
      return { claimed: false, outcome: retry("another worker holds this job's claim") };
    case "take-over":
      if (!(await takeOverClaim(db, item.key, newClaim(item, owner, hashRecipient)))) return { claimed: false, outcome: retry("another worker took this job's claim first") };
      return { claimed: true, owner, uncertain: decision.uncertain };
  }
}

/** Claims every job of a group: owner tokens are unique per claim, so a row holding ours is ours. */
export async function claimGroup(db: Db, items: readonly ReceivedJob[], ownerFor: () => string, hashRecipient: RecipientHasher): Promise<Map<string, Claim>> {
  const owners = new Map(items.map((item) => [item.key, ownerFor()]));
  await insertClaims(db, items.map((item) => newClaim(item, owners.get(item.key)!, hashRecipient)));
  const holders = await claimOwners(db, [...owners.keys()]);
  const claims = new Map<string, Claim>();
  await Promise.all(
    items.map(async (item) => {
      const owner = owners.get(item.key)!;
      claims.set(item.key, holders.get(item.key) === owner ? { claimed: true, owner, uncertain: false } : await claimExisting(db, item, owner, hashRecipient));
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

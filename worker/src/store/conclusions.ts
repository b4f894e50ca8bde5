/**
 * Recording a group's conclusions in the send log: the sends in one statement, the closed jobs
 * (failed, skipped) with their refunds in one transaction, an UNKNOWN or a released claim one by one.
 * Each write is tried again a few times, since a brief failure or a deadlock must not lose a job's end.
 */
import { BACKOFF, withRetries } from "../backoff";
import type { Logger } from "../log";
import type { ConcludedJob } from "../pipeline/ledger-port";
import type { JobOutcome } from "../pipeline/outcome";
import { releaseClaim } from "./message-log";
import { lockClaims } from "./message-log-fence";
import { closeClaims, markUnknown, recordSents, rowsMissingSends } from "./message-log-outcomes";
import { type Db, inTransaction } from "./pool";
import { refundClaim, refundLocked } from "./refunds";
import type { Transition } from "./send-log-rules";

/** A concluded job whose claim this process held, and how its row changes. */
export interface HeldConclusion extends ConcludedJob {
  rowId: number;
  owner: string;
  transition: Transition;
  /** When the claim's lease was last known to end (this machine's clock). */
  leaseEndsAt?: number;
}

type SentOutcome = Extract<JobOutcome, { kind: "sent" }>;
type Close = Extract<Transition, { write: "close" }>;
type OneByOne = Extract<Transition, { write: "unknown" | "release" }>;

const SEND_LOG_WRITE_ATTEMPTS = 4;

async function recordSent(db: Db, sent: readonly { job: HeldConclusion; outcome: SentOutcome }[], log: Logger): Promise<void> {
  const records = sent.map(({ job, outcome }) => ({
    rowId: job.rowId,
    owner: job.owner,
    channel: outcome.channel,
    groupId: outcome.groupId,
    messageId: outcome.messageId,
    fallbackReason: outcome.fallbackReason,
  }));
  if ((await recordSents(db, records)) === records.length) return;
  const missing = new Set(await rowsMissingSends(db, records));
  const lost = sent.filter(({ job }) => missing.has(job.rowId));
  // Another worker took these claims over after their leases ran out; it finds the sends in Solapi.
  log.error("sent jobs' claims were lost before they were recorded", {
    jobs: lost.map(({ job }) => ({ job: job.item.key, tenant_id: job.item.job.tenantId })),
    message_ids: lost.map(({ outcome }) => outcome.messageId),
  });
}

async function recordClosed(db: Db, closing: readonly { job: HeldConclusion; close: Close }[]): Promise<void> {
  await inTransaction(db, async (connection) => {
    const locked = await lockClaims(
      connection,
      closing.map(({ job }) => job.rowId),
      closing.map(({ job }) => job.owner),
    );
    const mine = closing.flatMap((entry) => {
      const lock = locked.get(entry.job.rowId);
      return lock?.owner === entry.job.owner ? [{ ...entry, lock }] : [];
    });
    await refundLocked(
      connection,
      mine.map(({ lock }) => lock),
    );
    await closeClaims(
      connection,
      mine.map(({ job, close }) => ({ rowId: job.rowId, status: close.status, reason: close.reason })),
    );
  });
}

async function recordOne(db: Db, { job, transition }: { job: HeldConclusion; transition: OneByOne }): Promise<void> {
  if (transition.write === "unknown") {
    await inTransaction(db, async (connection) => {
      if ((await lockClaims(connection, [job.rowId], [job.owner])).has(job.rowId))
        await markUnknown(connection, job.rowId, transition.reason);
    });
  } else {
    if (transition.refund) await refundClaim(db, job);
    await releaseClaim(db, job.rowId, job.owner, transition.reason);
  }
}

/**
 * Writes each job's end; returns the jobs whose write failed every attempt, with the last error.
 * `noteFailure` hears of each such error (whether the database is reachable).
 */
export async function recordConclusions(
  db: Db,
  jobs: readonly HeldConclusion[],
  log: Logger,
  noteFailure: (error: unknown) => void,
): Promise<Map<HeldConclusion, unknown>> {
  const failed = new Map<HeldConclusion, unknown>();
  const persist = async (part: readonly HeldConclusion[], write: () => Promise<void>) => {
    if (part.length === 0) return;
    try {
      await withRetries(write, { policy: BACKOFF.sendLogWrite, attempts: SEND_LOG_WRITE_ATTEMPTS, retryable: () => true });
    } catch (error) {
      noteFailure(error);
      for (const job of part) failed.set(job, error);
    }
  };
  const sent: { job: HeldConclusion; outcome: SentOutcome }[] = [];
  const closed: { job: HeldConclusion; close: Close }[] = [];
  const oneByOne: { job: HeldConclusion; transition: OneByOne }[] = [];
  for (const job of jobs) {
    const { transition, outcome } = job;
    if (transition.write === "sent" && outcome.kind === "sent") sent.push({ job, outcome });
    else if (transition.write === "close") closed.push({ job, close: transition });
    else if (transition.write === "unknown" || transition.write === "release") oneByOne.push({ job, transition });
  }
  await persist(
    sent.map(({ job }) => job),
    () => recordSent(db, sent, log),
  );
  await persist(
    closed.map(({ job }) => job),
    () => recordClosed(db, closed),
  );
  for (const entry of oneByOne) await persist([entry.job], () => recordOne(db, entry));
  return failed;
}

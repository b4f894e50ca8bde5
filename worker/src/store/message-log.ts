/**
 * The send log: one row per job, unique on (tenant_id, idempotency_key) compared exactly, moving
 * CLAIMED → SENT | FAILED | SKIPPED_* | UNKNOWN. A claim carries a lease (owner token and expiry, in
 * database time) that its worker renews while the job is in flight. Once claimed, a row is addressed
 * by its primary key and its owner token. One statement per function. Here: claiming rows, taking
 * them over and their leases; the fence's statements are in message-log-fence.ts, a job's end in
 * message-log-outcomes.ts.
 */
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { LogStatus } from "../pipeline/outcome";
import type { Connection, Db } from "./pool";
import { logReason, micros } from "./sql";

export interface NewClaim {
  key: string;
  tenantId: number;
  mode: string;
  /** Masked, as in the logs: the log table keeps no phone number. */
  recipient: string;
  /** Keyed digest of the normalised number (store/recipient.ts), for `npm run trace`. */
  recipientHash: string;
  eventType?: string;
  targetName?: string;
  reservationId?: number;
  sqsMessageId: string;
  receiveCount: number;
  owner: string;
  leaseMs: number;
}

/** A job's identity in the send log. */
export interface LogKey {
  tenantId: number;
  key: string;
}

/** A row as a job received again finds it: what decideClaim and a conditional take-over need. */
export interface LogEntry {
  rowId: number;
  status: LogStatus;
  owner: string | null;
  sendStartedAt: Date | null;
  leaseExpired: boolean;
  /** Until a send begun under this row has settled in Solapi (≤ 0: settled, or none began). */
  settlesInMs: number;
}

export async function findLogEntry(db: Db, job: LogKey): Promise<LogEntry | undefined> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT id, status, lease_owner, send_started_at,
            (lease_expires_at IS NULL OR lease_expires_at <= NOW(3)) AS lease_expired,
            COALESCE(TIMESTAMPDIFF(MICROSECOND, NOW(3), send_settles_at), 0) AS settles_in_us
       FROM message_log WHERE tenant_id = ? AND idempotency_key = ?`,
    [job.tenantId, job.key],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    rowId: Number(row.id),
    status: row.status as LogStatus,
    owner: (row.lease_owner as string | null) ?? null,
    sendStartedAt: (row.send_started_at as Date | null) ?? null,
    leaseExpired: Number(row.lease_expired) === 1,
    settlesInMs: Number(row.settles_in_us) / 1000,
  };
}

/**
 * Takes over a claim left by another worker (lease run out) or an UNKNOWN row, only if the row is
 * still exactly as `seen` (same status, owner and send mark) and any send begun under it has settled:
 * a worker that passed the fence after the read makes this update nothing.
 */
export async function takeOverClaim(
  db: Db,
  seen: LogEntry,
  claim: Pick<NewClaim, "owner" | "leaseMs" | "sqsMessageId" | "receiveCount">,
): Promise<boolean> {
  const [result] = await db.query<ResultSetHeader>(
    `UPDATE message_log
        SET status = 'CLAIMED', lease_owner = ?, lease_expires_at = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND),
            attempts = attempts + 1, sqs_message_id = ?, receive_count = ?
      WHERE id = ? AND status = ? AND lease_owner <=> ? AND send_started_at <=> ?
        AND (status = 'UNKNOWN' OR lease_expires_at IS NULL OR lease_expires_at <= NOW(3))
        AND (send_settles_at IS NULL OR send_settles_at <= NOW(3))`,
    [claim.owner, micros(claim.leaseMs), claim.sqsMessageId, claim.receiveCount, seen.rowId, seen.status, seen.owner, seen.sendStartedAt],
  );
  return result.affectedRows === 1;
}

/** Lets the next receive take the claim over at once; the charge and send mark stay as they are. */
export async function releaseClaim(db: Db | Connection, rowId: number, owner: string, why: string): Promise<boolean> {
  const [result] = await db.query<ResultSetHeader>(
    `UPDATE message_log SET lease_expires_at = NOW(3), failure_reason = ?
      WHERE id = ? AND lease_owner = ? AND status = 'CLAIMED'`,
    [logReason(why), rowId, owner],
  );
  return result.affectedRows === 1;
}

/**
 * Renews live claims in one statement. A lease that has already run out is not revived (another
 * worker may be taking it over), and one the fence stretched over a send is never shortened.
 */
export async function extendLeases(db: Db, rowIds: readonly number[], owners: readonly string[], leaseMs: number): Promise<number> {
  if (rowIds.length === 0) return 0;
  const [result] = await db.query<ResultSetHeader>(
    `UPDATE message_log SET lease_expires_at = GREATEST(lease_expires_at, DATE_ADD(NOW(3), INTERVAL ? MICROSECOND))
      WHERE id IN (?) AND lease_owner IN (?) AND status = 'CLAIMED' AND lease_expires_at > NOW(3)`,
    [micros(leaseMs), rowIds, owners],
  );
  return result.affectedRows;
}

/** Claims every job seen for the first time; a job already on record keeps its row. */
export async function insertClaims(db: Db, claims: readonly NewClaim[]): Promise<void> {
  if (claims.length === 0) return;
  const placeholders = claims
    .map(() => "(?, ?, 'CLAIMED', ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, DATE_ADD(NOW(3), INTERVAL ? MICROSECOND))")
    .join(", ");
  await db.query(
    `INSERT IGNORE INTO message_log
       (idempotency_key, tenant_id, status, mode, recipient, recipient_hash, event_type, target_name, reservation_id,
        sqs_message_id, receive_count, attempts, lease_owner, lease_expires_at)
     VALUES ${placeholders}`,
    claims.flatMap((claim) => [
      claim.key,
      claim.tenantId,
      claim.mode,
      claim.recipient,
      claim.recipientHash,
      claim.eventType ?? null,
      claim.targetName ?? null,
      claim.reservationId ?? null,
      claim.sqsMessageId,
      claim.receiveCount,
      claim.owner,
      micros(claim.leaseMs),
    ]),
  );
}

export interface Holder {
  rowId: number;
  tenantId: number;
  key: string;
  /** The owner token of the claim, null once finished. */
  owner: string | null;
}

/** Who holds each job now. */
export async function claimHolders(db: Db, jobs: readonly LogKey[]): Promise<Holder[]> {
  if (jobs.length === 0) return [];
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT id, tenant_id, idempotency_key, lease_owner FROM message_log WHERE (tenant_id, idempotency_key) IN (?)",
    [jobs.map((job) => [job.tenantId, job.key])],
  );
  return rows.map((row) => ({
    rowId: Number(row.id),
    tenantId: Number(row.tenant_id),
    key: String(row.idempotency_key),
    owner: (row.lease_owner as string | null) ?? null,
  }));
}

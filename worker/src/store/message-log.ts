/**
 * The send log: one row per job, unique on (tenant_id, idempotency_key) compared exactly, moving
 * CLAIMED → SENT | FAILED | SKIPPED_* | UNKNOWN. A claim carries a lease (owner token and expiry, in
 * database time) that its worker renews while the job is in flight. Once claimed, a row is addressed
 * by its primary key and its owner token. One statement per function.
 */
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { maskPhone } from "../log";
import type { LogStatus } from "../pipeline/decide";
import type { SendWindow } from "../pipeline/send-window";
import type { Channel } from "../solapi/messages";
import type { Connection, Db } from "./pool";
import { caseById, micros } from "./sql";
import type { Amount } from "./tenants";

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

const MAX_REASON = 1000;
const reason = (text: string) => maskPhone(text).slice(0, MAX_REASON);

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
    [reason(why), rowId, owner],
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

/* ---- The same statements for a group of jobs: one round trip per group instead of one per job. ---- */

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

export interface LockedClaim {
  rowId: number;
  owner: string;
  tenantId: number;
  amountCharged: Amount;
  /** The lease has not run out (database time). Only a live lease may start a send. */
  leaseLive: boolean;
}

/** Locks the rows of claims still held by the given owner tokens, in id order (one lock order for all). */
export async function lockClaims(
  connection: Connection,
  rowIds: readonly number[],
  owners: readonly string[],
): Promise<Map<number, LockedClaim>> {
  if (rowIds.length === 0) return new Map();
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT id, lease_owner, tenant_id, amount_charged, lease_expires_at > NOW(3) AS lease_live FROM message_log
      WHERE id IN (?) AND lease_owner IN (?) AND status = 'CLAIMED'
      ORDER BY id FOR UPDATE`,
    [rowIds, owners],
  );
  return new Map(
    rows.map((row) => [
      Number(row.id),
      {
        rowId: Number(row.id),
        owner: String(row.lease_owner),
        tenantId: Number(row.tenant_id),
        amountCharged: String(row.amount_charged),
        leaseLive: Number(row.lease_live) === 1,
      },
    ]),
  );
}

/**
 * The fence before Solapi, for a group of locked claims: each job's channel and charge, that its send
 * began and when it will have settled, and a lease that outlasts the send (pipeline/send-window.ts).
 */
export async function markSendsStarted(
  connection: Connection,
  sends: readonly { rowId: number; channel: Channel; amount: Amount }[],
  window: Pick<SendWindow, "fenceLeaseMs" | "settleMs">,
): Promise<void> {
  if (sends.length === 0) return;
  const channel = caseById(
    "channel",
    sends.map((send) => [send.rowId, send.channel]),
  );
  const amount = caseById(
    "amount_charged",
    sends.map((send) => [send.rowId, send.amount]),
  );
  await connection.query(
    `UPDATE message_log
        SET ${channel.sql}, ${amount.sql}, send_started_at = NOW(3), failure_reason = NULL,
            send_settles_at = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND),
            lease_expires_at = GREATEST(lease_expires_at, DATE_ADD(NOW(3), INTERVAL ? MICROSECOND))
      WHERE id IN (?)`,
    [...channel.params, ...amount.params, micros(window.settleMs), micros(window.fenceLeaseMs), sends.map((send) => send.rowId)],
  );
}

/** After refunds: no charge and no send under way, the claims still held. */
export async function clearCharges(connection: Connection, rowIds: readonly number[]): Promise<void> {
  if (rowIds.length === 0) return;
  await connection.query("UPDATE message_log SET amount_charged = 0, send_started_at = NULL, send_settles_at = NULL WHERE id IN (?)", [
    rowIds,
  ]);
}

export interface SentRecord {
  rowId: number;
  owner: string;
  channel: Channel;
  groupId: string;
  messageId: string;
  /** A `both` job sent as SMS/LMS: the AlimTalk refusal that made it fall back. */
  fallbackReason?: string;
}

/** Records a group's sends; returns how many rows were still claimed by their owners. */
export async function recordSents(db: Db, sents: readonly SentRecord[]): Promise<number> {
  if (sents.length === 0) return 0;
  const channel = caseById(
    "channel",
    sents.map((sent) => [sent.rowId, sent.channel]),
  );
  const group = caseById(
    "group_id",
    sents.map((sent) => [sent.rowId, sent.groupId]),
  );
  const message = caseById(
    "message_id",
    sents.map((sent) => [sent.rowId, sent.messageId]),
  );
  const fallback = caseById(
    "fallback_reason",
    sents.map((sent) => [sent.rowId, sent.fallbackReason === undefined ? null : reason(sent.fallbackReason)]),
  );
  const [result] = await db.query<ResultSetHeader>(
    `UPDATE message_log SET status = 'SENT', ${channel.sql}, ${group.sql}, ${message.sql}, ${fallback.sql}, failure_reason = NULL,
            lease_owner = NULL, lease_expires_at = NULL, sent_at = NOW(3)
      WHERE id IN (?) AND lease_owner IN (?) AND status = 'CLAIMED'`,
    [
      ...channel.params,
      ...group.params,
      ...message.params,
      ...fallback.params,
      sents.map((sent) => sent.rowId),
      sents.map((sent) => sent.owner),
    ],
  );
  return result.affectedRows;
}

/** Of these rows, the ones that do not hold the given message ids: sends whose write-back was lost. */
export async function rowsMissingSends(db: Db, sents: readonly Pick<SentRecord, "rowId" | "messageId">[]): Promise<number[]> {
  if (sents.length === 0) return [];
  const [rows] = await db.query<RowDataPacket[]>("SELECT id, message_id FROM message_log WHERE id IN (?)", [
    sents.map((sent) => sent.rowId),
  ]);
  const recorded = new Map(rows.map((row) => [Number(row.id), (row.message_id as string | null) ?? null]));
  return sents.filter((sent) => recorded.get(sent.rowId) !== sent.messageId).map((sent) => sent.rowId);
}

/** Final statuses other than SENT for a group of locked claims, charges already refunded. */
export async function closeClaims(
  connection: Connection,
  closes: readonly { rowId: number; status: "FAILED" | "SKIPPED_CANCELLED" | "SKIPPED_BALANCE"; reason: string }[],
): Promise<void> {
  if (closes.length === 0) return;
  const status = caseById(
    "status",
    closes.map((close) => [close.rowId, close.status]),
  );
  const why = caseById(
    "failure_reason",
    closes.map((close) => [close.rowId, reason(close.reason)]),
  );
  await connection.query(
    `UPDATE message_log SET ${status.sql}, ${why.sql}, amount_charged = 0, lease_owner = NULL, lease_expires_at = NULL
      WHERE id IN (?)`,
    [...status.params, ...why.params, closes.map((close) => close.rowId)],
  );
}

/** UNKNOWN, on a locked claim: whether Solapi took it cannot be known, so its charge stays until it is. */
export async function markUnknown(connection: Connection, rowId: number, why: string): Promise<void> {
  await connection.query(
    "UPDATE message_log SET status = 'UNKNOWN', failure_reason = ?, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?",
    [reason(why), rowId],
  );
}

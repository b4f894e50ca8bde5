/**
 * The send log: one row per job, keyed by its idempotency key, moving CLAIMED → SENT | FAILED |
 * SKIPPED_* | UNKNOWN. A claim carries a lease (owner and expiry, in database time) that follows
 * the SQS message's visibility, so a crashed worker's claim expires when SQS hands the job on.
 * One statement per function.
 */
import { createHash } from "node:crypto";
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { ClaimState, LogStatus } from "../pipeline/decide";
import type { Channel } from "../solapi/messages";
import type { Connection, Db } from "./pool";
import type { Amount } from "./tenants";

export interface NewClaim {
  key: string;
  tenantId: number;
  mode: string;
  /** Masked, as in the logs: the log table keeps no phone number. */
  recipient: string;
  /** SHA-256 of the normalised number, for `npm run trace`. */
  recipientHash: string;
  eventType?: string;
  targetName?: string;
  reservationId?: number;
  sqsMessageId: string;
  receiveCount: number;
  owner: string;
  leaseMs: number;
}


/** The send log keeps no phone number: a digest to find a recipient's jobs, and the masked form. */
export function recipientHash(phone: string): string {
  return createHash("sha256").update(phone).digest("hex");
}

const MAX_REASON = 1000;
const reason = (text: string) => text.slice(0, MAX_REASON);


/** What decides the fate of a job received again (decideClaim). */
export async function findLogEntry(db: Db, key: string): Promise<ClaimState | undefined> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT status, send_started_at, (lease_expires_at IS NULL OR lease_expires_at <= NOW(3)) AS lease_expired
       FROM message_log WHERE idempotency_key = ?`,
    [key],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { status: row.status as LogStatus, leaseExpired: Number(row.lease_expired) === 1, sendStartedAt: row.send_started_at ?? null };
}

/** Takes over a claim whose lease has run out; false when another worker got there first. */
export async function takeOverClaim(
  db: Db,
  key: string,
  claim: Pick<NewClaim, "owner" | "leaseMs" | "sqsMessageId" | "receiveCount">,
): Promise<boolean> {
  const [result] = await db.query<ResultSetHeader>(
    `UPDATE message_log
        SET lease_owner = ?, lease_expires_at = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND),
            attempts = attempts + 1, sqs_message_id = ?, receive_count = ?
      WHERE idempotency_key = ? AND status = 'CLAIMED'
        AND (lease_expires_at IS NULL OR lease_expires_at <= NOW(3))`,
    [claim.owner, Math.round(claim.leaseMs * 1000), claim.sqsMessageId, claim.receiveCount, key],
  );
  return result.affectedRows === 1;
}

/** Locks the row of a claim this owner still holds; undefined when the claim was lost. */
export async function lockClaim(connection: Connection, key: string, owner: string): Promise<{ tenantId: number; amountCharged: Amount } | undefined> {
  const [rows] = await connection.query<RowDataPacket[]>(
    "SELECT tenant_id, amount_charged FROM message_log WHERE idempotency_key = ? AND lease_owner = ? AND status = 'CLAIMED' FOR UPDATE",
    [key, owner],
  );
  const row = rows[0];
  return row ? { tenantId: Number(row.tenant_id), amountCharged: String(row.amount_charged) } : undefined;
}



/** A final status other than SENT, on a locked claim. */
export async function closeClaim(connection: Connection, key: string, status: Exclude<LogStatus, "CLAIMED" | "SENT">, why: string): Promise<void> {
  await connection.query(
    "UPDATE message_log SET status = ?, failure_reason = ?, lease_owner = NULL, lease_expires_at = NULL WHERE idempotency_key = ?",
    [status, reason(why), key],
  );
}

/** Lets the next receive take the claim over at once; the charge and send mark stay as they are. */
export async function releaseClaim(db: Db | Connection, key: string, owner: string, why: string): Promise<boolean> {
  const [result] = await db.query<ResultSetHeader>(
    `UPDATE message_log SET lease_expires_at = NOW(3), failure_reason = ?
      WHERE idempotency_key = ? AND lease_owner = ? AND status = 'CLAIMED'`,
    [reason(why), key, owner],
  );
  return result.affectedRows === 1;
}

/** Keeps claims alive as long as their SQS messages stay hidden. */
export async function extendLeases(db: Db, keys: readonly string[], owners: readonly string[], leaseMs: number): Promise<void> {
  if (keys.length === 0) return;
  await db.query(
    `UPDATE message_log SET lease_expires_at = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND)
      WHERE idempotency_key IN (?) AND lease_owner IN (?) AND status = 'CLAIMED'`,
    [Math.round(leaseMs * 1000), keys, owners],
  );
}

/* ---- The same statements for a group of jobs: one round trip per group instead of one per job. ---- */

/** Claims every job seen for the first time; a job already on record keeps its row. */
export async function insertClaims(db: Db, claims: readonly NewClaim[]): Promise<void> {
  if (claims.length === 0) return;
  const placeholders = claims.map(() => "(?, ?, 'CLAIMED', ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, DATE_ADD(NOW(3), INTERVAL ? MICROSECOND))").join(", ");
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
      Math.round(claim.leaseMs * 1000),
    ]),
  );
}

/** Who holds each key now: the owner token of its claim (null once finished). */
export async function claimOwners(db: Db, keys: readonly string[]): Promise<Map<string, string | null>> {
  if (keys.length === 0) return new Map();
  const [rows] = await db.query<RowDataPacket[]>("SELECT idempotency_key, lease_owner FROM message_log WHERE idempotency_key IN (?)", [keys]);
  return new Map(rows.map((row) => [String(row.idempotency_key), (row.lease_owner as string | null) ?? null]));
}

export interface LockedClaim {
  key: string;
  owner: string;
  tenantId: number;
  amountCharged: Amount;
}

/** Locks the rows of claims still held by the given owner tokens, in key order. */
export async function lockClaims(connection: Connection, keys: readonly string[], owners: readonly string[]): Promise<Map<string, LockedClaim>> {
  if (keys.length === 0) return new Map();
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT idempotency_key, lease_owner, tenant_id, amount_charged FROM message_log
      WHERE idempotency_key IN (?) AND lease_owner IN (?) AND status = 'CLAIMED'
      ORDER BY idempotency_key FOR UPDATE`,
    [keys, owners],
  );
  return new Map(
    rows.map((row) => [
      String(row.idempotency_key),
      { key: String(row.idempotency_key), owner: String(row.lease_owner), tenantId: Number(row.tenant_id), amountCharged: String(row.amount_charged) },
    ]),
  );
}

function cases(column: string, values: readonly (readonly [string, unknown])[]): { sql: string; params: unknown[] } {
  return {
    sql: `${column} = CASE idempotency_key ${values.map(() => "WHEN ? THEN ?").join(" ")} END`,
    params: values.flatMap(([key, value]) => [key, value]),
  };
}

/** The fence before Solapi, for a group: each job's channel and charge, and that its send began. */
export async function markSendsStarted(connection: Connection, sends: readonly { key: string; channel: Channel; amount: Amount }[]): Promise<void> {
  if (sends.length === 0) return;
  const channel = cases("channel", sends.map((send) => [send.key, send.channel]));
  const amount = cases("amount_charged", sends.map((send) => [send.key, send.amount]));
  await connection.query(
    `UPDATE message_log SET ${channel.sql}, ${amount.sql}, send_started_at = NOW(3), failure_reason = NULL WHERE idempotency_key IN (?)`,
    [...channel.params, ...amount.params, sends.map((send) => send.key)],
  );
}

/** After refunds: no charge and no send under way, the claims still held. */
export async function clearCharges(connection: Connection, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await connection.query("UPDATE message_log SET amount_charged = 0, send_started_at = NULL WHERE idempotency_key IN (?)", [keys]);
}

export interface SentRecord {
  key: string;
  owner: string;
  channel: Channel;
  groupId: string;
  messageId: string;
}

/** Records a group's sends; returns how many rows were still claimed by their owners. */
export async function recordSents(db: Db, sents: readonly SentRecord[]): Promise<number> {
  if (sents.length === 0) return 0;
  const channel = cases("channel", sents.map((sent) => [sent.key, sent.channel]));
  const group = cases("group_id", sents.map((sent) => [sent.key, sent.groupId]));
  const message = cases("message_id", sents.map((sent) => [sent.key, sent.messageId]));
  const [result] = await db.query<ResultSetHeader>(
    `UPDATE message_log SET status = 'SENT', ${channel.sql}, ${group.sql}, ${message.sql}, failure_reason = NULL,
            lease_owner = NULL, lease_expires_at = NULL, sent_at = NOW(3)
      WHERE idempotency_key IN (?) AND lease_owner IN (?) AND status = 'CLAIMED'`,
    [...channel.params, ...group.params, ...message.params, sents.map((sent) => sent.key), sents.map((sent) => sent.owner)],
  );
  return result.affectedRows;
}

/** Final statuses other than SENT for a group of locked claims, charges already refunded. */
export async function closeClaims(connection: Connection, closes: readonly { key: string; status: string; reason: string }[]): Promise<void> {
  if (closes.length === 0) return;
  const status = cases("status", closes.map((close) => [close.key, close.status]));
  const why = cases("failure_reason", closes.map((close) => [close.key, reason(close.reason)]));
  await connection.query(
    `UPDATE message_log SET ${status.sql}, ${why.sql}, amount_charged = 0, lease_owner = NULL, lease_expires_at = NULL
      WHERE idempotency_key IN (?)`,
    [...status.params, ...why.params, closes.map((close) => close.key)],
  );
}

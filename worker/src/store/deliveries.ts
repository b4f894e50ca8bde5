/**
 * The delivery checks' SQL, one statement per function. SENT rows are worked on by their primary
 * key. A check is leased with one conditional UPDATE: `delivery_lease_owner` names the round that
 * holds it and `delivery_check_at` is the lease's expiry, so a lapsed lease is simply a check that
 * is due again. Results are written only by the round still holding the lease. Due rows are found
 * by reads that lock nothing: a locking scan of an index the lease itself moves rows in deadlocks
 * between rounds (seen with four checkers racing).
 */
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { TextPrices } from "../delivery/decide";
import type { Channel } from "../solapi/messages";
import type { Connection, Db } from "./pool";
import { caseById, micros } from "./sql";
import type { Amount } from "./tenants";

/** Sent messages never looked at whose first check is due, oldest first, within the bound. */
export async function findFirstChecks(db: Db, due: { firstCheckMs: number; boundMs: number; limit: number }): Promise<number[]> {
  if (due.limit <= 0) return [];
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT id FROM message_log
      WHERE delivery_checks = 0
        AND sent_at <= DATE_SUB(NOW(3), INTERVAL ? MICROSECOND) AND sent_at > DATE_SUB(NOW(3), INTERVAL ? MICROSECOND)
        AND status = 'SENT' AND delivery_status IS NULL
      ORDER BY sent_at
      LIMIT ?`,
    [micros(due.firstCheckMs), micros(due.boundMs), due.limit],
  );
  return rows.map((row) => Number(row.id));
}

/** Checks due again: still pending, or whose last lease lapsed; the most overdue first. */
export async function findDueChecks(db: Db, limit: number): Promise<number[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT id FROM message_log
      WHERE delivery_check_at <= NOW(3) AND status = 'SENT' AND delivery_status IS NULL
      ORDER BY delivery_check_at
      LIMIT ?`,
    [limit],
  );
  return rows.map((row) => Number(row.id));
}

/**
 * Leases those of these rows that are still due — found by the reads above, which lock nothing, so
 * another round may have taken some since. By primary key, so every round locks rows in one order.
 */
export async function leaseDueChecks(db: Db, ids: readonly number[], owner: string, leaseMs: number): Promise<number> {
  if (ids.length === 0) return 0;
  const [result] = await db.query<ResultSetHeader>(
    `UPDATE message_log
        SET delivery_checks = delivery_checks + 1, delivery_check_at = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND), delivery_lease_owner = ?
      WHERE id IN (?) AND status = 'SENT' AND delivery_status IS NULL AND (delivery_checks = 0 OR delivery_check_at <= NOW(3))`,
    [micros(leaseMs), owner, [...ids].sort((a, b) => a - b)],
  );
  return result.affectedRows;
}

/** Leases these rows' checks now, whenever they were due, unless another round holds them (`trace --refresh`). */
export async function leaseChecksOf(db: Db, ids: readonly number[], owner: string, leaseMs: number): Promise<number> {
  if (ids.length === 0) return 0;
  const [result] = await db.query<ResultSetHeader>(
    `UPDATE message_log
        SET delivery_checks = delivery_checks + 1, delivery_check_at = DATE_ADD(NOW(3), INTERVAL ? MICROSECOND), delivery_lease_owner = ?
      WHERE id IN (?) AND status = 'SENT' AND delivery_status IS NULL
        AND (delivery_lease_owner IS NULL OR delivery_check_at <= NOW(3))`,
    [micros(leaseMs), owner, [...ids].sort((a, b) => a - b)],
  );
  return result.affectedRows;
}

export interface LeasedCheck {
  id: number;
  tenantId: number;
  key: string;
  channel: Channel;
  groupId: string;
  messageId: string;
  /** Looks so far, this one included. */
  checks: number;
  /** Since Solapi accepted the message, in database time. */
  ageMs: number;
  prices?: TextPrices;
}

/** The rows a round leased, with their tenant's text prices. */
export async function findLeasedChecks(db: Db, owner: string): Promise<LeasedCheck[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT m.id, m.tenant_id, m.idempotency_key, m.channel, m.group_id, m.message_id, m.delivery_checks,
            TIMESTAMPDIFF(MICROSECOND, COALESCE(m.sent_at, m.created_at), NOW(3)) AS age_us, t.sms_price, t.lms_price
       FROM message_log m LEFT JOIN tenants t ON t.id = m.tenant_id
      WHERE m.delivery_lease_owner = ?
      ORDER BY m.id`,
    [owner],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    tenantId: Number(row.tenant_id),
    key: String(row.idempotency_key),
    channel: (row.channel ?? "sms") as Channel,
    groupId: String(row.group_id ?? ""),
    messageId: String(row.message_id ?? ""),
    checks: Number(row.delivery_checks),
    ageMs: Number(row.age_us) / 1000,
    prices: row.sms_price === null ? undefined : { sms: String(row.sms_price), lms: String(row.lms_price) },
  }));
}

export interface HeldCheck {
  id: number;
  tenantId: number;
  amountCharged: Amount;
}

/** Locks, in id order, the rows whose lease this round still holds: the fence before any write. */
export async function lockHeldChecks(connection: Connection, ids: readonly number[], owner: string): Promise<Map<number, HeldCheck>> {
  if (ids.length === 0) return new Map();
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT id, tenant_id, amount_charged FROM message_log
      WHERE id IN (?) AND delivery_lease_owner = ? AND delivery_check_at > NOW(3) AND delivery_status IS NULL
      ORDER BY id FOR UPDATE`,
    [ids, owner],
  );
  return new Map(
    rows.map((row) => [Number(row.id), { id: Number(row.id), tenantId: Number(row.tenant_id), amountCharged: String(row.amount_charged) }]),
  );
}

export interface FinalResult {
  id: number;
  status: "DELIVERED" | "UNDELIVERED";
  code: string;
  channel: Channel;
  charge: Amount;
  note: string;
}

/** Final results of locked rows, their charges already settled; the lease ends with them. */
export async function recordFinalResults(connection: Connection, results: readonly FinalResult[]): Promise<void> {
  if (results.length === 0) return;
  const columns = [
    caseById(
      "delivery_status",
      results.map((result) => [result.id, result.status]),
    ),
    caseById(
      "delivery_code",
      results.map((result) => [result.id, result.code]),
    ),
    caseById(
      "delivery_channel",
      results.map((result) => [result.id, result.channel]),
    ),
    caseById(
      "amount_charged",
      results.map((result) => [result.id, result.charge]),
    ),
    caseById(
      "delivery_note",
      results.map((result) => [result.id, result.note.slice(0, 255)]),
    ),
  ];
  await connection.query(
    `UPDATE message_log SET ${columns.map((column) => column.sql).join(", ")},
            delivery_checked_at = NOW(3), delivery_check_at = NULL, delivery_lease_owner = NULL
      WHERE id IN (?) AND delivery_status IS NULL`,
    [...columns.flatMap((column) => column.params), results.map((result) => result.id)],
  );
}

export interface NextCheck {
  id: number;
  /** Undefined: no further look (the bound is reached). */
  delayMs?: number;
  note: string;
}

/** Locked rows still without a result: when to look next, and why. */
export async function scheduleNextChecks(connection: Connection, checks: readonly NextCheck[]): Promise<void> {
  if (checks.length === 0) return;
  const at = caseById(
    "delivery_check_at",
    checks.map((check) => [check.id, check.delayMs === undefined ? null : micros(check.delayMs)]),
    "DATE_ADD(NOW(3), INTERVAL ? MICROSECOND)",
  );
  const note = caseById(
    "delivery_note",
    checks.map((check) => [check.id, check.note.slice(0, 255)]),
  );
  await connection.query(
    `UPDATE message_log SET ${at.sql}, ${note.sql}, delivery_checked_at = NOW(3), delivery_lease_owner = NULL WHERE id IN (?)`,
    [...at.params, ...note.params, checks.map((check) => check.id)],
  );
}

/**
 * The fence's statements on the send log: lock a group's claims, mark their sends started (channel,
 * charge, when the send settles, a lease stretched over it), or clear a charge refunded.
 */
import type { RowDataPacket } from "mysql2/promise";
import type { SendWindow } from "../pipeline/send-window";
import type { Channel } from "../solapi/messages";
import type { Connection } from "./pool";
import { caseById, micros } from "./sql";
import type { Amount } from "./tenants";

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

/**
 * What the send log and the tenants' balances say, read straight from MySQL: for the
 * reconciliation, for knowing when a run has settled, and for the run's report.
 */
import type { RowDataPacket } from "mysql2/promise";
import type { Db } from "../../worker/src/store/pool";
import { jobId, type LogRow } from "./run-records";

/** Every send-log row, by jobId. */
export async function sendLogRows(db: Db): Promise<Map<string, LogRow>> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT idempotency_key, tenant_id, status, channel, message_id, amount_charged, send_started_at, delivery_status, delivery_code FROM message_log",
  );
  return new Map(
    rows.map((row) => {
      const logRow = { ...(row as LogRow), idempotency_key: String(row.idempotency_key), tenant_id: Number(row.tenant_id) };
      return [jobId(logRow.tenant_id, logRow.idempotency_key), logRow];
    }),
  );
}

/** Sent messages still waiting for their final result. */
export async function resultsPending(db: Db): Promise<number> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM message_log WHERE status = 'SENT' AND delivery_status IS NULL");
  return Number(rows[0]!.n);
}

export async function balances(db: Db, tenantIds: number[]): Promise<Map<number, string>> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT id, credit_balance FROM tenants WHERE id IN (?)", [tenantIds]);
  return new Map(rows.map((row) => [Number(row.id), String(row.credit_balance)]));
}

/** Jobs whose claim was taken over (attempts > 1): work a kill or a failure interrupted. */
export async function takenOver(db: Db): Promise<number> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM message_log WHERE attempts > 1");
  return Number(rows[0]!.n);
}

/** Why the jobs left UNKNOWN or CLAIMED ended there, by reason (numbers masked, so that alike reasons count together). */
export async function unsettledReasons(db: Db): Promise<Record<string, number>> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT status, failure_reason FROM message_log WHERE status IN ('UNKNOWN', 'CLAIMED')");
  const reasons: Record<string, number> = {};
  for (const row of rows) {
    const reason = `${row.status}: ${String(row.failure_reason ?? "moved by SQS's redrive")
      .replace(/\d{3,}/g, "N")
      .slice(0, 160)}`;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
  }
  return reasons;
}

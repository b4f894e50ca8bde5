import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { Connection, Db } from "./pool";
import type { Prices } from "./send-log-rules";

/** Money as MySQL returns DECIMAL: a string, never a float. */
export type Amount = string;

export interface Tenant {
  id: number;
  creditBalance: Amount;
  prices: Prices;
  kakaoPfId?: string;
  sender?: string;
  messagingEnabled: boolean;
}

/** The tenants of a group of jobs, by id; an id with no row is absent. */
export async function findTenants(db: Db, tenantIds: readonly number[]): Promise<Map<number, Tenant>> {
  if (tenantIds.length === 0) return new Map();
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT id, credit_balance, sms_price, lms_price, alimtalk_price, kakao_pf_id, sender, messaging_enabled
       FROM tenants WHERE id IN (?)`,
    [tenantIds],
  );
  return new Map(
    rows.map((row) => [
      Number(row.id),
      {
        id: Number(row.id),
        creditBalance: String(row.credit_balance),
        prices: { sms: String(row.sms_price), lms: String(row.lms_price), alimtalk: String(row.alimtalk_price) },
        // Tenants made by the Django side hold "" for "none": that must not hide the defaults.
        kakaoPfId: row.kakao_pf_id?.trim() || undefined,
        sender: row.sender?.trim() || undefined,
        messagingEnabled: Boolean(row.messaging_enabled),
      },
    ]),
  );
}

/**
 * Takes `amount` from the tenant's credits only if they cover it: one conditional UPDATE, so no
 * interleaving of workers can drive the balance below zero. False when the credits fall short.
 */
export async function debitCredits(connection: Connection, tenantId: number, amount: Amount): Promise<boolean> {
  const [result] = await connection.query<ResultSetHeader>(
    "UPDATE tenants SET credit_balance = credit_balance - ? WHERE id = ? AND credit_balance >= ?",
    [amount, tenantId, amount],
  );
  return result.affectedRows === 1;
}

export async function creditBack(connection: Connection, tenantId: number, amount: Amount): Promise<void> {
  await connection.query("UPDATE tenants SET credit_balance = credit_balance + ? WHERE id = ?", [amount, tenantId]);
}

/**
 * Items grouped by tenant, in tenant id order: the one order in which every writer — charges,
 * refunds, delivery settlements — locks tenants' rows, so that two transactions cannot deadlock on them.
 */
export function byTenantInLockOrder<T>(items: readonly T[], tenantOf: (item: T) => number): [number, T[]][] {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const tenantId = tenantOf(item);
    const group = groups.get(tenantId);
    if (group) group.push(item);
    else groups.set(tenantId, [item]);
  }
  return [...groups].sort((a, b) => a[0] - b[0]);
}

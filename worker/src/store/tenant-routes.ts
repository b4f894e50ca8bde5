/**
 * The allow-lists of sender numbers and Kakao channels a tenant may name in a job besides the ones on
 * its own row (docs/contract.md §4). One statement per function, for a group's tenants at once.
 */
import type { RowDataPacket } from "mysql2/promise";
import type { Db } from "./pool";

async function allowList(db: Db, sql: string, tenantIds: readonly number[]): Promise<Map<number, string[]>> {
  const found = new Map<number, string[]>();
  if (tenantIds.length === 0) return found;
  const [rows] = await db.query<RowDataPacket[]>(sql, [tenantIds]);
  for (const row of rows) {
    const tenantId = Number(row.tenant_id);
    found.set(tenantId, [...(found.get(tenantId) ?? []), String(row.value)]);
  }
  return found;
}

export function findTenantSenders(db: Db, tenantIds: readonly number[]): Promise<Map<number, string[]>> {
  return allowList(db, "SELECT tenant_id, sender AS value FROM tenant_senders WHERE tenant_id IN (?)", tenantIds);
}

export function findTenantKakaoChannels(db: Db, tenantIds: readonly number[]): Promise<Map<number, string[]>> {
  return allowList(db, "SELECT tenant_id, pf_id AS value FROM tenant_kakao_channels WHERE tenant_id IN (?)", tenantIds);
}

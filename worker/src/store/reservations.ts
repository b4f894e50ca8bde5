import type { RowDataPacket } from "mysql2/promise";
import type { Db } from "./pool";

export const CANCELLED = "CANCELLED";

/** The status of the tenant's reservation; undefined when the tenant has no such reservation. */
export async function reservationStatus(db: Db, tenantId: number, reservationId: number): Promise<string | undefined> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT status FROM reservations WHERE id = ? AND tenant_id = ?", [reservationId, tenantId]);
  return rows[0] ? String(rows[0].status) : undefined;
}

import type { RowDataPacket } from "mysql2/promise";
import type { Db } from "./pool";

export const CANCELLED = "CANCELLED";

/** The reservations of a group of jobs: their tenant and status, by id. */
export async function findReservations(db: Db, ids: readonly number[]): Promise<Map<number, { tenantId: number; status: string }>> {
  if (ids.length === 0) return new Map();
  const [rows] = await db.query<RowDataPacket[]>("SELECT id, tenant_id, status FROM reservations WHERE id IN (?)", [ids]);
  return new Map(rows.map((row) => [Number(row.id), { tenantId: Number(row.tenant_id), status: String(row.status) }]));
}

/** Whether the tenant's reservation is cancelled: another tenant's reservation of that id does not count. */
export function isCancelled(
  reservations: Map<number, { tenantId: number; status: string }>,
  tenantId: number,
  reservationId: number,
): boolean {
  const reservation = reservations.get(reservationId);
  return reservation?.tenantId === tenantId && reservation.status === CANCELLED;
}

import type { RowDataPacket } from "mysql2/promise";
import { maskPhone } from "../log";
import type { Db } from "./pool";
import { legacyRecipientHash, type RecipientHasher } from "./recipient";

export interface TraceQuery {
  /** A normalised phone number. */
  phone: string;
  tenantId?: number;
  since: Date;
  limit: number;
}

export interface TraceRow {
  createdAt: Date;
  updatedAt: Date;
  tenantId: number;
  key: string;
  eventType: string | null;
  targetName: string | null;
  mode: string;
  channel: string | null;
  status: string;
  reason: string | null;
  groupId: string | null;
  messageId: string | null;
  amountCharged: string;
  receiveCount: number;
  id: number;
  delivery: TraceDelivery;
}

/** What is known of a SENT message's delivery (docs/contract.md §4). */
export interface TraceDelivery {
  status: string | null;
  code: string | null;
  channel: string | null;
  note: string | null;
  checks: number;
  nextCheckAt: Date | null;
}

/** Free text from the send log, as support may see it: a number in it shows masked. */
const masked = (text: unknown) => (text === null || text === undefined ? null : maskPhone(String(text)));

/**
 * A recipient's jobs, newest first: the support answer to "why didn't my message arrive?". Finds rows
 * by the keyed digest, and by the unkeyed one of rows `npm run db:rehash` has not reached yet.
 */
export async function traceRecipient(db: Db, hashRecipient: RecipientHasher, query: TraceQuery): Promise<TraceRow[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT created_at, updated_at, tenant_id, idempotency_key, event_type, target_name, mode, channel, status,
            failure_reason, group_id, message_id, amount_charged, receive_count,
            id, delivery_status, delivery_code, delivery_channel, delivery_note, delivery_checks, delivery_check_at
       FROM message_log
      WHERE recipient_hash IN (?, ?) AND created_at >= ? AND (? IS NULL OR tenant_id = ?)
      ORDER BY created_at DESC, id DESC
      LIMIT ?`,
    [
      hashRecipient(query.phone),
      legacyRecipientHash(query.phone),
      query.since,
      query.tenantId ?? null,
      query.tenantId ?? null,
      query.limit,
    ],
  );
  return rows.map((row) => ({
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    tenantId: Number(row.tenant_id),
    key: maskPhone(String(row.idempotency_key)),
    eventType: masked(row.event_type),
    targetName: masked(row.target_name),
    mode: String(row.mode),
    channel: row.channel ?? null,
    status: String(row.status),
    reason: masked(row.failure_reason),
    groupId: row.group_id ?? null,
    messageId: row.message_id ?? null,
    amountCharged: String(row.amount_charged),
    receiveCount: Number(row.receive_count),
    id: Number(row.id),
    delivery: {
      status: row.delivery_status ?? null,
      code: row.delivery_code ?? null,
      channel: row.delivery_channel ?? null,
      note: row.delivery_note ?? null,
      checks: Number(row.delivery_checks),
      nextCheckAt: row.delivery_check_at ?? null,
    },
  }));
}

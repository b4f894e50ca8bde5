/**
 * A job's end in the send log, for a group of claims: SENT with its message ids, a final status
 * other than SENT, or UNKNOWN; and which sends' write-back found its claim gone.
 */
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { SkippedStatus } from "../pipeline/outcome";
import type { Channel } from "../solapi/messages";
import type { Connection, Db } from "./pool";
import { caseById, logReason } from "./sql";

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
    sents.map((sent) => [sent.rowId, sent.fallbackReason === undefined ? null : logReason(sent.fallbackReason)]),
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
  closes: readonly { rowId: number; status: "FAILED" | SkippedStatus; reason: string }[],
): Promise<void> {
  if (closes.length === 0) return;
  const status = caseById(
    "status",
    closes.map((close) => [close.rowId, close.status]),
  );
  const why = caseById(
    "failure_reason",
    closes.map((close) => [close.rowId, logReason(close.reason)]),
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
    [logReason(why), rowId],
  );
}

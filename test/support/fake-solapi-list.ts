/**
 * The fake Solapi's message list (GET /messages/v4/list): where each accepted message stands, by
 * the delivery result a test scripted for it, filtered and paged as Solapi documents it.
 */
import type { AcceptedMessage } from "./fake-solapi-messages";

/** A message's delivery result, as the list will show it. */
export interface DeliveryReport {
  /** The final code: 4000 delivered, 3xxx a carrier or Kakao failure… */
  statusCode: string;
  /** Until this long after acceptance the list shows 3000 (with the carrier). */
  afterMs?: number;
  /** The AlimTalk was replaced by Solapi's substitute of this type: `replacement: true`, and this `type`. */
  substitute?: "SMS" | "LMS";
}

/**
 * How the list misbehaves: `unreadable` answers 200 with a body the SDK rejects; `omit` leaves every
 * message out; `no-status` lists them without a status code; `hang` never answers.
 */
export type ListFault = "unreadable" | "omit" | "no-status" | "hang";

export interface ListScript {
  report: (message: AcceptedMessage) => DeliveryReport;
  listFault?: ListFault;
}

/** Where a message stands now, as Solapi's list shows it. */
function listEntry(message: AcceptedMessage, script: ListScript): Record<string, unknown> {
  const report = script.report(message);
  const final = Date.now() - message.acceptedAt >= (report.afterMs ?? 0);
  const replaced = final && report.substitute !== undefined && message.type === "ATA";
  const statusCode = final ? report.statusCode : "3000";
  return {
    messageId: message.messageId,
    groupId: message.groupId,
    to: message.to,
    from: message.from ?? null,
    type: replaced ? report.substitute : (message.type ?? "SMS"),
    status: final ? (statusCode === "4000" ? "COMPLETE" : "FAILED") : "SENDING",
    statusCode: script.listFault === "no-status" ? null : statusCode,
    replacement: replaced,
    customFields: message.customFields ?? null,
    dateCreated: new Date(message.acceptedAt).toISOString(),
  };
}

/** One page of the list: filters as Solapi documents them; pages of `limit` (default 20), continued from `startKey`. */
export function listPage(accepted: readonly AcceptedMessage[], query: URLSearchParams, script: ListScript): Record<string, unknown> {
  const ids = new Set([...query.getAll("messageIds"), ...query.getAll("messageId")]);
  const since = query.get("startDate");
  const sinceMs = since ? Date.parse(since) : 0;
  const found = accepted.filter(
    (message) =>
      (!query.get("to") || message.to === query.get("to")) &&
      (!query.get("groupId") || message.groupId === query.get("groupId")) &&
      (ids.size === 0 || ids.has(message.messageId)) &&
      message.acceptedAt >= sinceMs - 1000,
  );
  const limit = Math.min(500, Number(query.get("limit") ?? 20) || 20);
  const startKey = query.get("startKey");
  const first = startKey
    ? Math.max(
        0,
        found.findIndex((message) => message.messageId === startKey),
      )
    : 0;
  const page = script.listFault === "omit" ? [] : found.slice(first, first + limit);
  const next = found[first + limit];
  return {
    startKey: startKey ?? null,
    nextKey: script.listFault === "omit" ? null : (next?.messageId ?? null),
    limit,
    messageList: Object.fromEntries(page.map((message) => [message.messageId, listEntry(message, script)])),
  };
}

/**
 * `npm run trace -- --to 01012345678 [--tenant N] [--since 7d]`: what became of a recipient's recent
 * jobs, from the send log.
 */
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { normalizePhone } from "../job";
import { maskPhone } from "../log";
import { recipientHasher } from "../store/recipient";
import { traceRecipient, type TraceRow } from "../store/trace";
import { formatKoreanTime } from "../templates";
import { withCommandDatabase } from "./database-config";

const USAGE = "usage: npm run trace -- --to 01012345678 [--tenant N] [--since 7d|24h|30m|2026-11-01] [--limit 50]";
const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `7d`, `24h`, `30m` before now, or a date. */
export function parseSince(text: string, now: Date = new Date()): Date {
  const relative = /^(\d+)([mhd])$/.exec(text.trim());
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNITS[relative[2]!]!);
  const absolute = new Date(text);
  if (Number.isNaN(absolute.getTime())) throw new Error(`--since: "${text}" is neither a duration (7d, 24h, 30m) nor a date`);
  return absolute;
}

/**
 * A send-log field made safe for a terminal: what producers wrote could hold escape sequences that
 * recolour, move the cursor or rewrite the screen. Line breaks and tabs become spaces; every other
 * control character (C0, DEL, C1, and the bidirectional overrides that reorder text) is dropped.
 */
export function printable(text: string): string {
  return text.replace(/[\t\n\v\f\r\u2028\u2029]/g, " ").replace(/[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, "");
}

function seoulTime(instant: Date): string {
  const seoul = new Date(instant.getTime() + 9 * 3_600_000);
  return `${seoul.toISOString().slice(0, 10)} ${formatKoreanTime(instant)}`;
}

function render(rows: TraceRow[]): string {
  const table = new Table({
    head: ["time (KST)", "tenant", "event", "mode", "channel", "status", "reason", "group_id", "message_id", "charged"],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [null, null, null, null, null, null, 40, null, null, null] as unknown as number[],
  });
  for (const row of rows) {
    const cells = [
      seoulTime(row.createdAt),
      String(row.tenantId),
      row.eventType ?? "",
      row.mode,
      row.channel ?? "",
      row.status,
      row.reason ?? "",
      row.groupId ?? "",
      row.messageId ?? "",
      row.amountCharged,
    ];
    table.push(cells.map(printable));
  }
  return table.toString();
}

export async function runTrace(args: string[]): Promise<number> {
  let query;
  try {
    const { values } = parseArgs({
      args,
      options: { to: { type: "string" }, tenant: { type: "string" }, since: { type: "string", default: "7d" }, limit: { type: "string", default: "50" } },
    });
    if (!values.to) throw new Error("--to is required");
    const tenantId = values.tenant === undefined ? undefined : Number(values.tenant);
    if (tenantId !== undefined && !Number.isInteger(tenantId)) throw new Error("--tenant must be a tenant id");
    query = { phone: normalizePhone(values.to), tenantId, since: parseSince(values.since), limit: Math.max(1, Number(values.limit) || 50) };
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  return withCommandDatabase(
    "trace",
    "trace",
    async (db, config) => {
      const rows = await traceRecipient(db, recipientHasher(config.recipientHashSecret!), query);
      const who = `${maskPhone(query.phone)}${query.tenantId ? ` (tenant ${query.tenantId})` : ""}`;
      if (rows.length === 0) {
        process.stdout.write(`no jobs for ${who} since ${seoulTime(query.since)} KST\n`);
        return 0;
      }
      process.stdout.write(`${rows.length} job${rows.length === 1 ? "" : "s"} for ${who} since ${seoulTime(query.since)} KST, newest first\n`);
      process.stdout.write(`${render(rows)}\n`);
      return 0;
    },
    { recipientKey: true },
  );
}

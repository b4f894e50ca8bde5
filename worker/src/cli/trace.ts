/**
 * `npm run trace -- --to 01012345678 [--tenant N] [--since 7d] [--refresh]`: what became of a
 * recipient's recent jobs, from the send log, with each sent message's delivery result; `--refresh`
 * asks Solapi now about the ones still without a result and records what it learns.
 */
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { type Config, ConfigError, loadConfig } from "../config";
import { checkLeaseMs, checkNow } from "../delivery/checker";
import { describeStatusCode } from "../delivery/codes";
import { checkPolicy } from "../delivery/decide";
import { normalizePhone } from "../job";
import { createLogger, maskPhone } from "../log";
import { createSolapiGateway } from "../solapi/client";
import type { Db } from "../store/pool";
import { type TraceDelivery, type TraceQuery, type TraceRow, traceRecipient } from "../store/trace";
import { formatKoreanTime } from "../templates";
import { withRecipientKeyDatabase } from "./database-config";

const USAGE = "usage: npm run trace -- --to 01012345678 [--tenant N] [--since 7d|24h|30m|2026-11-01] [--limit 50] [--refresh]";
const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `7d`, `24h`, `30m` before now, or a date. */
export function parseSince(text: string, now: Date = new Date()): Date {
  const relative = /^(\d+)([mhd])$/.exec(text.trim());
  const unitMs = relative ? UNITS[relative[2] ?? ""] : undefined;
  if (relative && unitMs !== undefined) return new Date(now.getTime() - Number(relative[1]) * unitMs);
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

/** A sent message's delivery in a few words: its result and the code's meaning, or where its check stands. */
export function describeDelivery(status: string, delivery: TraceDelivery, sentChannel: string | null): string {
  if (status !== "SENT") return "";
  if (delivery.status && delivery.code) {
    const via = delivery.channel && delivery.channel !== sentChannel ? ` (as ${delivery.channel}: Solapi's substitute)` : "";
    return `${delivery.status} ${delivery.code} ${describeStatusCode(delivery.code)}${via}`;
  }
  if (delivery.nextCheckAt) return `pending: ${delivery.note ?? "being looked up"}; next look ${seoulTime(delivery.nextCheckAt)} KST`;
  if (delivery.checks > 0) return `unknown: ${delivery.note ?? "no result"}`;
  return "not looked up yet";
}

function render(rows: TraceRow[]): string {
  const table = new Table({
    head: ["time (KST)", "tenant", "event", "mode", "channel", "status", "reason", "group_id", "message_id", "charged", "delivery"],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [null, null, null, null, null, null, 40, null, null, null, 40] as unknown as number[],
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
      describeDelivery(row.status, row.delivery, row.channel),
    ];
    table.push(cells.map(printable));
  }
  return table.toString();
}

/** Asks Solapi about the rows still without a delivery result, through the checker's own code path. */
async function refresh(db: Db, rows: readonly TraceRow[]): Promise<string> {
  const pending = rows.filter((row) => row.status === "SENT" && row.delivery.status === null).map((row) => row.id);
  if (pending.length === 0) return "refresh: every sent message already has its result";
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) throw new Error(`--refresh needs the worker's Solapi settings: ${error.message}`);
    throw error;
  }
  const solapi = createSolapiGateway(config.solapi);
  try {
    const log = createLogger({ level: "warn", format: "json", secrets: config.secrets, stream: process.stderr });
    const summary = await checkNow(
      { db, solapi, log, policy: checkPolicy(config.delivery.checkSeconds) },
      pending,
      checkLeaseMs(config.solapi.timeoutMs),
    );
    const still = summary.pending + summary.gaveUp + summary.lost;
    const asked = `${summary.leased} message${summary.leased === 1 ? "" : "s"}`;
    const line = `refresh: asked Solapi about ${asked}: ${summary.delivered} delivered, ${summary.undelivered} undelivered (refunded), ${still} still without a result`;
    const busy = pending.length - summary.leased;
    return busy > 0 ? `${line}; ${busy} being checked by a worker right now` : line;
  } finally {
    solapi.close();
  }
}

export async function runTrace(args: string[]): Promise<number> {
  let query: TraceQuery;
  let wantsRefresh = false;
  try {
    const { values } = parseArgs({
      args,
      options: {
        to: { type: "string" },
        tenant: { type: "string" },
        since: { type: "string", default: "7d" },
        limit: { type: "string", default: "50" },
        refresh: { type: "boolean", default: false },
      },
    });
    wantsRefresh = values.refresh;
    if (!values.to) throw new Error("--to is required");
    const tenantId = values.tenant === undefined ? undefined : Number(values.tenant);
    if (tenantId !== undefined && !Number.isInteger(tenantId)) throw new Error("--tenant must be a tenant id");
    query = { phone: normalizePhone(values.to), tenantId, since: parseSince(values.since), limit: Math.max(1, Number(values.limit) || 50) };
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  return withRecipientKeyDatabase("trace", "trace", async (db, hasher) => {
    let rows = await traceRecipient(db, hasher, query);
    if (wantsRefresh) {
      process.stdout.write(`${await refresh(db, rows)}\n`);
      rows = await traceRecipient(db, hasher, query);
    }
    const who = `${maskPhone(query.phone)}${query.tenantId ? ` (tenant ${query.tenantId})` : ""}`;
    if (rows.length === 0) {
      process.stdout.write(`no jobs for ${who} since ${seoulTime(query.since)} KST\n`);
      return 0;
    }
    process.stdout.write(
      `${rows.length} job${rows.length === 1 ? "" : "s"} for ${who} since ${seoulTime(query.since)} KST, newest first\n`,
    );
    process.stdout.write(`${render(rows)}\n`);
    return 0;
  });
}

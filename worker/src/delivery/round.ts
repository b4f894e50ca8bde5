/**
 * One round of delivery checks: the rows a round has leased are looked up in Solapi — one list
 * request per 100 message ids, or per group for a message Solapi gave no id — and everything they
 * prove is written in one transaction that first locks the rows the round still holds. The worker's
 * checker (checker.ts) and `npm run trace -- --refresh` both run their checks through here.
 */
import { errorMessage } from "../error-message";
import type { Logger } from "../log";
import { fromCents } from "../money";
import { LIST_IDS_PER_REQUEST, type ListedMessage, type SolapiGateway } from "../solapi/client";
import { carriesJob } from "../solapi/messages";
import {
  type FinalResult,
  findLeasedChecks,
  type HeldCheck,
  type LeasedCheck,
  lockHeldChecks,
  type NextCheck,
  recordFinalResults,
  scheduleNextChecks,
} from "../store/deliveries";
import { type Connection, type Db, inTransaction } from "../store/pool";
import { byTenantInLockOrder, creditBack, debitCredits } from "../store/tenants";
import { describeStatusCode } from "./codes";
import { type CheckPolicy, nextCheckDelayMs, type Report, readReport, settle, type Verdict } from "./decide";

export interface RoundDeps {
  db: Db;
  solapi: SolapiGateway;
  log: Logger;
  policy: CheckPolicy;
}

export interface RoundSummary {
  leased: number;
  delivered: number;
  undelivered: number;
  pending: number;
  /** Still pending at the bound: no further look. */
  gaveUp: number;
  /** Leases that lapsed before the write: another round has them now. */
  lost: number;
  requests: number;
}

/** What the look-ups found for each leased row: a report, or why there is none. */
interface Findings {
  reports: Map<number, Report>;
  /** Rows Solapi could not be asked about, with the error. */
  unasked: Map<number, string>;
  requests: number;
}

const NO_LOOKUP = "no message id or group id to look it up by";

function duration(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round(ms / 3_600_000)} h`;
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

/** `Map.groupBy` arrived after Node 20. */
function groupBy<T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(keyOf(item), [...(groups.get(keyOf(item)) ?? []), item]);
  return groups;
}

function toReport(entry: ListedMessage): Report {
  return { statusCode: entry.statusCode, type: entry.type, replacement: entry.replacement };
}

async function lookUp(solapi: SolapiGateway, rows: readonly LeasedCheck[], signal?: AbortSignal): Promise<Findings> {
  const findings: Findings = { reports: new Map(), unasked: new Map(), requests: 0 };
  const ask = async (
    part: readonly LeasedCheck[],
    query: Parameters<SolapiGateway["listMessages"]>[0],
    match: (row: LeasedCheck, entry: ListedMessage) => boolean,
  ) => {
    if (signal?.aborted) return;
    findings.requests += 1;
    try {
      const entries = await solapi.listMessages(query);
      for (const row of part) {
        const entry = entries.find((candidate) => match(row, candidate));
        if (entry) findings.reports.set(row.id, toReport(entry));
      }
    } catch (error) {
      for (const row of part) findings.unasked.set(row.id, `Solapi could not be asked: ${errorMessage(error)}`);
    }
  };
  const withId = rows.filter((row) => row.messageId);
  for (let start = 0; start < withId.length; start += LIST_IDS_PER_REQUEST) {
    const part = withId.slice(start, start + LIST_IDS_PER_REQUEST);
    await ask(part, { messageIds: part.map((row) => row.messageId) }, (row, entry) => entry.messageId === row.messageId);
  }
  const byGroup = groupBy(
    rows.filter((row) => !row.messageId && row.groupId),
    (row) => row.groupId,
  );
  for (const [groupId, part] of byGroup) {
    await ask(part, { groupId }, (row, entry) => carriesJob(entry.customFields, { jobKey: row.key, tenantId: row.tenantId }));
  }
  return findings;
}

type Final = FinalResult & { row: LeasedCheck; charged: string; deltaCents: number };
type Next = NextCheck & { row: LeasedCheck };

interface Written {
  finals: Final[];
  nexts: Next[];
  lost: number;
}

/** What one held row's findings come to: a final result and its settlement, or the next look. */
function conclude(row: LeasedCheck, held: HeldCheck, findings: Findings, policy: CheckPolicy): Final | Next {
  const unlookable = !row.messageId && !row.groupId;
  const unasked = findings.unasked.get(row.id);
  const verdict: Verdict = unlookable
    ? { kind: "pending", note: NO_LOOKUP }
    : unasked
      ? { kind: "pending", note: unasked }
      : readReport(findings.reports.get(row.id), row.channel);
  if (verdict.kind === "pending") {
    const delayMs = unlookable ? undefined : nextCheckDelayMs(row.checks, row.ageMs, policy);
    const note =
      delayMs === undefined && !unlookable ? `no final result within ${duration(policy.boundMs)}; last: ${verdict.note}` : verdict.note;
    return { id: row.id, delayMs, note, row };
  }
  const { charge, deltaCents } = settle(verdict, held.amountCharged, row.prices);
  const substitute = verdict.replaced ? ` (Solapi's substitute ${verdict.channel.toUpperCase()} instead of the AlimTalk)` : "";
  const note = `${verdict.code} ${describeStatusCode(verdict.code)}${substitute}`;
  return {
    id: row.id,
    status: verdict.status,
    code: verdict.code,
    channel: verdict.channel,
    charge,
    note,
    row,
    charged: held.amountCharged,
    deltaCents,
  };
}

/** Per tenant, in lock order: refunds, then conditional debits. */
async function settleCharges(connection: Connection, finals: readonly Final[]): Promise<void> {
  for (const [tenantId, tenantFinals] of byTenantInLockOrder(finals, (final) => final.row.tenantId)) {
    const refund = tenantFinals.reduce((sum, final) => sum + Math.max(0, -final.deltaCents), 0);
    if (refund > 0) await creditBack(connection, tenantId, fromCents(refund));
    for (const final of tenantFinals) {
      if (final.deltaCents <= 0 || (await debitCredits(connection, tenantId, fromCents(final.deltaCents)))) continue;
      // Credits never go below zero: the academy keeps paying what it was charged.
      final.charge = final.charged;
      final.note = `${final.note}; credits did not cover the substitute's price, the AlimTalk price stands`;
    }
  }
}

async function write(deps: RoundDeps, owner: string, rows: readonly LeasedCheck[], findings: Findings): Promise<Written> {
  return inTransaction(deps.db, async (connection) => {
    const held = await lockHeldChecks(
      connection,
      rows.map((row) => row.id),
      owner,
    );
    const written: Written = { finals: [], nexts: [], lost: 0 };
    for (const row of rows) {
      const lock = held.get(row.id);
      if (!lock) written.lost += 1;
      else {
        const concluded = conclude(row, lock, findings, deps.policy);
        if ("status" in concluded) written.finals.push(concluded);
        else written.nexts.push(concluded);
      }
    }
    await settleCharges(connection, written.finals);
    await recordFinalResults(connection, written.finals);
    await scheduleNextChecks(connection, written.nexts);
    return written;
  });
}

function report(log: Logger, written: Written, findings: Findings): void {
  for (const final of written.finals.filter((candidate) => candidate.status === "UNDELIVERED")) {
    log.info("message undelivered", {
      job: final.row.key,
      tenant_id: final.row.tenantId,
      message_id: final.row.messageId,
      delivery_code: final.code,
      meaning: describeStatusCode(final.code),
      delivery_channel: final.channel,
      refunded: true,
    });
  }
  for (const next of written.nexts.filter((candidate) => candidate.delayMs === undefined)) {
    log.warn("delivery result unknown: no further checks", {
      job: next.row.key,
      tenant_id: next.row.tenantId,
      message_id: next.row.messageId,
      checks: next.row.checks,
      note: next.note,
    });
  }
  const unasked = [...findings.unasked.values()];
  if (unasked.length > 0) log.warn("delivery look-up failed; will look again", { messages: unasked.length, error: unasked[0] });
  if (written.lost > 0)
    log.warn("delivery checks' leases lapsed before their results were written; another round has them", { messages: written.lost });
}

/**
 * Checks every row the round `owner` has leased. Undefined when `signal` stopped it before the
 * write: its leases lapse and the checks fall due again.
 */
export async function checkLeased(deps: RoundDeps, owner: string, signal?: AbortSignal): Promise<RoundSummary | undefined> {
  const rows = await findLeasedChecks(deps.db, owner);
  const summary: RoundSummary = { leased: rows.length, delivered: 0, undelivered: 0, pending: 0, gaveUp: 0, lost: 0, requests: 0 };
  if (rows.length === 0) return summary;
  const findings = await lookUp(deps.solapi, rows, signal);
  if (signal?.aborted) return undefined;
  const written = await write(deps, owner, rows, findings);
  report(deps.log, written, findings);
  summary.requests = findings.requests;
  summary.delivered = written.finals.filter((final) => final.status === "DELIVERED").length;
  summary.undelivered = written.finals.length - summary.delivered;
  summary.gaveUp = written.nexts.filter((next) => next.delayMs === undefined).length;
  summary.pending = written.nexts.length - summary.gaveUp;
  summary.lost = written.lost;
  return summary;
}

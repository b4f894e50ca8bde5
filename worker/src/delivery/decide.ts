/**
 * The delivery check's decisions, as pure functions: what Solapi's list entry says about a message,
 * when to look again, and what the academy pays for it. checker.ts does the work these decide.
 */
import { type BackoffPolicy, backoffMs } from "../backoff";
import { fromCents, toCents } from "../money";
import type { Channel } from "../solapi/messages";
import { DELIVERED_CODE, describeStatusCode, PENDING_CODES } from "./codes";

const HOUR_MS = 3_600_000;

/**
 * Solapi's help centre: a message may stay "sending" (3000) for up to 24 hours as SMS and 72 hours
 * as LMS/MMS while the carrier retries (a phone switched off, no coverage). An hour on top covers
 * the carrier's report reaching Solapi.
 */
export const RESULT_BOUND_MS = 73 * HOUR_MS;
/** Back-off doubles from the first delay up to this. */
export const LONGEST_INTERVAL_MS = 6 * HOUR_MS;

export interface CheckPolicy {
  /** From acceptance to the first look (MESSAGING_DELIVERY_CHECK_SECONDS). */
  firstCheckMs: number;
  longestIntervalMs: number;
  /** From acceptance to the last look; a message still pending then is given up on. */
  boundMs: number;
}

export function checkPolicy(firstCheckSeconds: number, overrides: Partial<CheckPolicy> = {}): CheckPolicy {
  return { firstCheckMs: firstCheckSeconds * 1000, longestIntervalMs: LONGEST_INTERVAL_MS, boundMs: RESULT_BOUND_MS, ...overrides };
}

/** What Solapi's list said about one message. */
export interface Report {
  statusCode?: string;
  /** Solapi's message type (SMS, LMS, ATA…): for a substitute, what reached the phone. */
  type?: string;
  /** Solapi replaced an undeliverable AlimTalk with its substitute SMS/LMS. */
  replacement: boolean;
}

export type DeliveryStatus = "DELIVERED" | "UNDELIVERED";

export type Verdict =
  | { kind: "final"; status: DeliveryStatus; code: string; channel: Channel; replaced: boolean }
  /** Not known yet, or not readable: looked at again later, never recorded. */
  | { kind: "pending"; note: string };

const FOUR_DIGITS = /^\d{4}$/;

function substituteChannel(type: string | undefined): Channel {
  return type === "LMS" || type === "MMS" ? "lms" : "sms";
}

/**
 * 4000 is delivered; 2000 and 3000 are on their way; every other four-digit code is a final failure
 * (as Solapi's own SDKs read them). An entry that is missing or carries no readable code proves
 * nothing either way.
 */
export function readReport(report: Report | undefined, sentChannel: Channel): Verdict {
  if (!report) return { kind: "pending", note: "not in Solapi's answer" };
  const code = report.statusCode?.trim() ?? "";
  if (!FOUR_DIGITS.test(code)) return { kind: "pending", note: `unreadable status code ${JSON.stringify(report.statusCode ?? null)}` };
  if (PENDING_CODES.has(code)) return { kind: "pending", note: `${code} ${describeStatusCode(code)}` };
  const replaced = report.replacement && sentChannel === "alimtalk";
  return {
    kind: "final",
    status: code === DELIVERED_CODE ? "DELIVERED" : "UNDELIVERED",
    code,
    channel: replaced ? substituteChannel(report.type) : sentChannel,
    replaced,
  };
}

/** The intervals between looks: the first is from acceptance to the first look, each next twice as long, up to the longest. */
function lookIntervals(policy: CheckPolicy): BackoffPolicy {
  return { firstMs: policy.firstCheckMs, maxMs: policy.longestIntervalMs, jitter: "none" };
}

/**
 * How long until the next look after `checksDone` looks, `ageMs` after acceptance; undefined once
 * the bound is reached. The last look falls on the bound itself. After look n comes interval n + 1
 * (a row with no look counted is timed as after its first).
 */
export function nextCheckDelayMs(checksDone: number, ageMs: number, policy: CheckPolicy): number | undefined {
  if (ageMs >= policy.boundMs) return undefined;
  const backOff = backoffMs(Math.max(1, checksDone) + 1, lookIntervals(policy));
  return Math.max(1, Math.min(backOff, policy.boundMs - ageMs));
}

/** A tenant's text prices, for a substitute that reached the phone instead of the AlimTalk. */
export interface TextPrices {
  sms: string;
  lms: string;
}

export interface Settlement {
  /** What the message costs the academy once settled. */
  charge: string;
  /** Cents to take from (> 0) or give back to (< 0) the academy's credits. */
  deltaCents: number;
}

/**
 * UNDELIVERED: the whole charge goes back. DELIVERED: the academy pays for what reached the phone —
 * the AlimTalk price it was charged, or, when Solapi's substitute went instead, the tenant's price
 * for that SMS/LMS (Solapi bills the substitute at text rates).
 */
export function settle(verdict: Extract<Verdict, { kind: "final" }>, charged: string, prices: TextPrices | undefined): Settlement {
  if (verdict.status === "UNDELIVERED") return { charge: fromCents(0), deltaCents: -toCents(charged) };
  if (!verdict.replaced || !prices || verdict.channel === "alimtalk") return { charge: fromCents(toCents(charged)), deltaCents: 0 };
  const price = toCents(prices[verdict.channel]);
  return { charge: fromCents(price), deltaCents: price - toCents(charged) };
}

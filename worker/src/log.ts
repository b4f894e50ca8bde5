import winston from "winston";
import type { LogFormat, LogLevel } from "./config";
import { normalizePhone } from "./job";

export type Logger = winston.Logger;

/** What normalizePhone strips from a number (job.ts): whitespace, hyphens, dots, parentheses. */
const SEPARATOR = String.raw`[\s\-().]*`;
/**
 * A Korean mobile number in any form the job parser accepts, inside any text: `01012345678`,
 * `010-1234-5678`, `010 1234 5678`, `(010) 1234.5678`, `+82 10-1234-5678`, `+8210…`, `+82 (0)10…`,
 * separators anywhere between digits. Not inside a longer run of digits.
 */
const MOBILE_NUMBER = new RegExp(
  String.raw`(?<!\d)(?:\+${SEPARATOR}8${SEPARATOR}2${SEPARATOR}(?:0${SEPARATOR})?|0${SEPARATOR})1${SEPARATOR}[016789](?:${SEPARATOR}\d){7,8}(?!\d)`,
  "g",
);

/** `01012345678`, `+82 10-1234-5678` → `010****5678` (docs/contract.md §7): one form, whatever form the number came in. */
export function maskPhone(text: string): string {
  return text.replace(MOBILE_NUMBER, (match) => {
    const number = normalizePhone(match);
    return `${number.slice(0, 3)}${"*".repeat(number.length - 7)}${number.slice(-4)}`;
  });
}

/**
 * A job's recipient, masked whatever it is: a mobile number as maskPhone does; a landline or any
 * other `to` the parser let through (a permanent failure, job.ts) keeps only its first three and last
 * four characters when it is long enough, else only its last two.
 */
export function maskRecipient(to: string): string {
  const masked = maskPhone(to);
  if (masked !== to) return masked;
  const keepStart = to.length >= 9 ? 3 : 0;
  const keepEnd = to.length >= 9 ? 4 : Math.min(2, Math.floor(to.length / 3));
  return `${to.slice(0, keepStart)}${"*".repeat(to.length - keepStart - keepEnd)}${to.slice(to.length - keepEnd)}`;
}

const REDACTED = "[redacted]";
const MAX_DEPTH = 6;

function scrubString(value: string, secrets: readonly string[]): string {
  let result = value;
  for (const secret of secrets) {
    if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  return maskPhone(result);
}

/** Masks phone numbers and removes secret values anywhere in a log record, whatever its shape. */
export function scrub(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === "string") return scrubString(value, secrets);
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return "[…]";
  if (value instanceof Error) {
    return { name: value.name, message: scrubString(value.message, secrets) };
  }
  if (Array.isArray(value)) return value.map((item) => scrub(item, secrets, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) result[key] = scrub(item, secrets, depth + 1);
  return result;
}

function scrubFormat(secrets: readonly string[]) {
  return winston.format((info) => {
    for (const key of Object.keys(info)) {
      (info as Record<string, unknown>)[key] = scrub(info[key], secrets);
    }
    return info;
  })();
}

function prettyValue(value: unknown): string {
  if (typeof value === "string") return /[\s="]/.test(value) ? JSON.stringify(value) : value;
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

/** `12:00:01.234 info job sent job=… tenant_id=1 channel=sms`: one line, for people. */
const prettyLine = winston.format.printf((info) => {
  const { level, message, timestamp } = info;
  const fields = Object.keys(info)
    .filter((key) => !["level", "message", "timestamp"].includes(key) && info[key] !== undefined)
    .map((key) => `${key}=${prettyValue(info[key])}`);
  return [String(timestamp), level, String(message), ...fields].join(" ");
});

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  secrets: readonly string[];
  /** Tests capture lines here; by default lines go to stdout. */
  stream?: NodeJS.WritableStream;
  /** Fields on every line. */
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  const secrets = [...new Set(options.secrets.filter((secret) => secret.length >= 4))];
  const rendering =
    options.format === "pretty"
      ? winston.format.combine(
          winston.format.timestamp({ format: "HH:mm:ss.SSS" }),
          ...(process.stdout.isTTY && !options.stream ? [winston.format.colorize()] : []),
          prettyLine,
        )
      : winston.format.combine(winston.format.timestamp(), winston.format.json());
  return winston.createLogger({
    level: options.level,
    defaultMeta: options.base,
    format: winston.format.combine(scrubFormat(secrets), rendering),
    transports: [options.stream ? new winston.transports.Stream({ stream: options.stream }) : new winston.transports.Console()],
  });
}

/**
 * Winston writes through streams: lines logged just before process.exit can still be queued.
 * Ends the logger and resolves once its transports have written everything.
 */
export function flushLogger(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const transports = log.transports.length;
    if (transports === 0) return resolve();
    let finished = 0;
    for (const transport of log.transports) {
      transport.once("finish", () => {
        finished += 1;
        if (finished === transports) setImmediate(resolve);
      });
    }
    log.end();
  });
}

/**
 * How one environment variable's text becomes a value, as zod schemas: trimmed, blank meaning the
 * default, and a bad value reported with what was expected (config.ts names the variable).
 */
import { existsSync } from "node:fs";
import { z } from "zod";
import { DatabaseUrlError, parseDatabaseUrl } from "./store/database-url";

export const optionalText = z
  .string()
  .transform((value) => value.trim())
  .optional()
  .transform((value) => (value ? value : undefined));

export function integer(min: number, max: number, fallback: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === "") return fallback;
      const value = Number(raw.trim());
      if (!Number.isInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: "custom", message: `${message} (got "${raw}")` });
        return z.NEVER;
      }
      return value;
    });
}

export function flag(fallback: boolean) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === "") return fallback;
      const value = raw.trim().toLowerCase();
      if (["true", "1", "yes", "on"].includes(value)) return true;
      if (["false", "0", "no", "off"].includes(value)) return false;
      ctx.addIssue({ code: "custom", message: `must be true or false (got "${raw}")` });
      return z.NEVER;
    });
}

export function httpUrl(options: { secret?: boolean } = {}) {
  return optionalText.superRefine((value, ctx) => {
    if (value === undefined) return;
    if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
      ctx.addIssue({
        code: "custom",
        message: options.secret ? "must be an http(s) URL" : `must be an http(s) URL (got "${value}")`,
      });
    }
  });
}

export function oneOf<const T extends readonly string[]>(values: T, fallback: T[number]) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T[number] => {
      if (raw === undefined || raw.trim() === "") return fallback;
      const value = raw.trim().toLowerCase();
      if ((values as readonly string[]).includes(value)) return value as T[number];
      ctx.addIssue({ code: "custom", message: `must be one of ${values.join(", ")} (got "${raw}")` });
      return z.NEVER;
    });
}

/** DATABASE_URL with its TLS options checked; a problem never echoes the value: it carries a password. */
export const databaseUrl = optionalText.superRefine((value, ctx) => {
  if (value === undefined) return;
  try {
    const { tls } = parseDatabaseUrl(value);
    if (tls.ca && tls.ca !== "rds" && !existsSync(tls.ca)) ctx.addIssue({ code: "custom", message: `ssl-ca: no file at ${tls.ca}` });
  } catch (error) {
    if (!(error instanceof DatabaseUrlError)) throw error;
    ctx.addIssue({ code: "custom", message: error.message });
  }
});

/** Each problem as "<variable> <what is wrong>". */
export const describeIssues = (error: z.ZodError | undefined) =>
  (error?.issues ?? []).map((issue) => `${issue.path.join(".")} ${issue.message}`);

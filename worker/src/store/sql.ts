/**
 * Pieces the send log's statements share: durations in the microseconds `DATE_ADD(…, INTERVAL ?
 * MICROSECOND)` takes, a column set row by row in one UPDATE, and a reason as the log table keeps it.
 */
import { maskPhone } from "../log";

export const micros = (ms: number): number => Math.round(ms * 1000);

/** The longest failure_reason / fallback_reason the table keeps. */
const MAX_REASON = 1000;

/** A reason as message_log keeps it: no phone number, and short enough for its column. */
export const logReason = (text: string): string => maskPhone(text).slice(0, MAX_REASON);

/**
 * `column = CASE id WHEN ? THEN <value> … END`: one value per row in a single UPDATE of a group.
 * `valueSql` wraps each value (default the value itself).
 */
export function caseById(
  column: string,
  values: readonly (readonly [number, unknown])[],
  valueSql = "?",
): { sql: string; params: unknown[] } {
  return {
    sql: `${column} = CASE id ${values.map(() => `WHEN ? THEN ${valueSql}`).join(" ")} END`,
    params: values.flat(),
  };
}

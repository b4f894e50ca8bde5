/**
 * Pieces the send log's statements share: durations in the microseconds `DATE_ADD(…, INTERVAL ?
 * MICROSECOND)` takes, and a column set row by row in one UPDATE.
 */
export const micros = (ms: number): number => Math.round(ms * 1000);

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
    params: values.flatMap(([rowId, value]) => [rowId, value]),
  };
}

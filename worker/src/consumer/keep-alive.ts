/**
 * The keep-alive message: a scheduled SendMessage (infra/keep-alive.ts) that keeps the queue
 * "active" for CloudWatch while no worker polls it, so that SQS keeps publishing the metrics the
 * scaling alarms wake the service with (docs/deploy.md "Waking in time"). It is not a job: the
 * consumer deletes it at once, with no send, no charge, no send-log row and no job report.
 *
 * Its shape, the only one recognised: a JSON object body with `"keep_alive": true` and no
 * `tenant_id` (so that no real job is ever mistaken for one), e.g. {"keep_alive":true}.
 */
export const KEEP_ALIVE_BODY = JSON.stringify({
  keep_alive: true,
  purpose: "keeps the queue's CloudWatch metrics flowing; deleted unread",
});

export function isKeepAlive(body: string): boolean {
  // Every job passes through here: only bodies that mention the field are parsed.
  if (!body.includes('"keep_alive"')) return false;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return false;
    const fields = parsed as Record<string, unknown>;
    return fields.keep_alive === true && !("tenant_id" in fields);
  } catch {
    return false;
  }
}

/** Splits a receive into keep-alive messages and the rest, each in its original order. */
export function partitionKeepAlives<T extends { body: string }>(messages: readonly T[]): { keepAlives: T[]; jobs: T[] } {
  const keepAlives: T[] = [];
  const jobs: T[] = [];
  for (const message of messages) (isKeepAlive(message.body) ? keepAlives : jobs).push(message);
  return { keepAlives, jobs };
}

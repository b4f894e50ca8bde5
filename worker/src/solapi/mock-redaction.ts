/**
 * What mock mode prints when SOLAPI_MOCK_SHOW_TEXT=false: the request as it would be sent, with what
 * the message says taken out. Message text, subjects and AlimTalk variable values carry students'
 * names and schedules, and a deployed stack sends stderr to CloudWatch. The structure stays, so the
 * print still shows which channel, sender, template and job each message had.
 */

/** Message fields kept as they are: routing, never content. The recipient is masked afterwards, with the rest of the print. */
const KEPT_FIELDS = new Set(["to", "from", "type", "country", "pfId", "templateId", "disableSms", "customFields", "scheduledDate"]);

function redactedText(value: string): string {
  return `[redacted: ${[...value].length} characters]`;
}

/** A message (or a substitute in `replacements`): content redacted, shape kept. */
function redactMessage(value: unknown, key?: string): unknown {
  if (typeof value === "string") return key !== undefined && KEPT_FIELDS.has(key) ? value : redactedText(value);
  if (Array.isArray(value)) return value.map((item) => redactMessage(item));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([name, item]) => {
      if (name === "customFields") return [name, item];
      // Variable names (`#{학생명}`) are the template's; their values are the student's.
      if (name === "variables" && item !== null && typeof item === "object") {
        return [name, Object.fromEntries(Object.keys(item).map((variable) => [variable, "[redacted]"]))];
      }
      return [name, redactMessage(item, name)];
    }),
  );
}

/** The pretty JSON of a Solapi request with every message's content redacted; any other shape is redacted whole. */
export function redactMockRequest(prettyJson: string): string {
  let request: unknown;
  try {
    request = JSON.parse(prettyJson);
  } catch {
    return "[redacted: not JSON]";
  }
  if (request === null || typeof request !== "object" || !Array.isArray((request as { messages?: unknown }).messages)) {
    return JSON.stringify(redactMessage(request), null, 2);
  }
  // The request's own fields (allowDuplicates, the SDK's agent) say nothing of anyone.
  const { messages, ...rest } = request as { messages: unknown[] };
  return JSON.stringify({ ...rest, messages: messages.map((message) => redactMessage(message)) }, null, 2);
}

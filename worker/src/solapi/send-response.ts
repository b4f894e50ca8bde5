/**
 * Solapi's answer to one send request, read back job by job: which messages it accepted (and under
 * which id), which it refused and why. Apart from the gateway (client.ts) that sends, because the
 * matching of answers to jobs is where one job could be given another's result.
 */
import type { DetailGroupMessageResponse } from "solapi";
import type { DeliveryResult, OutgoingMessage } from "./client";
import { classifyMessageStatus, type SolapiRequestError } from "./errors";
import { type Channel, carriesJob } from "./messages";

type FailedEntry = DetailGroupMessageResponse["failedMessageList"][number];
type ListedEntry = NonNullable<DetailGroupMessageResponse["messageList"]>[number];

function refusal(channel: Channel, groupId: string, entry: FailedEntry): DeliveryResult {
  const status = classifyMessageStatus(entry.statusCode);
  return {
    status: "refused",
    channel,
    groupId,
    statusCode: entry.statusCode,
    reason: `Solapi refused the ${channel} message: ${entry.statusCode} ${entry.statusMessage}`.trim(),
    ...status,
  };
}

const SOLAPI_TYPE: Record<Channel, string> = { sms: "SMS", lms: "LMS", alimtalk: "ATA" };

/**
 * Per-message answers, matched by the job (tenant and key) each message carried in customFields; a
 * failed entry without customFields is matched by recipient and type instead.
 */
export function readResponse(
  messages: readonly OutgoingMessage[],
  groupId: string,
  failed: readonly FailedEntry[],
  listed: readonly ListedEntry[],
) {
  const unkeyedFailures = failed.filter((entry) => !entry.customFields);
  const results = new Map<string, DeliveryResult>();
  for (const outgoing of messages) {
    let failedEntry = failed.find((entry) => carriesJob(entry.customFields, outgoing));
    if (!failedEntry && unkeyedFailures.length > 0) {
      const index = unkeyedFailures.findIndex((entry) => entry.to === outgoing.message.to && entry.type === SOLAPI_TYPE[outgoing.channel]);
      if (index >= 0) failedEntry = unkeyedFailures.splice(index, 1)[0];
    }
    if (failedEntry) {
      results.set(outgoing.id, refusal(outgoing.channel, groupId, failedEntry));
      continue;
    }
    const messageId = listed.find((entry) => carriesJob(entry.customFields, outgoing))?.messageId ?? "";
    results.set(outgoing.id, { status: "accepted", channel: outgoing.channel, groupId, messageId });
  }
  return results;
}

export function failedResults(messages: readonly OutgoingMessage[], error: SolapiRequestError): Map<string, DeliveryResult> {
  return new Map(messages.map((message) => [message.id, { status: "failed", channel: message.channel, error } as const]));
}

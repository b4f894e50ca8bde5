/**
 * The messages a send request carries, and what the fake Solapi makes of each: accepted (with a
 * message id, kept in its ledger) or refused at registration, as Solapi's send-many/detail answers.
 */

export interface SentMessage {
  to: string;
  from?: string;
  type?: string;
  text?: string;
  subject?: string;
  kakaoOptions?: { pfId?: string; templateId?: string; variables?: Record<string, string>; disableSms?: boolean };
  replacements?: Record<string, unknown>[];
  customFields?: Record<string, string>;
}

export interface AcceptedMessage extends SentMessage {
  messageId: string;
  groupId: string;
  jobKey?: string;
  acceptedAt: number;
}

export interface Refusal {
  statusCode: string;
  statusMessage: string;
}

const JOB_KEY_FIELD = "jobKey";

/** AlimTalk templates whose id starts with this are refused like an unapproved template. */
export const UNAPPROVED_TEMPLATE_PREFIX = "UNAPPROVED";

export function defaultRefusal(message: SentMessage): Refusal | undefined {
  if (message.type === "ATA" && message.kakaoOptions?.templateId?.startsWith(UNAPPROVED_TEMPLATE_PREFIX)) {
    return { statusCode: "1042", statusMessage: "템플릿이 승인되지 않았습니다" };
  }
  return undefined;
}

/** One send's messages registered: Solapi's entries for the answer, and the messages it accepted. */
export interface Registration {
  failed: Record<string, unknown>[];
  listed: Record<string, unknown>[];
  accepted: AcceptedMessage[];
}

/** Each message accepted under a new id of `newId("M")`, or refused as `refuse` says. */
export function register(
  messages: readonly SentMessage[],
  groupId: string,
  refuse: (message: SentMessage) => Refusal | undefined,
  newId: (prefix: string) => string,
): Registration {
  const registration: Registration = { failed: [], listed: [], accepted: [] };
  for (const message of messages) {
    const refusal = refuse(message);
    const entry = {
      messageId: newId("M"),
      to: message.to,
      from: message.from ?? "",
      type: message.type ?? "SMS",
      country: "82",
      accountId: "FAKE",
      customFields: message.customFields,
      statusCode: refusal?.statusCode ?? "2000",
      statusMessage: refusal?.statusMessage ?? "정상 접수(이통사로 접수 예정)",
    };
    if (refusal) {
      registration.failed.push(entry);
      continue;
    }
    registration.listed.push(entry);
    registration.accepted.push({
      ...message,
      messageId: entry.messageId,
      groupId,
      jobKey: message.customFields?.[JOB_KEY_FIELD],
      acceptedAt: Date.now(),
    });
  }
  return registration;
}

import { createHash } from "node:crypto";
import iconv from "iconv-lite";
import type { RequestSendOneMessageSchema } from "solapi";

/** Solapi's limits, which the SDK does not check: SMS 90 bytes, LMS 2,000 bytes with a 40-byte subject, counted in EUC-KR. */
export const SMS_MAX_BYTES = 90;
export const LMS_MAX_BYTES = 2_000;
export const LMS_SUBJECT_MAX_BYTES = 40;

export type Channel = "sms" | "lms" | "alimtalk";
export type SolapiMessage = RequestSendOneMessageSchema;

export interface TextMeasure {
  /** EUC-KR bytes; a character EUC-KR lacks counts as its UTF-8 length. */
  bytes: number;
  /** False when a character lies outside KS X 1001 (emoji, 똠): Solapi refuses such an SMS (status 1029). */
  smsCompatible: boolean;
}

interface CharacterMeasure {
  bytes: number;
  euckr: boolean;
}

const QUESTION_MARK = 0x3f;

const ASCII: CharacterMeasure = { bytes: 1, euckr: true };
/**
 * Every job's text is measured up to three times (schema, channel, message): each character is
 * encoded once. Bounded, so that arbitrary input cannot grow it past the Hangul set and then some.
 */
const measured = new Map<string, CharacterMeasure>();
const MAX_MEASURED = 20_000;

function measureCharacter(character: string): CharacterMeasure {
  if (character.charCodeAt(0) < 0x80) return ASCII;
  let measure = measured.get(character);
  if (!measure) {
    measure = encodeCharacter(character);
    if (measured.size < MAX_MEASURED) measured.set(character, measure);
  }
  return measure;
}

function encodeCharacter(character: string): CharacterMeasure {
  const encoded = iconv.encode(character, "euc-kr");
  // iconv-lite's euc-kr is CP949; only pairs with both bytes in A1–FE are KS X 1001, the set SMS accepts.
  const isKsX1001 = encoded.length === 2 && encoded.readUInt8(0) >= 0xa1 && encoded.readUInt8(1) >= 0xa1;
  if (isKsX1001) return { bytes: 2, euckr: true };
  const unencodable = encoded.length === 1 && encoded[0] === QUESTION_MARK;
  return { bytes: unencodable ? Buffer.byteLength(character, "utf8") : encoded.length, euckr: false };
}

export function measureText(text: string): TextMeasure {
  let bytes = 0;
  let smsCompatible = true;
  for (const character of text) {
    const measure = measureCharacter(character);
    bytes += measure.bytes;
    smsCompatible &&= measure.euckr;
  }
  return { bytes, smsCompatible };
}

/** SMS when the text fits 90 EUC-KR bytes and uses only characters SMS can carry; LMS otherwise. */
export function textChannel(text: string): "sms" | "lms" {
  const { bytes, smsCompatible } = measureText(text);
  return smsCompatible && bytes <= SMS_MAX_BYTES ? "sms" : "lms";
}

/**
 * The LMS subject: the given one, else the text's first non-empty line; kept to KS X 1001 characters
 * and cut on a character boundary at 40 bytes, since Solapi refuses a longer subject (status 1014).
 */
export function lmsSubject(text: string, subject?: string): string {
  const source =
    subject?.trim() ||
    text
      .split(/\r?\n/)
      .find((line) => line.trim() !== "")
      ?.trim() ||
    "";
  let result = "";
  let bytes = 0;
  for (const character of source) {
    const measure = measureCharacter(character);
    if (!measure.euckr) continue;
    if (bytes + measure.bytes > LMS_SUBJECT_MAX_BYTES) break;
    result += character;
    bytes += measure.bytes;
  }
  return result.trim();
}

/**
 * The custom fields every message carries, so a send can be found again by its job (getMessages):
 * a job is its key within its tenant (docs/contract.md §4), so both travel.
 */
export const JOB_KEY_FIELD = "jobKey";
export const TENANT_FIELD = "tenantId";
const CUSTOM_FIELD_MAX_LENGTH = 100;

/** Solapi limits a custom field value to 100 characters (status 1032); longer keys travel as a digest. */
export function solapiJobKey(jobKey: string): string {
  if (jobKey.length <= CUSTOM_FIELD_MAX_LENGTH) return jobKey;
  return `sha256:${createHash("sha256").update(jobKey).digest("hex")}`;
}

/** The job a message belongs to, as Solapi keeps it. */
export interface MessageOwner {
  jobKey: string;
  tenantId: number;
}

export function jobCustomFields(owner: MessageOwner): Record<string, string> {
  return { [JOB_KEY_FIELD]: solapiJobKey(owner.jobKey), [TENANT_FIELD]: String(owner.tenantId) };
}

/** Whether a message Solapi holds was sent for this job. Messages sent before tenants travelled carry only the key. */
export function carriesJob(customFields: Record<string, string> | null | undefined, owner: MessageOwner): boolean {
  if (customFields?.[JOB_KEY_FIELD] !== solapiJobKey(owner.jobKey)) return false;
  const tenant = customFields[TENANT_FIELD];
  return tenant === undefined || tenant === String(owner.tenantId);
}

export interface TextMessageInput extends MessageOwner {
  to: string;
  from: string;
  text: string;
  subject?: string;
}

export function buildTextMessage(input: TextMessageInput): { channel: "sms" | "lms"; message: SolapiMessage } {
  const channel = textChannel(input.text);
  const subject = channel === "lms" ? lmsSubject(input.text, input.subject) : "";
  return {
    channel,
    message: {
      to: input.to,
      from: input.from,
      text: input.text,
      type: channel === "sms" ? "SMS" : "LMS",
      ...(subject ? { subject } : {}),
      customFields: jobCustomFields(input),
    },
  };
}

export interface AlimtalkMessageInput extends MessageOwner {
  to: string;
  pfId: string;
  templateId: string;
  variables: Record<string, string>;
  /**
   * With a substitute, Solapi itself sends it as SMS/LMS when the AlimTalk is accepted but cannot be
   * delivered later (recipient not on KakaoTalk); without one, a failed delivery stays failed.
   */
  substitute?: { from: string; text: string; subject?: string };
}

export function buildAlimtalkMessage(input: AlimtalkMessageInput): { channel: "alimtalk"; message: SolapiMessage } {
  const substitute = input.substitute
    ? buildTextMessage({ jobKey: input.jobKey, tenantId: input.tenantId, to: input.to, ...input.substitute })
    : undefined;
  const variables = Object.fromEntries(Object.entries(input.variables).map(([name, value]) => [`#{${name}}`, value]));
  return {
    channel: "alimtalk",
    message: {
      to: input.to,
      ...(input.substitute ? { from: input.substitute.from } : {}),
      type: "ATA",
      kakaoOptions: {
        pfId: input.pfId,
        templateId: input.templateId,
        variables,
        disableSms: substitute === undefined,
      },
      ...(substitute
        ? {
            replacements: [
              {
                to: substitute.message.to,
                from: substitute.message.from,
                text: substitute.message.text,
                type: substitute.message.type,
                ...(substitute.message.subject ? { subject: substitute.message.subject } : {}),
              },
            ],
          }
        : {}),
      customFields: jobCustomFields(input),
    },
  };
}

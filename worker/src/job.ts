import { z } from "zod";
import { LMS_MAX_BYTES, measureText } from "./solapi/messages";

/** docs/contract.md §1: one SQS message body. Field names are snake_case because Python producers write them. */
export type MessageMode = "sms" | "alimtalk" | "both";
export const MESSAGE_MODES = ["sms", "alimtalk", "both"] as const;

/** A validated, normalised job: what the pipeline works with. */
export interface Job {
  tenantId: number;
  to: string;
  text: string;
  mode: MessageMode;
  sender?: string;
  reservationId?: number;
  templateId?: string;
  pfId?: string;
  /** AlimTalk variables by bare name (`name`, not `#{name}`). */
  variables: Record<string, string>;
  businessIdempotencyKey?: string;
  eventType?: string;
  targetName?: string;
  createdAt?: string;
  /** Extension: an LMS subject; default the text's first line. */
  subject?: string;
  /**
   * Why no channel can reach `to` (a landline, say): a well-formed job that fails permanently,
   * recorded with this reason, rather than a poison message.
   */
  undeliverable?: string;
}

export class JobValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid job: ${problems.join("; ")}`);
    this.name = "JobValidationError";
  }
}

/** Strips what people type around a number; `+82 10-…` becomes `010…`. */
export function normalizePhone(raw: string): string {
  const compact = raw.replace(/[\s\-().]/g, "");
  return compact.startsWith("+82") ? `0${compact.slice(3).replace(/^0/, "")}` : compact;
}

const MOBILE_NUMBER = /^01[016789]\d{7,8}$/;
const SENDER_NUMBER = /^\d{4,12}$/;
/** The send log keeps a recipient in 32 characters (message_log.recipient). */
const RECIPIENT_MAX_LENGTH = 32;
const NOT_A_MOBILE_NUMBER = "must be a Korean mobile number (01X, then 7 or 8 digits)";
/** The failure reason of a job sent to such a number; logged, so it holds no example number to mask. */
export const UNREACHABLE_RECIPIENT = "to: is not a Korean mobile number (010…): no SMS or AlimTalk can reach it";

const isBlank = (value: unknown) => typeof value === "string" && value.trim() === "";

/**
 * Python writes `None`, and Django an empty string, for a value it does not have: null, blank and
 * absent mean the same here.
 */
const absent = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === null || isBlank(value) ? undefined : value), schema.optional());

const positiveId = z.number({ error: "must be an integer" }).int("must be an integer").positive("must be positive");

/** As Python's `int()` read it: an integer, or a string holding one (`"12"`). */
const tenantId = z.preprocess((value) => (typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value), positiveId);

/** As the Python worker read it: `(message_mode or "").strip().lower()`, blank meaning "from use_alimtalk_first". */
const messageMode = absent(
  z.preprocess(
    (value) => (typeof value === "string" ? value.trim().toLowerCase() : value),
    z.enum(MESSAGE_MODES, { error: `must be one of ${MESSAGE_MODES.join(", ")}` }),
  ),
);

const phone = (pattern: RegExp, what: string) =>
  z
    .string({ error: "must be a string" })
    .transform(normalizePhone)
    .refine((value) => pattern.test(value), { message: `must be ${what}` });

/** `to`, normalised; with `mobileOnly`, a number that is not a Korean mobile number is a problem too. */
const recipient = (mobileOnly: boolean) =>
  z
    .string({ error: "must be a string" })
    .transform(normalizePhone)
    .superRefine((value, ctx) => {
      const problem =
        value === ""
          ? "must not be empty"
          : value.length > RECIPIENT_MAX_LENGTH
            ? `must be at most ${RECIPIENT_MAX_LENGTH} characters`
            : mobileOnly && !MOBILE_NUMBER.test(value)
              ? NOT_A_MOBILE_NUMBER
              : undefined;
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

const text = z
  .string({ error: "must be a string" })
  .refine((value) => value.trim().length > 0, { message: "must not be empty" })
  .superRefine((value, ctx) => {
    const { bytes } = measureText(value);
    if (bytes > LMS_MAX_BYTES) {
      ctx.addIssue({ code: "custom", message: `is ${bytes} bytes; an LMS holds at most ${LMS_MAX_BYTES}` });
    }
  });

const shortText = (max: number) =>
  z.string({ error: "must be a string" }).trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`);

/** A variable key as the Python producer writes it: `name` or `#{name}`; Solapi refuses dots in names. */
const replacement = z.object({
  key: z
    .string({ error: "must be a string" })
    .transform((key) =>
      key
        .trim()
        .replace(/^#\{(.*)\}$/, "$1")
        .trim(),
    )
    .refine((key) => key.length > 0 && key.length <= 30 && !/[.#{}]/.test(key), {
      message: "must be a template variable name such as name or #{name}",
    }),
  value: z.union([z.string(), z.number()], { error: "must be a string" }).transform(String),
});

const jobSchema = z.object({
  tenant_id: tenantId,
  to: recipient(true),
  text,
  message_mode: messageMode,
  use_alimtalk_first: absent(z.boolean({ error: "must be true or false" })),
  sender: absent(phone(SENDER_NUMBER, "a registered sender number (digits)")),
  reservation_id: absent(positiveId),
  template_id: absent(shortText(100)),
  pf_id: absent(shortText(100)),
  alimtalk_replacements: absent(z.array(replacement, { error: "must be a list of {key, value}" }).max(50)),
  business_idempotency_key: absent(shortText(255)),
  event_type: absent(shortText(64)),
  target_name: absent(shortText(100)),
  created_at: absent(z.iso.datetime({ offset: true, local: true, error: "must be an ISO-8601 date-time" })),
  subject: absent(shortText(100)),
});

/** The same job with any recipient: one whose only problem is an unreachable `to` is still a job. */
const jobSchemaAnyRecipient = jobSchema.extend({ to: recipient(false) });

/** `message_mode` wins; else the legacy flag (`true` → both, `false` → sms); else sms. */
export function resolveMode(messageMode: MessageMode | undefined, useAlimtalkFirst: boolean | undefined): MessageMode {
  if (messageMode) return messageMode;
  if (useAlimtalkFirst !== undefined) return useAlimtalkFirst ? "both" : "sms";
  return "sms";
}

function describeIssues(error: z.ZodError, body: object): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    const field = issue.path[0];
    const missing = issue.path.length === 1 && typeof field === "string" && !(field in body);
    return missing ? `${path}: is required` : `${path || "body"}: ${issue.message}`;
  });
}

const onlyTheRecipientIsUnreachable = (issues: readonly z.core.$ZodIssue[]) =>
  issues.every((issue) => issue.path.length === 1 && issue.path[0] === "to" && issue.message === NOT_A_MOBILE_NUMBER);

/**
 * Validates a decoded body; throws JobValidationError naming every bad field. A job whose only
 * problem is a `to` no channel can reach (a landline) is returned with `undeliverable` set: it is
 * recorded as a permanent failure, not dead-lettered.
 */
export function parseJob(body: unknown): Job {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new JobValidationError(["body: must be a JSON object"]);
  }
  let parsed = jobSchema.safeParse(body);
  let undeliverable: string | undefined;
  if (!parsed.success && onlyTheRecipientIsUnreachable(parsed.error.issues)) {
    parsed = jobSchemaAnyRecipient.safeParse(body);
    undeliverable = UNREACHABLE_RECIPIENT;
  }
  if (!parsed.success) throw new JobValidationError(describeIssues(parsed.error, body));
  const b = parsed.data;
  return {
    tenantId: b.tenant_id,
    to: b.to,
    text: b.text,
    mode: resolveMode(b.message_mode, b.use_alimtalk_first),
    sender: b.sender,
    reservationId: b.reservation_id,
    templateId: b.template_id,
    pfId: b.pf_id,
    variables: Object.fromEntries((b.alimtalk_replacements ?? []).map(({ key, value }) => [key, value])),
    businessIdempotencyKey: b.business_idempotency_key,
    eventType: b.event_type,
    targetName: b.target_name,
    createdAt: b.created_at,
    subject: b.subject,
    ...(undeliverable ? { undeliverable } : {}),
  };
}

/** For producers: a job that could never be delivered is refused before it is enqueued or sent. */
export function parseDeliverableJob(body: unknown): Job {
  const job = parseJob(body);
  if (job.undeliverable) throw new JobValidationError([`to: ${NOT_A_MOBILE_NUMBER}`]);
  return job;
}

/** Decodes an SQS body: not JSON, or not a job, is a JobValidationError (a poison message, docs/contract.md §1). */
export function parseJobBody(body: string | undefined): Job {
  let decoded: unknown;
  try {
    decoded = JSON.parse(body ?? "");
  } catch {
    throw new JobValidationError(["body: is not JSON"]);
  }
  return parseJob(decoded);
}

/** The wire form of a job, as producers write it (the inverse of parseJob). */
export interface JobBody {
  tenant_id: number;
  to: string;
  text: string;
  message_mode?: MessageMode;
  use_alimtalk_first?: boolean;
  sender?: string;
  reservation_id?: number;
  template_id?: string;
  pf_id?: string;
  alimtalk_replacements?: { key: string; value: string }[];
  business_idempotency_key?: string;
  event_type?: string;
  target_name?: string;
  created_at?: string;
  subject?: string;
}

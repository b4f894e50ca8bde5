/**
 * The producer API for other TypeScript services: enqueue a job (docs/contract.md §1) or send one SMS now.
 */
import { randomUUID } from "node:crypto";
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { loadConfig, type SolapiConfig } from "./config";
import { type JobBody, type MessageMode, parseDeliverableJob } from "./job";
import { createSolapiGateway, type SolapiGateway } from "./solapi/client";
import { SolapiRequestError } from "./solapi/errors";
import { buildTextMessage, type Channel } from "./solapi/messages";
import { type AlimtalkReplacement, buildReplacements, type TemplateContext } from "./templates";

export interface EnqueueSmsInput {
  tenantId: number;
  to: string;
  text: string;
  reservationId?: number;
  messageMode?: MessageMode;
  /** Legacy: true → `both`, false → `sms`; ignored when messageMode is given. */
  useAlimtalkFirst?: boolean;
  templateId?: string;
  /** AlimTalk variables by name; becomes `alimtalk_replacements` (see templates.ts). */
  templateContext?: TemplateContext;
  pfId?: string;
  sender?: string;
  /** The job's identity for "send at most once"; a new UUID when not given. */
  businessIdempotencyKey?: string;
  eventType?: string;
  targetName?: string;
  subject?: string;
  /** Hold the job back this many seconds (0–900, SQS DelaySeconds). */
  delaySeconds?: number;
}

export interface ProducerOptions {
  sqs?: SQSClient;
  /** Default: MESSAGING_SQS_QUEUE_URL, else the URL of MESSAGING_SQS_QUEUE_NAME (default academy-messaging-jobs). */
  queueUrl?: string;
  queueName?: string;
}

export interface Enqueued {
  messageId: string;
  idempotencyKey: string;
  body: JobBody;
}

/** A body as producers write it: the key always set, so that the caller knows its job's identity. */
export type KeyedJobBody = JobBody & { business_idempotency_key: string };

/** The docs/contract.md §1 body for `input`, validated as the worker will validate it, its key always set. Throws JobValidationError. */
export function toJobBody(input: EnqueueSmsInput, now: Date = new Date()): KeyedJobBody {
  const replacements: AlimtalkReplacement[] | undefined = input.templateContext ? buildReplacements(input.templateContext) : undefined;
  const body: KeyedJobBody = {
    tenant_id: input.tenantId,
    to: input.to,
    text: input.text,
    ...(input.messageMode ? { message_mode: input.messageMode } : {}),
    ...(input.useAlimtalkFirst !== undefined ? { use_alimtalk_first: input.useAlimtalkFirst } : {}),
    ...(input.sender ? { sender: input.sender } : {}),
    ...(input.reservationId !== undefined ? { reservation_id: input.reservationId } : {}),
    ...(input.templateId ? { template_id: input.templateId } : {}),
    ...(input.pfId ? { pf_id: input.pfId } : {}),
    ...(replacements && replacements.length > 0 ? { alimtalk_replacements: replacements } : {}),
    business_idempotency_key: input.businessIdempotencyKey ?? randomUUID(),
    ...(input.eventType ? { event_type: input.eventType } : {}),
    ...(input.targetName ? { target_name: input.targetName } : {}),
    ...(input.subject ? { subject: input.subject } : {}),
    created_at: now.toISOString(),
  };
  parseDeliverableJob(body);
  return body;
}

/**
 * SQS fair queues: on a standard queue, messages that carry a MessageGroupId are told apart by it,
 * so one academy's evening blast does not hold back another's attendance texts. The tenant is the group.
 */
export function messageGroupIdFor(body: Pick<JobBody, "tenant_id">): string {
  return String(body.tenant_id);
}

let defaultSqs: SQSClient | undefined;
const queueUrls = new Map<string, Promise<string>>();

function sqsFromEnvironment(): SQSClient {
  defaultSqs ??= new SQSClient({ region: process.env.AWS_REGION ?? "ap-northeast-2" });
  return defaultSqs;
}

function queueUrlFor(sqs: SQSClient, options: ProducerOptions): Promise<string> {
  const explicit = options.queueUrl ?? (options.queueName ? undefined : process.env.MESSAGING_SQS_QUEUE_URL);
  if (explicit) return Promise.resolve(explicit);
  const name = options.queueName ?? process.env.MESSAGING_SQS_QUEUE_NAME ?? "academy-messaging-jobs";
  let url = queueUrls.get(name);
  if (!url) {
    url = sqs.send(new GetQueueUrlCommand({ QueueName: name })).then(({ QueueUrl }) => {
      if (!QueueUrl) throw new Error(`SQS answered without the URL of ${name}`);
      return QueueUrl;
    });
    url.catch(() => queueUrls.delete(name));
    queueUrls.set(name, url);
  }
  return url;
}

/** Validates and enqueues one job; the worker sends it. */
export async function enqueueSms(input: EnqueueSmsInput, options: ProducerOptions = {}): Promise<Enqueued> {
  const body = toJobBody(input);
  const sqs = options.sqs ?? sqsFromEnvironment();
  const queueUrl = await queueUrlFor(sqs, options);
  const { MessageId } = await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(body),
      MessageGroupId: messageGroupIdFor(body),
      ...(input.delaySeconds ? { DelaySeconds: input.delaySeconds } : {}),
    }),
  );
  return { messageId: MessageId ?? "", idempotencyKey: body.business_idempotency_key, body };
}

export interface SendSmsInput {
  to: string;
  text: string;
  /** Default SOLAPI_SENDER. */
  from?: string;
  subject?: string;
}

export interface SendSmsResult {
  channel: Channel;
  groupId: string;
  messageId: string;
}

/** Solapi refused the message itself (as opposed to the request failing). */
export class SendRefusedError extends Error {
  constructor(
    readonly statusCode: string,
    message: string,
  ) {
    super(message);
    this.name = "SendRefusedError";
  }
}

let defaultGateway: SolapiGateway | undefined;

/** The gateway sendSms keeps for the process when it is given no settings of its own. */
function gatewayFromEnvironment(config: SolapiConfig): SolapiGateway {
  defaultGateway ??= createSolapiGateway(config);
  return defaultGateway;
}

/**
 * Sends one SMS (or LMS, by length) now, bypassing the queue: for interactive paths such as a
 * verification code. Throws SolapiRequestError or SendRefusedError; nothing is retried for you.
 */
export async function sendSms(input: SendSmsInput, options: { solapi?: SolapiConfig } = {}): Promise<SendSmsResult> {
  const config = options.solapi ?? loadConfig().solapi;
  const gateway = options.solapi ? createSolapiGateway(config) : gatewayFromEnvironment(config);
  const from = input.from ?? config.sender;
  if (!from) throw new SolapiRequestError("permanent", "NoSender", "sendSms needs `from` or SOLAPI_SENDER");
  const key = randomUUID();
  const job = parseDeliverableJob({ tenant_id: 1, to: input.to, text: input.text, ...(input.subject ? { subject: input.subject } : {}) });
  try {
    const owner = { jobKey: key, tenantId: job.tenantId };
    const outgoing = { id: key, ...owner, ...buildTextMessage({ ...owner, to: job.to, from, text: job.text, subject: job.subject }) };
    const result = (await gateway.send([outgoing])).get(key);
    if (!result) throw new Error(`the gateway answered nothing for message ${key}`);
    if (result.status === "accepted") return { channel: result.channel, groupId: result.groupId, messageId: result.messageId };
    if (result.status === "refused") throw new SendRefusedError(result.statusCode, result.reason);
    throw result.error;
  } finally {
    if (options.solapi) gateway.close();
  }
}

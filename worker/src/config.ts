/**
 * The worker's environment (docs/contract.md §3), parsed once: every bad variable named at once, and the
 * rules across variables (live mode's credentials, no mock mode with a database, the local stack).
 */
import { z } from "zod";
import { databaseUrl, describeIssues, flag, httpUrl, integer, oneOf, optionalText } from "./config-fields";
import { type RecipientKeySource, recipientHashKey, recipientHashSecret } from "./recipient-key";

/** Exit code for a configuration the worker refuses to start with (docs/contract.md §3). */
export const CONFIG_EXIT_CODE = 2;

export type LogFormat = "json" | "pretty";
export type LogLevel = "error" | "warn" | "info" | "debug";

export interface SolapiConfig {
  /** `mock`: nothing leaves the process; the request that would be sent is printed. */
  mode: "live" | "mock";
  /** Which variable switched mock mode on, for the start-up line. */
  mockReason?: "SOLAPI_MOCK" | "DEBUG";
  apiKey: string;
  apiSecret: string;
  sender?: string;
  kakaoPfId?: string;
  kakaoTemplateId?: string;
  baseUrl: string;
  timeoutMs: number;
  /** Mock mode: `false` prints requests with message text and variables redacted (SOLAPI_MOCK_SHOW_TEXT). */
  mockShowText?: boolean;
}

export interface SqsConfig {
  region: string;
  endpoint?: string;
  queueName: string;
  queueUrl?: string;
  dlqName: string;
  waitSeconds: number;
  visibilityTimeoutSeconds: number;
  /**
   * Mock mode with nothing pointing at a real SQS: the worker serves its own SQS-compatible
   * endpoint on this port, with the queue and DLQ, and polls it (docs/contract.md §3 MESSAGING_LOCAL_SQS_PORT).
   */
  local?: { port: number };
}

export interface ConsumerConfig {
  concurrency: number;
  shutdownTimeoutMs: number;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
}

export interface DeliveryConfig {
  /** Seconds after Solapi accepted a message before its final result is looked up; 0 disables (docs/contract.md §3). */
  checkSeconds: number;
}

export interface Config {
  solapi: SolapiConfig;
  sqs: SqsConfig;
  consumer: ConsumerConfig;
  databaseUrl?: string;
  /** Key of message_log.recipient_hash; present whenever databaseUrl is (recipientHashKey). */
  recipientHashSecret?: string;
  /** Where that key came from: set explicitly, or derived from SOLAPI_API_SECRET. */
  recipientHashKeySource?: RecipientKeySource;
  delivery: DeliveryConfig;
  /** MESSAGING_METRICS: a CloudWatch EMF line a minute on stdout (metrics.ts). */
  metrics: boolean;
  log: { level: LogLevel; format: LogFormat };
  /** Values that must never appear in a log line. */
  secrets: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

const MOCK_API_KEY = "MOCK-API-KEY";
const MOCK_API_SECRET = "MOCK-API-SECRET";
/** Mock mode's sender when SOLAPI_SENDER is not set, so that jobs written with `"sender": null` go out (mock). */
export const MOCK_DEFAULT_SENDER = "0212345678";
/**
 * The local endpoint's long-poll wait: the emulator answers a receive for 10 messages only once 10
 * are there or the wait is over, so on a quiet queue every job waits the whole wait.
 */
const LOCAL_WAIT_SECONDS = 1;

/** Whether the environment gives the AWS SDK credentials of its own (keys, a profile, a task or web-identity role). */
export function hasAwsCredentials(env: NodeJS.ProcessEnv): boolean {
  return [
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
  ].some((name) => Boolean(env[name]?.trim()));
}

const environmentSchema = z.object({
  SOLAPI_API_KEY: optionalText,
  SOLAPI_API_SECRET: optionalText,
  SOLAPI_SENDER: optionalText,
  SOLAPI_KAKAO_PF_ID: optionalText,
  SOLAPI_KAKAO_TEMPLATE_ID: optionalText,
  SOLAPI_MOCK: flag(false),
  DEBUG: flag(false),
  SOLAPI_MOCK_SHOW_TEXT: flag(true),
  SOLAPI_BASE_URL: httpUrl(),
  SOLAPI_TIMEOUT_MS: integer(100, 120_000, 10_000),
  MESSAGING_SQS_QUEUE_NAME: optionalText,
  MESSAGING_SQS_QUEUE_URL: httpUrl(),
  MESSAGING_SQS_DLQ_NAME: optionalText,
  AWS_REGION: optionalText,
  AWS_ENDPOINT_URL_SQS: httpUrl(),
  MESSAGING_SQS_WAIT_SECONDS: integer(0, 20, 20),
  MESSAGING_VISIBILITY_TIMEOUT: integer(2, 43_200, 60),
  MESSAGING_CONCURRENCY: integer(1, 1_000, 10),
  MESSAGING_SHUTDOWN_TIMEOUT: integer(1, 3_600, 100),
  MESSAGING_RETRY_BASE_SECONDS: integer(0, 3_600, 10),
  MESSAGING_RETRY_MAX_SECONDS: integer(0, 43_200, 900),
  MESSAGING_LOCAL_SQS_PORT: integer(0, 65_535, 9324),
  DATABASE_URL: databaseUrl,
  MESSAGING_RECIPIENT_HASH_SECRET: recipientHashSecret,
  MESSAGING_DELIVERY_CHECK_SECONDS: integer(0, 86_400, 300),
  MESSAGING_METRICS: flag(false),
  LOG_LEVEL: oneOf(["error", "warn", "info", "debug"] as const, "info"),
  LOG_FORMAT: oneOf(["json", "pretty"] as const, "json"),
});

const isSet = (value: string | undefined) => Boolean(value?.trim());

/** Which variable turned mock mode on, if any (read leniently: a bad value is reported by the schema). */
function mockSwitch(env: NodeJS.ProcessEnv): "SOLAPI_MOCK" | "DEBUG" | undefined {
  if (flag(false).safeParse(env.SOLAPI_MOCK).data) return "SOLAPI_MOCK";
  return flag(false).safeParse(env.DEBUG).data ? "DEBUG" : undefined;
}

/** Rules across variables, checked beside the schema so every problem is named at once. */
function combinationProblems(env: NodeJS.ProcessEnv): string[] {
  const mock = mockSwitch(env);
  const database = isSet(env.DATABASE_URL);
  const problems: string[] = [];
  if (!mock) {
    for (const name of ["SOLAPI_API_KEY", "SOLAPI_API_SECRET", "SOLAPI_SENDER"] as const) {
      if (!isSet(env[name])) problems.push(`${name} is required unless SOLAPI_MOCK=true`);
    }
  }
  if (mock && database) {
    problems.push(
      `${mock}=true (mock mode) together with DATABASE_URL is refused: mock sends reach no one, yet the send log would charge tenants' credits and record them as SENT; unset ${mock} to send for real, or DATABASE_URL to try the worker without a database`,
    );
  }
  return problems;
}

/** Live mode's credential, or mock mode's stand-in when it is not set (live mode without it is a problem named above). */
function credential(value: string | undefined, mock: boolean, standIn: string, name: string): string {
  if (value !== undefined) return value;
  if (mock) return standIn;
  throw new ConfigError([`${name} is required unless SOLAPI_MOCK=true`]);
}

/**
 * Reads every variable of docs/contract.md §3 at once. Throws a ConfigError naming every bad variable,
 * never echoing a secret value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(env);
  const problems = [...combinationProblems(env), ...describeIssues(parsed.error)];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const mock = e.SOLAPI_MOCK || e.DEBUG;
  const queueName = e.MESSAGING_SQS_QUEUE_NAME ?? "academy-messaging-jobs";
  const apiKey = credential(e.SOLAPI_API_KEY, mock, MOCK_API_KEY, "SOLAPI_API_KEY");
  const apiSecret = credential(e.SOLAPI_API_SECRET, mock, MOCK_API_SECRET, "SOLAPI_API_SECRET");
  const databasePassword = e.DATABASE_URL ? decodeURIComponent(new URL(e.DATABASE_URL).password) : "";
  // Live mode never serves a queue of its own: a worker that sends for real polls a real queue.
  const local = mock && !e.AWS_ENDPOINT_URL_SQS && !e.MESSAGING_SQS_QUEUE_URL && !hasAwsCredentials(env);
  const waitSet = Boolean(env.MESSAGING_SQS_WAIT_SECONDS?.trim());
  const recipientKey = e.DATABASE_URL ? recipientHashKey(e) : {};

  return {
    solapi: {
      mode: mock ? "mock" : "live",
      mockReason: e.SOLAPI_MOCK ? "SOLAPI_MOCK" : e.DEBUG ? "DEBUG" : undefined,
      apiKey,
      apiSecret,
      sender: e.SOLAPI_SENDER ?? (mock ? MOCK_DEFAULT_SENDER : undefined),
      kakaoPfId: e.SOLAPI_KAKAO_PF_ID,
      kakaoTemplateId: e.SOLAPI_KAKAO_TEMPLATE_ID,
      baseUrl: (e.SOLAPI_BASE_URL ?? "https://api.solapi.com").replace(/\/+$/, ""),
      timeoutMs: e.SOLAPI_TIMEOUT_MS,
      mockShowText: e.SOLAPI_MOCK_SHOW_TEXT,
    },
    sqs: {
      region: e.AWS_REGION ?? "ap-northeast-2",
      endpoint: e.AWS_ENDPOINT_URL_SQS,
      queueName,
      queueUrl: e.MESSAGING_SQS_QUEUE_URL,
      dlqName: e.MESSAGING_SQS_DLQ_NAME ?? `${queueName}-dlq`,
      waitSeconds: local && !waitSet ? LOCAL_WAIT_SECONDS : e.MESSAGING_SQS_WAIT_SECONDS,
      visibilityTimeoutSeconds: e.MESSAGING_VISIBILITY_TIMEOUT,
      ...(local ? { local: { port: e.MESSAGING_LOCAL_SQS_PORT } } : {}),
    },
    consumer: {
      concurrency: e.MESSAGING_CONCURRENCY,
      shutdownTimeoutMs: e.MESSAGING_SHUTDOWN_TIMEOUT * 1000,
      retryBaseSeconds: e.MESSAGING_RETRY_BASE_SECONDS,
      retryMaxSeconds: Math.max(e.MESSAGING_RETRY_MAX_SECONDS, e.MESSAGING_RETRY_BASE_SECONDS),
    },
    databaseUrl: e.DATABASE_URL,
    ...recipientKey,
    delivery: { checkSeconds: e.MESSAGING_DELIVERY_CHECK_SECONDS },
    metrics: e.MESSAGING_METRICS,
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT },
    secrets: [apiSecret, mock ? "" : apiKey, databasePassword, e.DATABASE_URL ?? "", recipientKey.recipientHashSecret ?? ""].filter(
      (value) => value.length >= 4,
    ),
  };
}

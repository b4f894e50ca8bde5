import { z } from "zod";

/** Exit code for a configuration the worker refuses to start with (CONTRACT §3). */
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
}

export interface SqsConfig {
  region: string;
  endpoint?: string;
  queueName: string;
  queueUrl?: string;
  dlqName: string;
  waitSeconds: number;
  visibilityTimeoutSeconds: number;
}

export interface ConsumerConfig {
  concurrency: number;
  shutdownTimeoutMs: number;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
}

export interface Config {
  solapi: SolapiConfig;
  sqs: SqsConfig;
  consumer: ConsumerConfig;
  databaseUrl?: string;
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

const optionalText = z
  .string()
  .transform((value) => value.trim())
  .optional()
  .transform((value) => (value ? value : undefined));

function integer(min: number, max: number, fallback: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === "") return fallback;
      const value = Number(raw.trim());
      if (!Number.isInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: "custom", message: `${message} (got "${raw}")` });
        return z.NEVER;
      }
      return value;
    });
}

function flag(fallback: boolean) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === "") return fallback;
      const value = raw.trim().toLowerCase();
      if (["true", "1", "yes", "on"].includes(value)) return true;
      if (["false", "0", "no", "off"].includes(value)) return false;
      ctx.addIssue({ code: "custom", message: `must be true or false (got "${raw}")` });
      return z.NEVER;
    });
}

function httpUrl(options: { secret?: boolean } = {}) {
  return optionalText.superRefine((value, ctx) => {
    if (value === undefined) return;
    if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
      ctx.addIssue({
        code: "custom",
        message: options.secret ? "must be an http(s) URL" : `must be an http(s) URL (got "${value}")`,
      });
    }
  });
}

function oneOf<const T extends readonly string[]>(values: T, fallback: T[number]) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T[number] => {
      if (raw === undefined || raw.trim() === "") return fallback;
      const value = raw.trim().toLowerCase();
      if ((values as readonly string[]).includes(value)) return value as T[number];
      ctx.addIssue({ code: "custom", message: `must be one of ${values.join(", ")} (got "${raw}")` });
      return z.NEVER;
    });
}

const databaseUrl = optionalText.superRefine((value, ctx) => {
  if (value === undefined) return;
  // The value carries a password: never echo it back.
  if (!URL.canParse(value) || new URL(value).protocol !== "mysql:" || new URL(value).pathname.length < 2) {
    ctx.addIssue({ code: "custom", message: "must look like mysql://user:password@host:3306/database" });
  }
});

const environmentSchema = z
  .object({
    SOLAPI_API_KEY: optionalText,
    SOLAPI_API_SECRET: optionalText,
    SOLAPI_SENDER: optionalText,
    SOLAPI_KAKAO_PF_ID: optionalText,
    SOLAPI_KAKAO_TEMPLATE_ID: optionalText,
    SOLAPI_MOCK: flag(false),
    DEBUG: flag(false),
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
    DATABASE_URL: databaseUrl,
    MESSAGING_METRICS: flag(false),
    LOG_LEVEL: oneOf(["error", "warn", "info", "debug"] as const, "info"),
    LOG_FORMAT: oneOf(["json", "pretty"] as const, "json"),
  });

/** Credentials are required only for live sends; checked beside the schema so every problem is named at once. */
function missingCredentials(env: NodeJS.ProcessEnv): string[] {
  const mock = flag(false).safeParse(env.SOLAPI_MOCK).data || flag(false).safeParse(env.DEBUG).data;
  if (mock) return [];
  return (["SOLAPI_API_KEY", "SOLAPI_API_SECRET", "SOLAPI_SENDER"] as const)
    .filter((name) => !env[name]?.trim())
    .map((name) => `${name} is required unless SOLAPI_MOCK=true`);
}

/**
 * Reads every variable of CONTRACT §3 at once. Throws a ConfigError naming every bad variable,
 * never echoing a secret value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(env);
  const problems = [
    ...missingCredentials(env),
    ...(parsed.error?.issues ?? []).map((issue) => `${issue.path.join(".")} ${issue.message}`),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const mock = e.SOLAPI_MOCK || e.DEBUG;
  const queueName = e.MESSAGING_SQS_QUEUE_NAME ?? "academy-messaging-jobs";
  const apiKey = mock ? (e.SOLAPI_API_KEY ?? MOCK_API_KEY) : e.SOLAPI_API_KEY!;
  const apiSecret = mock ? (e.SOLAPI_API_SECRET ?? MOCK_API_SECRET) : e.SOLAPI_API_SECRET!;
  const databasePassword = e.DATABASE_URL ? decodeURIComponent(new URL(e.DATABASE_URL).password) : "";

  return {
    solapi: {
      mode: mock ? "mock" : "live",
      mockReason: e.SOLAPI_MOCK ? "SOLAPI_MOCK" : e.DEBUG ? "DEBUG" : undefined,
      apiKey,
      apiSecret,
      sender: e.SOLAPI_SENDER,
      kakaoPfId: e.SOLAPI_KAKAO_PF_ID,
      kakaoTemplateId: e.SOLAPI_KAKAO_TEMPLATE_ID,
      baseUrl: (e.SOLAPI_BASE_URL ?? "https://api.solapi.com").replace(/\/+$/, ""),
      timeoutMs: e.SOLAPI_TIMEOUT_MS,
    },
    sqs: {
      region: e.AWS_REGION ?? "ap-northeast-2",
      endpoint: e.AWS_ENDPOINT_URL_SQS,
      queueName,
      queueUrl: e.MESSAGING_SQS_QUEUE_URL,
      dlqName: e.MESSAGING_SQS_DLQ_NAME ?? `${queueName}-dlq`,
      waitSeconds: e.MESSAGING_SQS_WAIT_SECONDS,
      visibilityTimeoutSeconds: e.MESSAGING_VISIBILITY_TIMEOUT,
    },
    consumer: {
      concurrency: e.MESSAGING_CONCURRENCY,
      shutdownTimeoutMs: e.MESSAGING_SHUTDOWN_TIMEOUT * 1000,
      retryBaseSeconds: e.MESSAGING_RETRY_BASE_SECONDS,
      retryMaxSeconds: Math.max(e.MESSAGING_RETRY_MAX_SECONDS, e.MESSAGING_RETRY_BASE_SECONDS),
    },
    databaseUrl: e.DATABASE_URL,
    metrics: e.MESSAGING_METRICS,
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT },
    secrets: [apiSecret, mock ? "" : apiKey, databasePassword, e.DATABASE_URL ?? ""].filter(
      (value) => value.length >= 4,
    ),
  };
}

import { PassThrough } from "node:stream";
import type { SolapiConfig } from "../../worker/src/config";
import { createLogger, type Logger } from "../../worker/src/log";
import type { FakeSolapi } from "./fake-solapi";

export const SENDER = "0212345678";

/** MESSAGING_RECIPIENT_HASH_SECRET of every worker and command the tests start (needed with DATABASE_URL). */
export const RECIPIENT_HASH_SECRET = "test-recipient-hash-secret-0123456789";

/** Live Solapi settings that point the real SDK at a fake server. */
export function solapiConfigFor(fake: FakeSolapi, overrides: Partial<SolapiConfig> = {}): SolapiConfig {
  return {
    mode: "live",
    apiKey: fake.apiKey,
    apiSecret: fake.apiSecret,
    sender: SENDER,
    kakaoPfId: "KA01PF-TEST",
    kakaoTemplateId: "KA01TP-TEST",
    baseUrl: fake.url,
    timeoutMs: 2_000,
    ...overrides,
  };
}

/** The worker's environment for a child process or loadConfig, pointed at fakes. */
export function workerEnv(fake: FakeSolapi, sqsEndpoint: string, queueUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    SOLAPI_API_KEY: fake.apiKey,
    SOLAPI_API_SECRET: fake.apiSecret,
    SOLAPI_SENDER: SENDER,
    SOLAPI_KAKAO_PF_ID: "KA01PF-TEST",
    SOLAPI_KAKAO_TEMPLATE_ID: "KA01TP-TEST",
    SOLAPI_BASE_URL: fake.url,
    SOLAPI_TIMEOUT_MS: "2000",
    AWS_REGION: "ap-northeast-2",
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    MESSAGING_SQS_QUEUE_URL: queueUrl,
    MESSAGING_SQS_WAIT_SECONDS: "1",
    MESSAGING_RETRY_BASE_SECONDS: "1",
    MESSAGING_RETRY_MAX_SECONDS: "2",
    LOG_LEVEL: "info",
    MESSAGING_RECIPIENT_HASH_SECRET: RECIPIENT_HASH_SECRET,
    ...extra,
  };
}

/** A database command's environment (migrate, trace, rehash): DATABASE_URL and the recipient key of every worker the tests start. */
export function commandEnv(databaseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, DATABASE_URL: databaseUrl, MESSAGING_RECIPIENT_HASH_SECRET: RECIPIENT_HASH_SECRET, ...extra };
}

/** A logger whose lines the test can read. */
export function capturingLogger(secrets: string[] = []): { log: Logger; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  const raw: string[] = [];
  stream.on("data", (chunk: Buffer) => raw.push(...chunk.toString("utf8").split("\n").filter(Boolean)));
  return {
    log: createLogger({ level: "debug", format: "json", secrets, stream }),
    lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/**
 * `npm run stress -- --count 100 [--run-worker] [--endpoint URL]`: enqueues jobs with a progress
 * bar; with --run-worker it also runs the worker in this process until every job has an outcome and
 * reports the rate. The queue is the one at --endpoint (a worker's local endpoint, LocalStack), else
 * the one AWS_ENDPOINT_URL_SQS or MESSAGING_SQS_QUEUE_URL names, else an embedded one that lives as
 * long as this command. Solapi is mocked unless --live is given (real messages cost money).
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { Presets, SingleBar } from "cli-progress";
import { type Config, ConfigError, loadConfig } from "../config";
import type { JobReport } from "../consumer/consumer";
import { type JobBody, MESSAGE_MODES, type MessageMode } from "../job";
import { createLogger } from "../log";
import { messageGroupIdFor, toJobBody } from "../producer";
import { createSqsClient, resolveQueues } from "../sqs/client";
import { startWorker } from "../worker";
import { type EmbeddedSqs, startEmbeddedSqs } from "./embedded-sqs";

const USAGE =
  "usage: npm run stress -- --count N [--endpoint http://localhost:9324] [--run-worker] [--mode sms|alimtalk|both|mixed] [--concurrency N] [--live]";
const ENQUEUE_PARALLELISM = 8;

interface StressOptions {
  count: number;
  runWorker: boolean;
  mode: MessageMode | "mixed";
  concurrency?: number;
  live: boolean;
  /** An SQS endpoint to enqueue on (the queue is found by name there). */
  endpoint?: string;
}

function readOptions(args: string[]): StressOptions {
  const { values } = parseArgs({
    args,
    options: {
      count: { type: "string", default: "100" },
      "run-worker": { type: "boolean", default: false },
      mode: { type: "string", default: "sms" },
      concurrency: { type: "string" },
      live: { type: "boolean", default: false },
      endpoint: { type: "string" },
    },
  });
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a whole number above 0 (got ${values.count})`);
  const mode = values.mode as StressOptions["mode"];
  if (mode !== "mixed" && !(MESSAGE_MODES as readonly string[]).includes(mode))
    throw new Error(`--mode must be sms, alimtalk, both or mixed`);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
    throw new Error("--concurrency must be a whole number above 0");
  const endpoint = values.endpoint;
  if (endpoint !== undefined && !(URL.canParse(endpoint) && /^https?:$/.test(new URL(endpoint).protocol))) {
    throw new Error(`--endpoint must be an http(s) URL such as http://localhost:9324 (got ${endpoint})`);
  }
  return { count, runWorker: values["run-worker"], mode, concurrency, live: values.live, endpoint };
}

function stressBody(runId: string, index: number, mode: StressOptions["mode"]): JobBody {
  const messageMode = mode === "mixed" ? (MESSAGE_MODES[index % MESSAGE_MODES.length] ?? "sms") : mode;
  return toJobBody({
    tenantId: 1 + (index % 5),
    to: `0109999${String(index % 10_000).padStart(4, "0")}`,
    messageMode,
    text: index % 4 === 3 ? `[stress ${index}] ${"긴 안내 문장입니다. ".repeat(8)}` : `[stress ${index}] 출석 알림`,
    templateContext: { name: `학생${index}` },
    businessIdempotencyKey: `stress-${runId}-${index}`,
    eventType: "stress",
  });
}

async function enqueue(sqs: SQSClient, queueUrl: string, options: StressOptions, runId: string): Promise<void> {
  const bar = new SingleBar(
    { format: "enqueue [{bar}] {value}/{total} jobs  {eta_formatted} left", hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(options.count, 0);
  let next = 0;
  const sender = async () => {
    while (next < options.count) {
      const start = next;
      next = Math.min(options.count, next + 10);
      const entries = Array.from({ length: next - start }, (_, offset) => {
        const body = stressBody(runId, start + offset, options.mode);
        return { Id: String(offset), MessageBody: JSON.stringify(body), MessageGroupId: messageGroupIdFor(body) };
      });
      const { Failed } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      const refused = Failed?.[0];
      if (Failed && refused) throw new Error(`SQS refused ${Failed.length} jobs: ${refused.Message ?? refused.Code}`);
      bar.increment(entries.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: ENQUEUE_PARALLELISM }, sender));
  } finally {
    bar.stop();
  }
}

async function drainWithWorker(config: Config, sqs: SQSClient, options: StressOptions, runId: string): Promise<number> {
  const log = createLogger({ ...config.log, secrets: config.secrets });
  const worker = await startWorker(config, log, { sqs, solapi: { showMock: () => undefined } });
  const bar = new SingleBar({ format: "deliver [{bar}] {value}/{total} jobs  {rate} jobs/s", hideCursor: true }, Presets.shades_classic);
  const ours = (report: JobReport) => report.key.startsWith(`stress-${runId}-`);
  const final = { sent: 0, failed: 0, deadLettered: 0 };
  let firstAt = 0;
  let lastAt = 0;
  bar.start(options.count, 0, { rate: "0" });
  const done = new Promise<void>((resolve) => {
    worker.consumer.on("job", (report) => {
      if (!ours(report)) return;
      firstAt ||= Date.now();
      if (report.action.action === "dead-letter") final.deadLettered += 1;
      else if (report.outcome.kind === "sent") final.sent += 1;
      else if (report.outcome.kind === "failed") final.failed += 1;
      else return;
      lastAt = Date.now();
      const finished = final.sent + final.failed + final.deadLettered;
      bar.update(finished, { rate: ((finished * 1000) / Math.max(1, lastAt - firstAt)).toFixed(0) });
      if (finished >= options.count) resolve();
    });
  });
  const started = Date.now();
  await done;
  bar.stop();
  await worker.stop();
  const seconds = (lastAt - started) / 1000;
  process.stdout.write(
    `${options.count} jobs: ${final.sent} sent, ${final.failed} failed, ${final.deadLettered} dead-lettered, ` +
      `${worker.consumer.stats.retried} retries, in ${seconds.toFixed(2)} s = ${(options.count / seconds).toFixed(1)} jobs/s ` +
      `(concurrency ${config.consumer.concurrency}, Solapi ${config.solapi.mode})\n`,
  );
  return final.sent + final.failed + final.deadLettered === options.count ? 0 : 1;
}

export async function runStress(args: string[]): Promise<number> {
  let options: StressOptions;
  try {
    options = readOptions(args);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn", DATABASE_URL: process.env.DATABASE_URL };
  // --endpoint names where the queue is: a queue URL from the environment would point elsewhere.
  if (options.endpoint) Object.assign(env, { AWS_ENDPOINT_URL_SQS: options.endpoint, MESSAGING_SQS_QUEUE_URL: "" });
  const configured = Boolean(env.AWS_ENDPOINT_URL_SQS || env.MESSAGING_SQS_QUEUE_URL);
  let embedded: EmbeddedSqs | undefined;
  let config: Config;
  try {
    if (!options.live) {
      env.SOLAPI_MOCK = "true";
      env.SOLAPI_KAKAO_PF_ID ??= "KA01PF-STRESS";
      env.SOLAPI_KAKAO_TEMPLATE_ID ??= "KA01TP-STRESS";
    }
    if (options.concurrency) env.MESSAGING_CONCURRENCY = String(options.concurrency);
    if (!configured) {
      embedded = await startEmbeddedSqs({ queueName: "academy-messaging-jobs", dlqName: "academy-messaging-jobs-dlq" });
      Object.assign(env, {
        AWS_ENDPOINT_URL_SQS: embedded.endpoint,
        MESSAGING_SQS_QUEUE_URL: embedded.queues.queueUrl,
        MESSAGING_SQS_WAIT_SECONDS: "1",
      });
      process.stdout.write(
        `SQS: embedded emulator at ${embedded.endpoint} (--endpoint, AWS_ENDPOINT_URL_SQS or MESSAGING_SQS_QUEUE_URL to use another)\n`,
      );
      if (!options.runWorker) {
        process.stdout.write(
          "note: these jobs live in this command's embedded queue and vanish when it exits; to feed a worker, " +
            "pass --endpoint http://localhost:9324 (a mock-mode worker's local endpoint) or --run-worker\n",
        );
      }
    }
    config = loadConfig(env);
  } catch (error) {
    await embedded?.close();
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const sqs = embedded?.sqs ?? createSqsClient(config.sqs);
  try {
    const { queueUrl } = await resolveQueues(sqs, config.sqs);
    const runId = randomUUID().slice(0, 8);
    const enqueueStarted = Date.now();
    await enqueue(sqs, queueUrl, options, runId);
    const enqueueSeconds = (Date.now() - enqueueStarted) / 1000;
    process.stdout.write(`enqueued ${options.count} jobs (run ${runId}) on ${queueUrl} in ${enqueueSeconds.toFixed(2)} s\n`);
    return options.runWorker ? await drainWithWorker(config, sqs, options, runId) : 0;
  } finally {
    if (embedded) await embedded.close();
    else sqs.destroy();
  }
}

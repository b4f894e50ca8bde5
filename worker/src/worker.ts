import { setTimeout as sleep } from "node:timers/promises";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Config } from "./config";
import { Consumer } from "./consumer/consumer";
import type { Logger } from "./log";
import { createSolapiGateway, type GatewayOptions, type SolapiGateway } from "./solapi/client";
import { createSqsClient, type QueueAddresses, QueueNotFoundError, resolveQueues } from "./sqs/client";
import { JobQueue } from "./sqs/queue";

export interface RunningWorker {
  consumer: Consumer;
  queues: QueueAddresses;
  /** Graceful: see Consumer.stop. Closes the adapters afterwards. */
  stop(): Promise<void>;
}

export interface WorkerOverrides {
  sqs?: SQSClient;
  solapi?: GatewayOptions;
  /** Aborts a start-up still waiting for SQS. */
  signal?: AbortSignal;
}

/** A failure that retrying cannot fix: a missing queue, bad credentials, no permission. */
function isStartupFatal(error: unknown): boolean {
  if (error instanceof QueueNotFoundError) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = (error as { name?: string }).name ?? "";
  return name === "CredentialsProviderError" || (status !== undefined && status >= 400 && status < 500 && status !== 429);
}

/** Finds the queues, waiting out an unreachable SQS (a Spot task may start before its network is ready). */
async function findQueues(sqs: SQSClient, config: Config, log: Logger, signal?: AbortSignal): Promise<QueueAddresses> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await resolveQueues(sqs, config.sqs);
    } catch (error) {
      if (isStartupFatal(error) || signal?.aborted) throw error;
      const delay = Math.min(30_000, 500 * 2 ** attempt);
      log.warn("cannot reach SQS yet; retrying", { attempt, retry_in_ms: delay, error: error instanceof Error ? error.message : String(error) });
      await sleep(delay, undefined, { signal });
    }
  }
}

function describeSolapi(config: Config): Record<string, unknown> {
  const { solapi } = config;
  return solapi.mode === "mock"
    ? { solapi_mode: "mock", mock_because: `${solapi.mockReason}=true`, note: "nothing is sent to Solapi; requests are printed" }
    : { solapi_mode: "live", solapi_base_url: solapi.baseUrl, solapi_timeout_ms: solapi.timeoutMs };
}

/** Wires the adapters to a consumer and starts it. */
export async function startWorker(config: Config, log: Logger, overrides: WorkerOverrides = {}): Promise<RunningWorker> {
  const sqs = overrides.sqs ?? createSqsClient(config.sqs);
  const queues = await findQueues(sqs, config, log, overrides.signal);
  const solapi: SolapiGateway = createSolapiGateway(config.solapi, overrides.solapi);
  const consumer = new Consumer({
    queue: new JobQueue(sqs, queues),
    solapi,
    defaults: { sender: config.solapi.sender, pfId: config.solapi.kakaoPfId, templateId: config.solapi.kakaoTemplateId },
    concurrency: config.consumer.concurrency,
    waitSeconds: config.sqs.waitSeconds,
    visibilityTimeoutSeconds: config.sqs.visibilityTimeoutSeconds,
    retry: { baseSeconds: config.consumer.retryBaseSeconds, maxSeconds: config.consumer.retryMaxSeconds },
    log,
  });
  consumer.start();
  log.info("worker polling", {
    ...describeSolapi(config),
    queue_url: queues.queueUrl,
    dlq_url: queues.deadLetterQueueUrl,
    max_receive_count: queues.maxReceiveCount,
    concurrency: config.consumer.concurrency,
    wait_seconds: config.sqs.waitSeconds,
    visibility_timeout: config.sqs.visibilityTimeoutSeconds,
  });
  return {
    consumer,
    queues,
    async stop() {
      await consumer.stop();
      solapi.close();
      if (!overrides.sqs) sqs.destroy();
    },
  };
}

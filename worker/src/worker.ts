import { setTimeout as sleep } from "node:timers/promises";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { BACKOFF, backoffMs } from "./backoff";
import type { Config } from "./config";
import { Consumer } from "./consumer/consumer";
import { checkLeaseMs, DeliveryChecker } from "./delivery/checker";
import { checkPolicy } from "./delivery/decide";
import { errorMessage } from "./error-message";
import type { Logger } from "./log";
import { MinuteMetrics } from "./metrics";
import type { SendDefaults } from "./pipeline/decide";
import type { Ledger } from "./pipeline/ledger-port";
import { sendWindow } from "./pipeline/send-window";
import { findEarlierSend, statelessLedger } from "./pipeline/stateless-ledger";
import { createSolapiGateway, type GatewayOptions, type SolapiGateway } from "./solapi/client";
import { createSqsClient, type QueueAddresses, QueueNotFoundError, resolveQueues } from "./sqs/client";
import { serveLocalQueue } from "./sqs/local-endpoint";
import { JobQueue } from "./sqs/queue";
import { isLocalHost, parseDatabaseUrl } from "./store/database-url";
import { assertSchemaCurrent, SchemaOutOfDateError } from "./store/migrate";
import { MysqlLedger } from "./store/mysql-ledger";
import { createDatabase, type Db, isTlsRefusal } from "./store/pool";
import { recipientHasher } from "./store/recipient";

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

/** A failure that retrying cannot fix: a missing queue or schema, bad credentials, no permission. */
function isStartupFatal(error: unknown): boolean {
  if (error instanceof QueueNotFoundError || error instanceof SchemaOutOfDateError) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = (error as { name?: string }).name ?? "";
  // MySQL/MariaDB: access denied (1045, 1698), no access to the database (1044), no such database (1049).
  const mysqlRefusal = [1044, 1045, 1049, 1698].includes((error as { errno?: number }).errno ?? 0);
  return (
    mysqlRefusal ||
    isTlsRefusal(error) ||
    name === "CredentialsProviderError" ||
    (status !== undefined && status >= 400 && status < 500 && status !== 429)
  );
}

/** Waits out a dependency that is not reachable yet (a Spot task may start before its network is ready). */
async function whenReachable<T>(what: string, attemptOnce: () => Promise<T>, log: Logger, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await attemptOnce();
    } catch (error) {
      if (isStartupFatal(error) || signal?.aborted) throw error;
      const delay = backoffMs(attempt, BACKOFF.startup);
      log.warn(`cannot reach ${what} yet; retrying`, { attempt, retry_in_ms: delay, error: errorMessage(error) });
      await sleep(delay, undefined, { signal });
    }
  }
}

/** The send log when DATABASE_URL is set; otherwise Solapi's own records are the only memory. */
async function openLedger(config: Config, solapi: SolapiGateway, log: Logger, signal?: AbortSignal): Promise<Ledger> {
  const defaults: SendDefaults = { sender: config.solapi.sender, pfId: config.solapi.kakaoPfId, templateId: config.solapi.kakaoTemplateId };
  const { databaseUrl, recipientHashSecret } = config;
  if (!databaseUrl) return statelessLedger(solapi, defaults);
  // config.ts sets the recipient key whenever it sets DATABASE_URL.
  if (recipientHashSecret === undefined) throw new Error("DATABASE_URL is set but the recipient hash key is not");
  const { host, tls } = parseDatabaseUrl(databaseUrl);
  if (tls.mode === "disabled" && !isLocalHost(host)) {
    log.warn("the database connection is not encrypted: add ?ssl-mode=VERIFY_IDENTITY&ssl-ca=rds (or your CA's file) to DATABASE_URL", {
      database_host: host,
    });
  }
  const db = createDatabase(databaseUrl, { connectionLimit: Math.min(64, config.consumer.concurrency + 4) });
  try {
    await whenReachable("the database", () => assertSchemaCurrent(db), log, signal);
  } catch (error) {
    await db.end().catch(() => undefined);
    throw error;
  }
  return new MysqlLedger({
    db,
    findEarlierSend: (item) => findEarlierSend(solapi, item),
    defaults,
    log,
    leaseMs: config.sqs.visibilityTimeoutSeconds * 1000,
    window: sendWindow(config.solapi.timeoutMs),
    hashRecipient: recipientHasher(recipientHashSecret),
  });
}

/**
 * With the send log and MESSAGING_DELIVERY_CHECK_SECONDS > 0: the delivery checker, on a small pool
 * of its own so that it never takes a connection the sends need.
 */
function startDeliveryChecker(config: Config, solapi: SolapiGateway, log: Logger): { checker: DeliveryChecker; db: Db } | undefined {
  if (!config.databaseUrl || config.delivery.checkSeconds === 0) return undefined;
  const db = createDatabase(config.databaseUrl, { connectionLimit: 2 });
  const checker = new DeliveryChecker({
    db,
    solapi,
    log,
    policy: checkPolicy(config.delivery.checkSeconds),
    leaseMs: checkLeaseMs(config.solapi.timeoutMs),
  });
  checker.start();
  return { checker, db };
}

function describeSolapi(config: Config): Record<string, unknown> {
  const { solapi } = config;
  return solapi.mode === "mock"
    ? {
        solapi_mode: "mock",
        mock_because: `${solapi.mockReason}=true`,
        note: `nothing is sent to Solapi; requests are printed${solapi.mockShowText === false ? " without their text (SOLAPI_MOCK_SHOW_TEXT=false)" : ""}`,
        default_sender: solapi.sender,
      }
    : { solapi_mode: "live", solapi_base_url: solapi.baseUrl, solapi_timeout_ms: solapi.timeoutMs };
}

/** The queue's name, from its URL (the last path segment), for the metrics' Queue dimension. */
function queueNameOf(queueUrl: string): string {
  return new URL(queueUrl).pathname.split("/").filter(Boolean).pop() ?? queueUrl;
}

/** Wires the adapters to a consumer and starts it. */
export async function startWorker(config: Config, log: Logger, overrides: WorkerOverrides = {}): Promise<RunningWorker> {
  const local = config.sqs.local && !overrides.sqs ? await serveLocalQueue(config.sqs, config.sqs.local.port, log) : undefined;
  const sqs = overrides.sqs ?? local?.sqs ?? createSqsClient(config.sqs);
  const queues = await whenReachable("SQS", () => resolveQueues(sqs, config.sqs), log, overrides.signal);
  const metrics = config.metrics ? new MinuteMetrics({ queue: queueNameOf(queues.queueUrl) }) : undefined;
  const gateway = createSolapiGateway(config.solapi, overrides.solapi);
  const solapi: SolapiGateway = metrics ? metrics.timed(gateway) : gateway;
  let ledger: Ledger;
  try {
    ledger = await openLedger(config, solapi, log, overrides.signal);
  } catch (error) {
    solapi.close();
    await local?.close();
    throw error;
  }
  const consumer = new Consumer({
    queue: new JobQueue(sqs, queues),
    solapi,
    ledger,
    concurrency: config.consumer.concurrency,
    waitSeconds: config.sqs.waitSeconds,
    visibilityTimeoutSeconds: config.sqs.visibilityTimeoutSeconds,
    retry: { baseSeconds: config.consumer.retryBaseSeconds, maxSeconds: config.consumer.retryMaxSeconds },
    log,
  });
  if (metrics) {
    consumer.on("job", (report) => metrics.recordJob(report));
    metrics.start();
  }
  consumer.start();
  const delivery = startDeliveryChecker(config, solapi, log);
  log.info("worker polling", {
    ...describeSolapi(config),
    send_log: config.databaseUrl ? "mysql" : "none (stateless)",
    queue_url: queues.queueUrl,
    dlq_url: queues.deadLetterQueueUrl,
    max_receive_count: queues.maxReceiveCount,
    concurrency: config.consumer.concurrency,
    delivery_checks: delivery ? `${config.delivery.checkSeconds} s after acceptance` : "off",
    wait_seconds: config.sqs.waitSeconds,
    visibility_timeout: config.sqs.visibilityTimeoutSeconds,
  });
  if (config.recipientHashKeySource === "SOLAPI_API_SECRET") {
    log.warn(
      "MESSAGING_RECIPIENT_HASH_SECRET is not set: the send log's recipient digests are keyed with a key derived from SOLAPI_API_SECRET; set it (docs/deploy.md) so that rotating the Solapi secret does not leave older rows unfindable by trace",
    );
  }
  return {
    consumer,
    queues,
    async stop() {
      // The checker does not hold the drain up: a round in flight is abandoned and its leases lapse.
      delivery?.checker.stop();
      await consumer.stop();
      metrics?.stop();
      await delivery?.db.end();
      await ledger.close();
      solapi.close();
      if (!overrides.sqs) sqs.destroy();
      await local?.close();
    },
  };
}

/**
 * `npm run bench`: the worker as a child process against the SQS emulator, the local MySQL (or none)
 * and the fake Solapi with a realistic latency, side by side with the one-at-a-time baseline (the
 * same worker with one message in flight: one receive, one send, one delete, in turn).
 *
 *   npm run bench -- [--jobs 5000] [--latency-ms 150] [--concurrency 50] [--db|--no-db]
 *                    [--baseline-jobs 200] [--json FILE] [--cpu-prof DIR] [--log-level info]
 *                    [--delivery-check-seconds 1]
 *
 * With the database, each sent message's delivery result is looked up `--delivery-check-seconds`
 * after acceptance (0: not at all) and the run lasts until every result is recorded: the fake
 * Solapi answers 4000, and 3043 (undelivered, refunded) for one message in twenty.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { RowDataPacket } from "mysql2/promise";
import { createQueues } from "../../worker/src/sqs/admin";
import { migrate } from "../../worker/src/store/migrate";
import { workerEnv } from "../support/config";
import { scratchDatabase, type TestDatabase } from "../support/database";
import { type DeliveryReport, type FakeSolapi, startFakeSolapi } from "../support/fake-solapi";
import { runCli } from "../support/process";
import { CountingSqs } from "./counting-sqs";
import { type Figures, table } from "./figures";
import { type Options, readOptions } from "./options";
import { cpuMs, peakRssMb } from "./process-stats";

const TENANT = 1;

/** A scratch database, migrated, with one tenant whose credits never run out. */
async function prepareDatabase(): Promise<TestDatabase> {
  const database = await scratchDatabase("academy_bench", { connectionLimit: 2 });
  await migrate(database.db);
  await database.db.query(
    "INSERT INTO tenants (id, credit_balance, sms_price, lms_price, alimtalk_price) VALUES (?, 99999999.00, 10, 30, 8)",
    [TENANT],
  );
  return database;
}

async function enqueue(sqs: SQSClient, queueUrl: string, count: number, run: string): Promise<void> {
  const body = (index: number) =>
    JSON.stringify({
      tenant_id: TENANT,
      to: `010${String(30_000_000 + index).slice(-8)}`,
      text: `[bench] 출석 알림 ${index}`,
      business_idempotency_key: `${run}-${index}`,
    });
  const batches: Promise<unknown>[] = [];
  for (let start = 0; start < count; start += 10) {
    const entries = Array.from({ length: Math.min(10, count - start) }, (_, offset) => ({
      Id: String(offset),
      MessageBody: body(start + offset),
    }));
    batches.push(sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })));
    if (batches.length >= 16) await Promise.all(batches.splice(0));
  }
  await Promise.all(batches);
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 5));
  }
}

interface Services {
  counting: CountingSqs;
  sqs: SQSClient;
  fake: FakeSolapi;
  database?: TestDatabase;
}

/** One message in twenty is undelivered (3043, handset off): its refund is part of the work. */
function benchReport(message: { jobKey?: string }): DeliveryReport {
  return Number(message.jobKey?.split("-").pop()) % 20 === 0 ? { statusCode: "3043" } : { statusCode: "4000" };
}

async function deliveryResultsMissing(database: TestDatabase, run: string): Promise<number> {
  const [rows] = await database.db.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS missing FROM message_log WHERE idempotency_key LIKE ? AND status = 'SENT' AND delivery_status IS NULL",
    [`${run}-%`],
  );
  return Number(rows[0]!.missing);
}

/** One configuration: enqueue, run the worker until every job is deleted, then time a SIGTERM. */
async function measure(label: string, concurrency: number, jobs: number, services: Services, options: Options): Promise<Figures> {
  const name = `bench-${randomUUID().slice(0, 8)}`;
  const queues = await createQueues(services.sqs, { queueName: name, dlqName: `${name}-dlq`, waitSeconds: 1 });
  await enqueue(services.sqs, queues.queueUrl, jobs, name);
  services.counting.reset();
  services.fake.requests.length = 0;
  const env = workerEnv(services.fake, services.counting.endpoint, queues.queueUrl, {
    MESSAGING_CONCURRENCY: String(concurrency),
    MESSAGING_SQS_WAIT_SECONDS: "1",
    LOG_LEVEL: options.logLevel,
    SOLAPI_TIMEOUT_MS: String(Math.max(10_000, options.latencyMs * 4)),
    MESSAGING_DELIVERY_CHECK_SECONDS: String(options.deliveryCheckSeconds),
    ...(services.database ? { DATABASE_URL: services.database.url } : {}),
  });
  const execArgv = options.cpuProf
    ? [`--cpu-prof`, `--cpu-prof-dir=${resolve(options.cpuProf)}`, `--cpu-prof-name=${label.replace(/\W+/g, "-")}.cpuprofile`]
    : [];
  const spawnedAt = Date.now();
  const worker = runCli(["worker"], env, [...options.nodeOptions, ...execArgv]);
  const pid = worker.child.pid!;
  await until(() => services.counting.firstMessagesAt > 0, 30_000, "the first receive");
  const cpuAtStart = cpuMs(pid);
  await until(() => services.counting.deleted >= jobs, 30 * 60_000, `${jobs} deletes`);
  const checking = services.database && options.deliveryCheckSeconds > 0;
  while (checking && (await deliveryResultsMissing(services.database!, name)) > 0) await new Promise((done) => setTimeout(done, 50));
  const resultsAfterLastDeleteMs = checking ? Date.now() - services.counting.lastDeleteAt : 0;
  const cpuAtEnd = cpuMs(pid);
  const rss = peakRssMb(pid);
  const seconds = (services.counting.lastDeleteAt - services.counting.firstMessagesAt) / 1000;
  const sqsRequests = services.counting.total;
  const solapiRequests = services.fake.sendRequests.length;
  const listRequests = services.fake.listRequests.length;

  // SIGTERM with sends in flight: the worker should finish them and exit.
  const extra = Math.max(4, concurrency * 2);
  await enqueue(services.sqs, queues.queueUrl, extra, `${name}-term`);
  const before = services.fake.sendRequests.length;
  await until(() => services.fake.sendRequests.length > before, 30_000, "a send in flight");
  const termAt = Date.now();
  worker.child.kill("SIGTERM");
  const { at } = await worker.exited;

  return {
    label,
    concurrency,
    jobs,
    messagesPerSecond: jobs / seconds,
    cpuMsPerMessage: (cpuAtEnd - cpuAtStart) / jobs,
    peakRssMb: rss,
    sqsRequestsPerMessage: sqsRequests / jobs,
    solapiRequestsPerMessage: solapiRequests / jobs,
    listRequestsPerMessage: listRequests / jobs,
    resultsAfterLastDeleteMs,
    startupToFirstPollMs: services.counting.firstReceiveAt - spawnedAt,
    sigtermToExitMs: at - termAt,
    slowestSendMs: options.latencyMs,
  };
}

async function main(): Promise<void> {
  const options = readOptions();
  const startedAt = Date.now();
  const counting = await new CountingSqs().start();
  const sqs = new SQSClient({
    region: "ap-northeast-2",
    endpoint: counting.endpoint,
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
  });
  const fake = await startFakeSolapi({ latencyMs: options.latencyMs, report: benchReport });
  const database = options.db ? await prepareDatabase() : undefined;
  if (options.cpuProf) mkdirSync(resolve(options.cpuProf), { recursive: true });
  const services: Services = { counting, sqs, fake, database };
  try {
    const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    const checks =
      options.db && options.deliveryCheckSeconds > 0
        ? `delivery checks ${options.deliveryCheckSeconds} s after acceptance`
        : "no delivery checks";
    process.stdout.write(
      `bench: ${machine}; Solapi latency ${options.latencyMs} ms; database ${options.db ? "MySQL" : "none"}; ${checks}\n`,
    );
    const worker = await measure("worker", options.concurrency, options.jobs, services, options);
    const baseline = await measure("baseline", 1, options.baselineJobs, services, options);
    if (database) {
      const [rows] = await database.db.query<RowDataPacket[]>(
        "SELECT CONCAT(status, COALESCE(CONCAT(' ', delivery_status), '')) AS state, COUNT(*) AS n FROM message_log GROUP BY state ORDER BY state",
      );
      process.stdout.write(`send log: ${rows.map((row) => `${row.state} ${row.n}`).join(", ")}\n`);
    }
    process.stdout.write(`\n${table(worker, baseline)}\n\nfinished in ${((Date.now() - startedAt) / 1000).toFixed(0)} s\n`);
    if (options.json) {
      writeFileSync(options.json, `${JSON.stringify({ machine, options, worker, baseline }, null, 2)}\n`);
    }
  } finally {
    sqs.destroy();
    await fake.close();
    await counting.close();
    await database?.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

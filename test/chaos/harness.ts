/**
 * One chaos run: the real worker as child processes against the SQS emulator and the real MySQL,
 * each behind a fault proxy, and the fake Solapi; a few hundred jobs with unique keys; then the
 * ledgers reconciled. Scenarios (chaos.test.ts) inject the faults.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { RowDataPacket } from "mysql2/promise";
import { createSqsServer } from "local-aws-sqs";
import { createQueues, type CreatedQueues } from "../../worker/src/sqs/admin";
import { workerEnv } from "../support/config";
import { startTestDatabase, type TestDatabase } from "../support/database";
import { type FakeSolapi, startFakeSolapi } from "../support/fake-solapi";
import { SqsFaultProxy, TcpFaultProxy } from "../support/fault-proxies";
import { type ChaosJob, planJobs, seededRandom, seedChaosTenants, type TenantPlan } from "./jobs";
import { type DeadLetter, type LogRow, reconcile, type Tally } from "./reconcile";
import { WorkerPool } from "./workers";

/** `CHAOS=long` (npm run test:chaos, CI) or the short form inside npm test. */
export const LONG = process.env.CHAOS === "long";
export const scale = (short: number, long: number) => (LONG ? long : short);

export interface ChaosOptions {
  scenario: string;
  jobs: number;
  workers?: number;
  /** Bodies that are not valid jobs; each carries its nonce so its DLQ copy can be found. */
  poison?: { nonce: string; body: string }[];
  env?: Record<string, string>;
  solapiLatencyMs?: number;
  seed?: number;
}

export interface ChaosReport extends Tally {
  scenario: string;
  seed: number;
  workers: number;
  kills: number;
  /** SIGTERMs sent, and the longest a worker took to exit after one. */
  sigterms: number;
  slowestExitMs: number;
  crashes: number;
  faults: Record<string, number>;
  /** Jobs whose claim was taken over (attempts > 1): work a kill or a failure interrupted. */
  takenOver: number;
  /** Why the UNKNOWN and dead-lettered jobs ended there, by reason. */
  reasons: Record<string, number>;
  seconds: number;
}

const TERMINAL = new Set(["SENT", "FAILED", "SKIPPED_CANCELLED", "SKIPPED_BALANCE", "UNKNOWN"]);
let tenantBase = 5000;

export class ChaosRun {
  readonly random: () => number;
  readonly seed: number;
  readonly faults: Record<string, number> = {};
  jobs: ChaosJob[] = [];
  tenants: TenantPlan[] = [];
  workers!: WorkerPool;
  private readonly deadLetters: DeadLetter[] = [];
  private readonly poisonSeen = new Set<string>();
  private readonly started = Date.now();
  private draining = true;
  private drainer?: Promise<void>;

  private constructor(
    readonly options: ChaosOptions,
    readonly database: TestDatabase,
    readonly sqs: SQSClient,
    readonly queues: CreatedQueues,
    readonly sqsProxy: SqsFaultProxy,
    readonly mysqlProxy: TcpFaultProxy,
    readonly fake: FakeSolapi,
    private readonly closeEmulator: () => Promise<void>,
  ) {
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.random = seededRandom(this.seed);
  }

  static async start(context: Mocha.Context, options: ChaosOptions): Promise<ChaosRun> {
    const database = await startTestDatabase(context);
    const emulator = await createSqsServer({ port: 0, hostname: "127.0.0.1", region: "ap-northeast-2", emulateQueueCreationLifecycle: false });
    const endpoint = `http://127.0.0.1:${(emulator.address() as AddressInfo).port}`;
    const sqs = new SQSClient({ region: "ap-northeast-2", endpoint, credentials: { accessKeyId: "chaos", secretAccessKey: "chaos" } });
    const name = `chaos-${randomUUID().slice(0, 8)}`;
    // local-aws-sqs counts every ChangeMessageVisibility as a receive (docs/testing.md): each back-off
    // and each heartbeat of a slow send adds to the count, which there runs two to three times ahead
    // of real SQS's. maxReceiveCount 10 keeps its redrive from cutting short the attempts SQS gives.
    const queues = await createQueues(sqs, { queueName: name, dlqName: `${name}-dlq`, waitSeconds: 1, visibilityTimeoutSeconds: 4, maxReceiveCount: 10 });
    const sqsProxy = await new SqsFaultProxy(new URL(endpoint)).start();
    const dbUrl = new URL(database.url);
    const mysqlProxy = await new TcpFaultProxy(dbUrl.hostname, Number(dbUrl.port || 3306)).start();
    const fake = await startFakeSolapi({ latencyMs: options.solapiLatencyMs ?? 40 });
    const run = new ChaosRun(options, database, sqs, queues, sqsProxy, mysqlProxy, fake, async () => {
      emulator.closeAllConnections();
      await new Promise<void>((done) => emulator.close(() => done()));
    });
    tenantBase += 10;
    run.tenants = await seedChaosTenants(database.db, tenantBase, options.jobs);
    run.jobs = await planJobs(database.db, name, options.jobs, run.tenants, run.random);
    const proxiedDb = new URL(database.url);
    proxiedDb.hostname = "127.0.0.1";
    proxiedDb.port = String(mysqlProxy.port);
    const env = workerEnv(fake, sqsProxy.url, queues.queueUrl, {
      DATABASE_URL: proxiedDb.href,
      MESSAGING_CONCURRENCY: "10",
      MESSAGING_VISIBILITY_TIMEOUT: "4",
      MESSAGING_SHUTDOWN_TIMEOUT: "15",
      LOG_LEVEL: "info",
      ...options.env,
    });
    const folder = resolve(__dirname, "../../.chaos");
    mkdirSync(folder, { recursive: true });
    run.workers = new WorkerPool(env, options.workers ?? 2, resolve(folder, `${options.scenario}${LONG ? "" : ".short"}.log`));
    return run;
  }

  count(fault: string, times = 1): void {
    this.faults[fault] = (this.faults[fault] ?? 0) + times;
  }

  /** Enqueues every job (and poison body) directly on the emulator, then starts the workers. */
  async begin(): Promise<void> {
    await this.enqueueExtra([...this.jobs.map((job) => JSON.stringify(job.body)), ...(this.options.poison ?? []).map((poison) => poison.body)]);
    this.drainer = this.drainDeadLetters();
    this.workers.start();
  }

  async enqueueExtra(bodies: string[]): Promise<void> {
    for (let start = 0; start < bodies.length; start += 10) {
      const entries = bodies.slice(start, start + 10).map((body, index) => ({ Id: String(index), MessageBody: body }));
      const { Failed } = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queues.queueUrl, Entries: entries }));
      if (Failed?.length) throw new Error(`the emulator refused ${Failed.length} bodies: ${Failed[0]!.Message}`);
    }
  }

  /** Reads (and removes) what reaches the DLQ, for the reconciliation. */
  private async drainDeadLetters(): Promise<void> {
    while (this.draining) {
      const { Messages } = await this.sqs
        .send(
          new ReceiveMessageCommand({ QueueUrl: this.queues.deadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"], VisibilityTimeout: 30 }),
        )
        .catch(() => ({ Messages: undefined }));
      if (!Messages?.length) continue;
      for (const message of Messages) {
        const body = message.Body ?? "";
        const nonce = /chaos-poison-[0-9a-f-]+/.exec(body)?.[0];
        if (nonce) this.poisonSeen.add(nonce);
        let key: string | undefined;
        try {
          key = (JSON.parse(body) as { business_idempotency_key?: string }).business_idempotency_key;
        } catch {
          key = undefined;
        }
        this.deadLetters.push({ key, error: message.MessageAttributes?.error?.StringValue });
      }
      await this.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: this.queues.deadLetterQueueUrl, Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })) }),
      );
    }
  }

  private async rows(): Promise<Map<string, LogRow>> {
    const [rows] = await this.database.db.query<RowDataPacket[]>(
      "SELECT idempotency_key, tenant_id, status, channel, message_id, amount_charged, send_started_at FROM message_log",
    );
    return new Map(rows.map((row) => [String(row.idempotency_key), { ...(row as LogRow), tenant_id: Number(row.tenant_id) }]));
  }

  /** Every job has a final row or sits in the DLQ, and every poison body is in the DLQ. */
  async settled(): Promise<boolean> {
    const rows = await this.rows();
    const dead = new Set(this.deadLetters.map((letter) => letter.key));
    const jobsDone = this.jobs.every((job) => TERMINAL.has(rows.get(job.key)?.status ?? "") || dead.has(job.key));
    return jobsDone && (this.options.poison ?? []).every((poison) => this.poisonSeen.has(poison.nonce));
  }

  async waitUntilSettled(timeoutMs = scale(90_000, 240_000)): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.settled())) {
      if (Date.now() > deadline) throw new Error(`chaos run ${this.options.scenario} (seed ${this.seed}) did not settle in ${timeoutMs} ms`);
      await new Promise((done) => setTimeout(done, 500));
    }
  }

  /** Stops the workers, reconciles the ledgers and writes the report to .chaos/<scenario>.json. */
  async finish(): Promise<ChaosReport> {
    await this.workers.stop();
    this.draining = false;
    await this.drainer;
    const [balanceRows] = await this.database.db.query<RowDataPacket[]>("SELECT id, credit_balance FROM tenants WHERE id IN (?)", [this.tenants.map((tenant) => tenant.id)]);
    const tally = reconcile({
      jobs: this.jobs,
      poisonNonces: (this.options.poison ?? []).map((poison) => poison.nonce),
      accepted: this.fake.accepted,
      rows: await this.rows(),
      deadLetters: this.deadLetters,
      poisonDeadLettered: this.poisonSeen,
      tenants: this.tenants,
      balances: new Map(balanceRows.map((row) => [Number(row.id), String(row.credit_balance)])),
    });
    for (const [fault, times] of Object.entries(this.sqsProxy.injected)) this.count(`sqs ${fault}`, times);
    const [takenOver] = await this.database.db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM message_log WHERE attempts > 1");
    const [unsettled] = await this.database.db.query<RowDataPacket[]>(
      "SELECT status, failure_reason FROM message_log WHERE status IN ('UNKNOWN', 'CLAIMED')",
    );
    const reasons: Record<string, number> = {};
    for (const row of unsettled) {
      const reason = `${row.status}: ${String(row.failure_reason ?? "moved by SQS's redrive").replace(/\d{3,}/g, "N").slice(0, 160)}`;
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
    const report: ChaosReport = {
      scenario: this.options.scenario,
      seed: this.seed,
      workers: this.workers.size,
      kills: this.workers.kills,
      sigterms: this.workers.terminations.length,
      slowestExitMs: Math.max(0, ...this.workers.terminations.map((termination) => termination.tookMs)),
      crashes: this.workers.crashes,
      faults: this.faults,
      takenOver: Number(takenOver[0]!.n),
      reasons,
      seconds: Math.round((Date.now() - this.started) / 1000),
      ...tally,
    };
    const folder = resolve(__dirname, "../../.chaos");
    mkdirSync(folder, { recursive: true });
    writeFileSync(resolve(folder, `${this.options.scenario}${LONG ? "" : ".short"}.json`), `${JSON.stringify(report, null, 2)}\n`);
    if (this.workers.crashOutput.length > 0) process.stderr.write(`${this.workers.crashOutput.join("\n")}\n`);
    return report;
  }

  async close(): Promise<void> {
    this.draining = false;
    await this.drainer?.catch(() => undefined);
    await this.fake.close();
    await this.sqsProxy.close();
    await this.mysqlProxy.close();
    this.sqs.destroy();
    await this.closeEmulator();
    await this.database.close();
  }
}

/** A random pause between `min` and `max` ms, from the run's seeded generator. */
export function pause(run: ChaosRun, min: number, max: number): Promise<void> {
  return new Promise((done) => setTimeout(done, min + run.random() * (max - min)));
}

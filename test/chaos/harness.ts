/**
 * One chaos run: the real worker as child processes against the SQS emulator and the real MySQL,
 * each behind a fault proxy (one MySQL proxy per worker, so that its traffic tells whose it is),
 * and the fake Solapi; a few hundred jobs, each enqueued once or more; then, once both queues are
 * empty, the ledgers reconciled. Scenarios (chaos.test.ts) inject the faults.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { createSqsServer } from "local-aws-sqs";
import type { RowDataPacket } from "mysql2/promise";
import { type CreatedQueues, createQueues } from "../../worker/src/sqs/admin";
import type { Db } from "../../worker/src/store/pool";
import { workerEnv } from "../support/config";
import { startTestDatabase, type TestDatabase } from "../support/database";
import { type FakeSolapi, startFakeSolapi } from "../support/fake-solapi";
import { SqsFaultProxy, TcpFaultProxy, TcpFaultProxyGroup } from "../support/fault-proxies";
import { type ChaosJob, type ChaosPlan, planJobs, seedChaosTenants, seededRandom, type TenantPlan } from "./jobs";
import { type DeadLetter, jobId, type LogRow, reconcile, type Tally } from "./reconcile";
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
  /** Each job is enqueued this many times under its one key, the copies spread through the queue (a producer retrying). */
  copies?: number;
  /**
   * Delivery checks on (MESSAGING_DELIVERY_CHECK_SECONDS in `env`): the run settles only once every
   * sent message has its final result, and the reconciliation checks each against Solapi's.
   */
  deliveryResults?: boolean;
  /** Tenants and jobs of the scenario's own; default: four tenants and `jobs` mixed jobs (jobs.ts). */
  plan?: (db: Db, name: string, tenantBase: number, random: () => number) => Promise<ChaosPlan>;
}

export interface ChaosReport extends Tally {
  scenario: string;
  seed: number;
  workers: number;
  kills: number;
  /** SIGSTOP/SIGCONT pauses. */
  pauses: number;
  /** SIGTERMs sent, and the longest a worker took to exit after one. */
  sigterms: number;
  slowestExitMs: number;
  crashes: number;
  faults: Record<string, number>;
  /** Jobs whose claim was taken over (attempts > 1): work a kill or a failure interrupted. */
  takenOver: number;
  /** Solapi list requests (look-ups and delivery checks) over the run. */
  listRequests: number;
  /** Why the UNKNOWN and dead-lettered jobs ended there, by reason. */
  reasons: Record<string, number>;
  seconds: number;
}

let tenantBase = 5000;
const QUEUE_COUNTS = [
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
] as const;

export class ChaosRun {
  readonly random: () => number;
  readonly seed: number;
  readonly faults: Record<string, number> = {};
  jobs: ChaosJob[] = [];
  tenants: TenantPlan[] = [];
  workers!: WorkerPool;
  /** SOLAPI_SENDER and SOLAPI_KAKAO_PF_ID as the workers have them: every tenant's to use. */
  defaults!: { sender: string; pfId: string };
  private readonly deadLetters: DeadLetter[] = [];
  private readonly started = Date.now();
  private unsettled?: string;
  private draining = true;
  private drainer?: Promise<void>;

  private constructor(
    readonly options: ChaosOptions,
    readonly database: TestDatabase,
    readonly sqs: SQSClient,
    readonly queues: CreatedQueues,
    readonly sqsProxy: SqsFaultProxy,
    /** The database behind one proxy per worker (index = worker index), faulted together or one by one. */
    readonly mysqlProxy: TcpFaultProxyGroup,
    readonly fake: FakeSolapi,
    private readonly closeEmulator: () => Promise<void>,
  ) {
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.random = seededRandom(this.seed);
  }

  static async start(context: Mocha.Context, options: ChaosOptions): Promise<ChaosRun> {
    const database = await startTestDatabase(context);
    const emulator = await createSqsServer({
      port: 0,
      hostname: "127.0.0.1",
      region: "ap-northeast-2",
      emulateQueueCreationLifecycle: false,
    });
    const endpoint = `http://127.0.0.1:${(emulator.address() as AddressInfo).port}`;
    const sqs = new SQSClient({ region: "ap-northeast-2", endpoint, credentials: { accessKeyId: "chaos", secretAccessKey: "chaos" } });
    const name = `chaos-${randomUUID().slice(0, 8)}`;
    // local-aws-sqs counts every ChangeMessageVisibility as a receive (docs/testing.md): each back-off
    // and each heartbeat of a slow send adds to the count, which there runs two to three times ahead
    // of real SQS's. maxReceiveCount 10 keeps its redrive from cutting short the attempts SQS gives.
    const queues = await createQueues(sqs, {
      queueName: name,
      dlqName: `${name}-dlq`,
      waitSeconds: 1,
      visibilityTimeoutSeconds: 4,
      maxReceiveCount: 10,
    });
    const sqsProxy = await new SqsFaultProxy(new URL(endpoint)).start();
    const dbUrl = new URL(database.url);
    const workerCount = options.workers ?? 2;
    const mysqlProxy = new TcpFaultProxyGroup(
      await Promise.all(Array.from({ length: workerCount }, () => new TcpFaultProxy(dbUrl.hostname, Number(dbUrl.port || 3306)).start())),
    );
    const fake = await startFakeSolapi({ latencyMs: options.solapiLatencyMs ?? 40 });
    const run = new ChaosRun(options, database, sqs, queues, sqsProxy, mysqlProxy, fake, async () => {
      emulator.closeAllConnections();
      await new Promise<void>((done) => emulator.close(() => done()));
    });
    tenantBase += 10;
    if (options.plan) {
      ({ tenants: run.tenants, jobs: run.jobs } = await options.plan(database.db, name, tenantBase, run.random));
    } else {
      run.tenants = await seedChaosTenants(database.db, tenantBase, options.jobs);
      run.jobs = await planJobs(database.db, name, options.jobs, run.tenants, run.random);
    }
    const envFor = (index: number) => {
      const proxiedDb = new URL(database.url);
      proxiedDb.hostname = "127.0.0.1";
      proxiedDb.port = String(mysqlProxy.proxies[index]!.port);
      return workerEnv(fake, sqsProxy.url, queues.queueUrl, {
        DATABASE_URL: proxiedDb.href,
        MESSAGING_CONCURRENCY: "10",
        MESSAGING_VISIBILITY_TIMEOUT: "4",
        MESSAGING_SHUTDOWN_TIMEOUT: "15",
        LOG_LEVEL: "info",
        ...options.env,
      });
    };
    run.defaults = { sender: envFor(0).SOLAPI_SENDER!, pfId: envFor(0).SOLAPI_KAKAO_PF_ID! };
    const folder = resolve(__dirname, "../../.chaos");
    mkdirSync(folder, { recursive: true });
    run.workers = new WorkerPool(envFor, workerCount, resolve(folder, `${options.scenario}${LONG ? "" : ".short"}.log`));
    return run;
  }

  count(fault: string, times = 1): void {
    this.faults[fault] = (this.faults[fault] ?? 0) + times;
  }

  /** Enqueues every job (each `copies` times, shuffled) and poison body directly on the emulator, then starts the workers. */
  async begin(): Promise<void> {
    const bodies = this.jobs.flatMap((job) => Array.from({ length: this.options.copies ?? 1 }, () => JSON.stringify(job.body)));
    for (let index = bodies.length - 1; index > 0 && (this.options.copies ?? 1) > 1; index -= 1) {
      const other = Math.floor(this.random() * (index + 1));
      [bodies[index], bodies[other]] = [bodies[other]!, bodies[index]!];
    }
    await this.enqueueExtra([...bodies, ...(this.options.poison ?? []).map((poison) => poison.body)]);
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
          new ReceiveMessageCommand({
            QueueUrl: this.queues.deadLetterQueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageAttributeNames: ["All"],
            VisibilityTimeout: 30,
          }),
        )
        .catch(() => ({ Messages: undefined }));
      if (!Messages?.length) continue;
      this.deadLetters.push(...Messages.map(deadLetterOf));
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queues.deadLetterQueueUrl,
          Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
  }

  private async rows(): Promise<Map<string, LogRow>> {
    const [rows] = await this.database.db.query<RowDataPacket[]>(
      "SELECT idempotency_key, tenant_id, status, channel, message_id, amount_charged, send_started_at, delivery_status, delivery_code FROM message_log",
    );
    return new Map(
      rows.map((row) => {
        const logRow = { ...(row as LogRow), idempotency_key: String(row.idempotency_key), tenant_id: Number(row.tenant_id) };
        return [jobId(logRow.tenant_id, logRow.idempotency_key), logRow];
      }),
    );
  }

  /** Messages still in a queue: visible, in flight or delayed. */
  private async left(queueUrl: string): Promise<number> {
    const { Attributes } = await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...QUEUE_COUNTS] }));
    return QUEUE_COUNTS.reduce((sum, name) => sum + Number(Attributes?.[name] ?? 0), 0);
  }

  /** Sent messages still waiting for their final result (delivery checks on). */
  async resultsPending(): Promise<number> {
    if (!this.options.deliveryResults) return 0;
    const [rows] = await this.database.db.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM message_log WHERE status = 'SENT' AND delivery_status IS NULL",
    );
    return Number(rows[0]!.n);
  }

  /**
   * Settled: the job queue and the DLQ are empty (every copy deleted or dead-lettered, and the DLQ
   * read), and with delivery checks every sent message has its result, twice in a row. Nothing is
   * left that could change a ledger; a job without a final state then is lost. A run that does not
   * settle in time is reconciled anyway, with the reason.
   */
  async waitUntilSettled(timeoutMs = scale(90_000, 240_000)): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let emptyChecks = 0;
    while (emptyChecks < 2) {
      const left = await this.left(this.queues.queueUrl);
      const settled = left === 0 && (await this.left(this.queues.deadLetterQueueUrl)) === 0 && (await this.resultsPending()) === 0;
      emptyChecks = settled ? emptyChecks + 1 : 0;
      if (Date.now() > deadline) {
        const pending = await this.resultsPending();
        this.unsettled = `did not settle in ${timeoutMs / 1000} s: ${left} messages still in the job queue${pending ? `, ${pending} sent messages without their result` : ""}`;
        return;
      }
      await new Promise((done) => setTimeout(done, 250));
    }
  }

  /** Stops the workers, reconciles the ledgers and writes the report to .chaos/<scenario>.json. */
  async finish(): Promise<ChaosReport> {
    await this.workers.stop();
    this.draining = false;
    await this.drainer;
    const left = await this.left(this.queues.queueUrl);
    if (!this.unsettled && left > 0) this.unsettled = `${left} messages were left in the job queue after the workers stopped`;
    const [balanceRows] = await this.database.db.query<RowDataPacket[]>("SELECT id, credit_balance FROM tenants WHERE id IN (?)", [
      this.tenants.map((tenant) => tenant.id),
    ]);
    const tally = reconcile({
      jobs: this.jobs,
      poisonNonces: (this.options.poison ?? []).map((poison) => poison.nonce),
      accepted: this.fake.accepted,
      rows: await this.rows(),
      deadLetters: this.deadLetters,
      tenants: this.tenants,
      balances: new Map(balanceRows.map((row) => [Number(row.id), String(row.credit_balance)])),
      defaults: this.defaults,
      unsettled: this.unsettled,
      finalCodes: this.options.deliveryResults
        ? new Map(this.fake.accepted.map((message) => [message.messageId, this.fake.report(message).statusCode]))
        : undefined,
    });
    for (const [fault, times] of Object.entries(this.sqsProxy.injected)) this.count(`sqs ${fault}`, times);
    const [takenOver] = await this.database.db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM message_log WHERE attempts > 1");
    const [unsettled] = await this.database.db.query<RowDataPacket[]>(
      "SELECT status, failure_reason FROM message_log WHERE status IN ('UNKNOWN', 'CLAIMED')",
    );
    const reasons: Record<string, number> = {};
    for (const row of unsettled) {
      const reason = `${row.status}: ${String(row.failure_reason ?? "moved by SQS's redrive")
        .replace(/\d{3,}/g, "N")
        .slice(0, 160)}`;
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
    const report: ChaosReport = {
      scenario: this.options.scenario,
      seed: this.seed,
      workers: this.workers.size,
      kills: this.workers.kills,
      pauses: this.workers.pauses,
      sigterms: this.workers.terminations.length,
      slowestExitMs: Math.max(0, ...this.workers.terminations.map((termination) => termination.tookMs)),
      crashes: this.workers.crashes,
      faults: this.faults,
      takenOver: Number(takenOver[0]!.n),
      listRequests: this.fake.requests.filter((request) => request.path.startsWith("/messages/v4/list")).length,
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

/** What the reconciliation needs of a DLQ message: whose it is, and what the worker's copy says. */
function deadLetterOf(message: Message): DeadLetter {
  const body = message.Body ?? "";
  let decoded: { business_idempotency_key?: unknown; tenant_id?: unknown } = {};
  try {
    const value: unknown = JSON.parse(body);
    if (value && typeof value === "object") decoded = value;
  } catch {
    decoded = {};
  }
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  return {
    key: typeof decoded.business_idempotency_key === "string" ? decoded.business_idempotency_key : undefined,
    tenantId: typeof decoded.tenant_id === "number" ? decoded.tenant_id : undefined,
    nonce: /chaos-poison-[0-9a-f-]+/.exec(body)?.[0],
    error: attribute("error"),
    jobKeyAttribute: attribute("job_key"),
    tenantIdAttribute: attribute("tenant_id"),
  };
}

/** A random pause between `min` and `max` ms, from the run's seeded generator. */
export function pause(run: ChaosRun, min: number, max: number): Promise<void> {
  return new Promise((done) => setTimeout(done, min + run.random() * (max - min)));
}

/**
 * One chaos run: the real worker as child processes against the SQS emulator and the real MySQL,
 * each behind a fault proxy (one MySQL proxy per worker, so that its traffic tells whose it is),
 * and the fake Solapi; a few hundred jobs, each enqueued once or more; then, once both queues are
 * empty, the run's records reconciled. Scenarios (*.test.ts here) inject the faults.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Db } from "../../worker/src/store/pool";
import { workerEnv } from "../support/config";
import { startTestDatabase, type TestDatabase } from "../support/database";
import { type FakeSolapi, startFakeSolapi } from "../support/fake-solapi";
import { SqsFaultProxy, TcpFaultProxy, TcpFaultProxyGroup } from "../support/fault-proxies";
import { type ChaosJob, type ChaosPlan, planJobs, seedChaosTenants, seededRandom, type TenantPlan } from "./jobs";
import { ChaosQueues } from "./queues";
import { reconcile } from "./reconcile";
import type { Tally } from "./run-records";
import { balances, resultsPending, sendLogRows, takenOver, unsettledReasons } from "./send-log";
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
/** Where each run's workers' log and report go: .chaos/<scenario>[.short].log and .json. */
const OUTPUT = resolve(__dirname, "../../.chaos");
const outputFile = (scenario: string, extension: string) => resolve(OUTPUT, `${scenario}${LONG ? "" : ".short"}.${extension}`);

export class ChaosRun {
  readonly random: () => number;
  readonly seed: number;
  readonly faults: Record<string, number> = {};
  jobs: ChaosJob[] = [];
  tenants: TenantPlan[] = [];
  workers!: WorkerPool;
  /** SOLAPI_SENDER and SOLAPI_KAKAO_PF_ID as the workers have them: every tenant's to use. */
  defaults!: { sender: string; pfId: string };
  private readonly started = Date.now();
  private unsettled?: string;

  private constructor(
    readonly options: ChaosOptions,
    readonly database: TestDatabase,
    readonly queues: ChaosQueues,
    readonly sqsProxy: SqsFaultProxy,
    /** The database behind one proxy per worker (index = worker index), faulted together or one by one. */
    readonly mysqlProxy: TcpFaultProxyGroup,
    readonly fake: FakeSolapi,
  ) {
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.random = seededRandom(this.seed);
  }

  static async start(context: Mocha.Context, options: ChaosOptions): Promise<ChaosRun> {
    const database = await startTestDatabase(context);
    const name = `chaos-${randomUUID().slice(0, 8)}`;
    const queues = await ChaosQueues.start(name);
    const sqsProxy = await new SqsFaultProxy(new URL(queues.endpoint)).start();
    const dbUrl = new URL(database.url);
    const workerCount = options.workers ?? 2;
    const mysqlProxy = new TcpFaultProxyGroup(
      await Promise.all(Array.from({ length: workerCount }, () => new TcpFaultProxy(dbUrl.hostname, Number(dbUrl.port || 3306)).start())),
    );
    const fake = await startFakeSolapi({ latencyMs: options.solapiLatencyMs ?? 40 });
    const run = new ChaosRun(options, database, queues, sqsProxy, mysqlProxy, fake);
    tenantBase += 10;
    const plan = options.plan
      ? await options.plan(database.db, name, tenantBase, run.random)
      : await ChaosRun.defaultPlan(database.db, name, options.jobs, run.random);
    run.tenants = plan.tenants;
    run.jobs = plan.jobs;
    const envFor = (index: number) => {
      const proxiedDb = new URL(database.url);
      proxiedDb.hostname = "127.0.0.1";
      proxiedDb.port = String(mysqlProxy.proxies[index]!.port);
      return workerEnv(fake, sqsProxy.url, queues.queues.queueUrl, {
        DATABASE_URL: proxiedDb.href,
        MESSAGING_CONCURRENCY: "10",
        MESSAGING_VISIBILITY_TIMEOUT: "4",
        MESSAGING_SHUTDOWN_TIMEOUT: "15",
        LOG_LEVEL: "info",
        ...options.env,
      });
    };
    run.defaults = { sender: envFor(0).SOLAPI_SENDER!, pfId: envFor(0).SOLAPI_KAKAO_PF_ID! };
    mkdirSync(OUTPUT, { recursive: true });
    run.workers = new WorkerPool(envFor, workerCount, outputFile(options.scenario, "log"));
    return run;
  }

  /** Four tenants (jobs.ts) and `count` mixed jobs spread over them. */
  private static async defaultPlan(db: Db, name: string, count: number, random: () => number): Promise<ChaosPlan> {
    const tenants = await seedChaosTenants(db, tenantBase, count);
    return { tenants, jobs: await planJobs(db, name, count, tenants, random) };
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
    this.queues.startDraining();
    this.workers.start();
  }

  async enqueueExtra(bodies: string[]): Promise<void> {
    await this.queues.enqueue(bodies);
  }

  /** Sent messages still waiting for their final result (delivery checks on). */
  async resultsPending(): Promise<number> {
    return this.options.deliveryResults ? resultsPending(this.database.db) : 0;
  }

  /**
   * Settled: the job queue and the DLQ are empty (every copy deleted or dead-lettered, and the DLQ
   * read), and with delivery checks every sent message has its result, twice in a row. Nothing is
   * left that could change a record; a job without a final state then is lost. A run that does not
   * settle in time is reconciled anyway, with the reason.
   */
  async waitUntilSettled(timeoutMs = scale(90_000, 240_000)): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let emptyChecks = 0;
    while (emptyChecks < 2) {
      const left = await this.queues.left();
      const settled = left === 0 && (await this.queues.left(true)) === 0 && (await this.resultsPending()) === 0;
      emptyChecks = settled ? emptyChecks + 1 : 0;
      if (Date.now() > deadline) {
        const pending = await this.resultsPending();
        this.unsettled = `did not settle in ${timeoutMs / 1000} s: ${left} messages still in the job queue${pending ? `, ${pending} sent messages without their result` : ""}`;
        return;
      }
      await new Promise((done) => setTimeout(done, 250));
    }
  }

  /** Stops the workers, reconciles the run's records and writes the report to .chaos/<scenario>.json. */
  async finish(): Promise<ChaosReport> {
    await this.workers.stop();
    await this.queues.stopDraining();
    const left = await this.queues.left();
    if (!this.unsettled && left > 0) this.unsettled = `${left} messages were left in the job queue after the workers stopped`;
    const { db } = this.database;
    const tally = reconcile({
      jobs: this.jobs,
      poisonNonces: (this.options.poison ?? []).map((poison) => poison.nonce),
      accepted: this.fake.accepted,
      rows: await sendLogRows(db),
      deadLetters: this.queues.deadLetters,
      tenants: this.tenants,
      balances: await balances(
        db,
        this.tenants.map((tenant) => tenant.id),
      ),
      defaults: this.defaults,
      unsettled: this.unsettled,
      finalCodes: this.options.deliveryResults
        ? new Map(this.fake.accepted.map((message) => [message.messageId, this.fake.report(message).statusCode]))
        : undefined,
    });
    for (const [fault, times] of Object.entries(this.sqsProxy.injected)) this.count(`sqs ${fault}`, times);
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
      takenOver: await takenOver(db),
      listRequests: this.fake.requests.filter((request) => request.path.startsWith("/messages/v4/list")).length,
      reasons: await unsettledReasons(db),
      seconds: Math.round((Date.now() - this.started) / 1000),
      ...tally,
    };
    mkdirSync(OUTPUT, { recursive: true });
    writeFileSync(outputFile(this.options.scenario, "json"), `${JSON.stringify(report, null, 2)}\n`);
    if (this.workers.crashOutput.length > 0) process.stderr.write(`${this.workers.crashOutput.join("\n")}\n`);
    return report;
  }

  async close(): Promise<void> {
    await this.queues.stopDraining().catch(() => undefined);
    await this.fake.close();
    await this.sqsProxy.close();
    await this.mysqlProxy.close();
    await this.queues.close();
    await this.database.close();
  }
}

/** A random pause between `min` and `max` ms, from the run's seeded generator. */
export function pause(run: ChaosRun, min: number, max: number): Promise<void> {
  return new Promise((done) => setTimeout(done, min + run.random() * (max - min)));
}

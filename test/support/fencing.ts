/**
 * The set-up of the fencing suites: workers' MySQL ledgers driven by hand against MariaDB and the
 * real solapi SDK on the fake Solapi server, with process pauses made real (the event loop blocked).
 */
import type { RowDataPacket } from "mysql2/promise";
import { parseJob } from "../../worker/src/job";
import type { RetryPolicy } from "../../worker/src/pipeline/decide";
import { type Conclusion, jobIdentity, type Ledger, type ReceivedJob } from "../../worker/src/pipeline/ledger-port";
import { deliverGroup } from "../../worker/src/pipeline/process";
import { sendWindow } from "../../worker/src/pipeline/send-window";
import { findEarlierSend } from "../../worker/src/pipeline/stateless-ledger";
import { createSolapiGateway, type SolapiGateway } from "../../worker/src/solapi/client";
import { MysqlLedger } from "../../worker/src/store/mysql-ledger";
import type { Db } from "../../worker/src/store/pool";
import { recipientHasher } from "../../worker/src/store/recipient";
import { capturingLogger, RECIPIENT_HASH_SECRET, solapiConfigFor } from "./config";
import { startTestDatabase, type TestDatabase } from "./database";
import { type FakeSolapi, startFakeSolapi } from "./fake-solapi";

const SOLAPI_TIMEOUT_MS = 800;
export const window = sendWindow(SOLAPI_TIMEOUT_MS);
export const retry: RetryPolicy = { maxReceives: 5, baseSeconds: 1, maxSeconds: 2 };

/** A process pause: nothing of this process runs — no timer, no renewal — while the database's clock moves on. */
export function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Blocked on purpose.
  }
}

export function received(tenantId: number, key: string, extra: Partial<ReceivedJob> = {}): ReceivedJob {
  const job = parseJob({ tenant_id: tenantId, to: "010-2345-6789", text: `안내 ${key}`, business_idempotency_key: key });
  return {
    id: jobIdentity(tenantId, key),
    key,
    job,
    sqsMessageId: `sqs-${key}-${Math.random()}`,
    receiveCount: 1,
    enqueuedAt: new Date(),
    leaseMs: 600,
    ...extra,
  };
}

export async function row(db: Db, tenantId: number, key: string): Promise<Record<string, unknown>> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT * FROM message_log WHERE tenant_id = ? AND idempotency_key = ?", [tenantId, key]);
  return rows[0]!;
}

/** The ledger with some of its calls replaced: a worker that dies or pauses at that step. */
export function altered(ledger: Ledger, changes: Partial<Ledger>): Ledger {
  return {
    admit: (items) => ledger.admit(items),
    charge: (requests) => ledger.charge(requests),
    record: (concluded) => ledger.record(concluded),
    ready: (signal) => ledger.ready(signal),
    close: () => ledger.close(),
    ...changes,
  };
}

export interface FencingSuite {
  database: TestDatabase;
  fake: FakeSolapi;
  solapi: SolapiGateway;
  /**
   * A worker's ledger, on the suite's pool or on `db`. It is left open: closing a ledger ends its
   * pool, which the suite's ledgers share; a test that gives one a pool of its own closes it.
   */
  ledger(db?: Db, leaseMs?: number): MysqlLedger;
  /** A group delivered through the pipeline with `ledger`: each job's conclusion. */
  deliverAll(ledger: Ledger, items: ReceivedJob[]): Promise<Map<string, Conclusion>>;
  /** One job delivered through the pipeline with `ledger`: its conclusion. */
  deliver(ledger: Ledger, item: ReceivedJob): Promise<Conclusion>;
}

/** Registers the hooks in the calling `describe`: a database for the suite, a fake Solapi for each test. */
export function useFencingSuite(): FencingSuite {
  const suite = {
    ledger(db?: Db, leaseMs = 600) {
      return new MysqlLedger({
        db: db ?? suite.database.db,
        findEarlierSend: (item) => findEarlierSend(suite.solapi, item),
        defaults: { sender: "0212345678" },
        log: capturingLogger().log,
        leaseMs,
        window,
        hashRecipient: recipientHasher(RECIPIENT_HASH_SECRET),
      });
    },
    deliverAll: (ledger: Ledger, items: ReceivedJob[]) =>
      deliverGroup(items, { solapi: suite.solapi, ledger, retry, log: capturingLogger().log }, new AbortController().signal),
    deliver: async (ledger: Ledger, item: ReceivedJob) => (await suite.deliverAll(ledger, [item])).get(item.id)!,
  } as FencingSuite;

  before(async function () {
    suite.database = await startTestDatabase(this);
  });
  after(async () => {
    await suite.database?.close();
  });
  beforeEach(async () => {
    suite.fake = await startFakeSolapi();
    suite.solapi = createSolapiGateway(solapiConfigFor(suite.fake, { timeoutMs: SOLAPI_TIMEOUT_MS }));
  });
  afterEach(async () => {
    suite.solapi.close();
    await suite.fake.close();
  });
  return suite;
}

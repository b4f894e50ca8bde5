/**
 * The common set-up of the delivery checker's suites: MariaDB for the suite, a fake Solapi and a
 * real gateway for each test, and messages really sent to the fake and recorded as SENT rows the
 * way the worker records them, so that each test can run checker rounds directly and see what one
 * round does alone.
 */
import type { RowDataPacket } from "mysql2/promise";
import { DeliveryChecker } from "../../worker/src/delivery/checker";
import { type CheckPolicy, checkPolicy } from "../../worker/src/delivery/decide";
import { createSolapiGateway, type SolapiGateway } from "../../worker/src/solapi/client";
import { buildAlimtalkMessage, buildTextMessage } from "../../worker/src/solapi/messages";
import { capturingLogger, SENDER, solapiConfigFor } from "./config";
import { balanceOf, seedTenant, startTestDatabase, type TenantSeed, type TestDatabase } from "./database";
import { type DeliveryReport, type FakeSolapi, startFakeSolapi } from "./fake-solapi";

const PHONE = "01055556666";
let tenantSequence = 5000;
let keySequence = 0;

export interface Sent {
  key: string;
  messageId: string;
}

export interface SendOptions {
  alimtalk?: boolean;
  /** What each message was charged; default 10.00. */
  amount?: string;
  /** How long ago it was sent; default 2 s. */
  sentAgoMs?: number;
  /** Its delivery result in the fake's list; default 4000 at once. */
  report?: DeliveryReport;
}

export interface CheckerOptions {
  solapi?: SolapiGateway;
  policy?: CheckPolicy;
  leaseMs?: number;
  batchSize?: number;
}

export interface DeliverySuite {
  database: TestDatabase;
  fake: FakeSolapi;
  gateway: SolapiGateway;
  /** The checks' policy of these tests: first look after 1 s. */
  policy(overrides?: Partial<CheckPolicy>): CheckPolicy;
  /** A new tenant with these credits and prices. */
  tenant(seed: Omit<TenantSeed, "id">): Promise<number>;
  balance(tenant: number): Promise<string>;
  /** A checker on the suite's database whose log lines the test can read. */
  checker(options?: CheckerOptions): DeliveryChecker & { lines: () => Record<string, unknown>[] };
  /** Sends real messages to the fake and records them SENT. */
  sendAndRecord(tenantId: number, count: number, options?: SendOptions): Promise<Sent[]>;
  /** The rows of these messages, with their delivery columns and when the next look falls (ms after the last). */
  rowsOf(sent: readonly Sent[]): Promise<RowDataPacket[]>;
  /** Message ids each list request asked about. */
  askedIds(): string[];
  /** A gateway whose look-ups wait until `open` is called (a paused or dying worker). */
  pausedGateway(): { solapi: SolapiGateway; open: () => void };
}

/** Registers the hooks in the calling `describe`; the fields are filled in before each test. */
export function useDeliverySuite(): DeliverySuite {
  const reports = new Map<string, DeliveryReport>();
  const suite = {
    policy: (overrides: Partial<CheckPolicy> = {}) => checkPolicy(1, overrides),
    async tenant(seed: Omit<TenantSeed, "id">) {
      tenantSequence += 1;
      await seedTenant(suite.database.db, { id: tenantSequence, ...seed });
      return tenantSequence;
    },
    balance: (tenant: number) => balanceOf(suite.database.db, tenant),
    checker(options: CheckerOptions = {}) {
      const { log, lines } = capturingLogger();
      const instance = new DeliveryChecker({
        db: suite.database.db,
        solapi: options.solapi ?? suite.gateway,
        log,
        policy: options.policy ?? suite.policy(),
        leaseMs: options.leaseMs ?? 10_000,
        batchSize: options.batchSize,
      });
      return Object.assign(instance, { lines });
    },
    async sendAndRecord(tenantId: number, count: number, options: SendOptions = {}): Promise<Sent[]> {
      const keys = Array.from({ length: count }, () => {
        keySequence += 1;
        return `delivery-${keySequence}`;
      });
      for (const key of keys) if (options.report) reports.set(key, options.report);
      const outgoing = keys.map((key) => ({
        id: key,
        jobKey: key,
        tenantId,
        ...(options.alimtalk
          ? buildAlimtalkMessage({
              jobKey: key,
              tenantId,
              to: PHONE,
              pfId: "KA01PF-TEST",
              templateId: "KA01TP-TEST",
              variables: {},
              substitute: { from: SENDER, text: "보강 안내" },
            })
          : buildTextMessage({ jobKey: key, tenantId, to: PHONE, from: SENDER, text: `안내 ${key}` })),
      }));
      const results = await suite.gateway.send(outgoing);
      const sent = keys.map((key) => {
        const result = results.get(key);
        if (result?.status !== "accepted") throw new Error(`fake did not accept ${key}`);
        return { key, groupId: result.groupId, messageId: result.messageId, channel: result.channel };
      });
      await suite.database.db.query(
        `INSERT INTO message_log (idempotency_key, tenant_id, status, mode, channel, recipient, recipient_hash, group_id, message_id, amount_charged, sent_at)
         VALUES ${sent.map(() => "(?, ?, 'SENT', ?, ?, '010****6666', REPEAT('0', 64), ?, ?, ?, DATE_SUB(NOW(3), INTERVAL ? MICROSECOND))").join(", ")}`,
        sent.flatMap((row) => [
          row.key,
          tenantId,
          options.alimtalk ? "both" : "sms",
          row.channel,
          row.groupId,
          row.messageId,
          options.amount ?? "10.00",
          (options.sentAgoMs ?? 2_000) * 1000,
        ]),
      );
      return sent;
    },
    async rowsOf(sent: readonly Sent[]) {
      const [rows] = await suite.database.db.query<RowDataPacket[]>(
        `SELECT id, idempotency_key, delivery_status, delivery_code, delivery_channel, delivery_note, delivery_checks, amount_charged,
                delivery_lease_owner, delivery_check_at, TIMESTAMPDIFF(MICROSECOND, delivery_checked_at, delivery_check_at) / 1000 AS next_in_ms
           FROM message_log WHERE idempotency_key IN (?) ORDER BY id`,
        [sent.map((row) => row.key)],
      );
      return rows;
    },
    askedIds: () => suite.fake.listRequests.flatMap((request) => new URL(request.path, suite.fake.url).searchParams.getAll("messageIds")),
    pausedGateway() {
      let open = () => {};
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const solapi: SolapiGateway = {
        ...suite.gateway,
        listMessages: async (query) => {
          await gate;
          return suite.gateway.listMessages(query);
        },
      };
      return { solapi, open };
    },
  } as DeliverySuite;

  before(async function () {
    suite.database = await startTestDatabase(this);
  });
  after(async () => {
    await suite.database?.close();
  });
  beforeEach(async () => {
    reports.clear();
    suite.fake = await startFakeSolapi({ report: (message) => reports.get(message.jobKey ?? "") ?? { statusCode: "4000" } });
    suite.gateway = createSolapiGateway(solapiConfigFor(suite.fake));
  });
  afterEach(async () => {
    suite.gateway.close();
    await suite.fake.close();
    // Rows of one test must not fall due in the next.
    await suite.database.db.query(
      "UPDATE message_log SET delivery_check_at = NULL, delivery_checks = delivery_checks + 1000 WHERE status = 'SENT'",
    );
  });
  return suite;
}

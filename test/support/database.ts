/**
 * A real MySQL-compatible server for tests: MySQL 8 through testcontainers where a container runtime
 * answers; otherwise TEST_DATABASE_URL (default the local server at 127.0.0.1:3306). Each suite gets
 * a database of its own, migrated, with MySQL 8's strict sql_mode. Under CI=true a server that does
 * not answer fails the run.
 */
import { randomUUID } from "node:crypto";
import type { RowDataPacket } from "mysql2/promise";
import { migrate } from "../../worker/src/store/migrate";
import { createDatabase, type Db } from "../../worker/src/store/pool";
import { hasContainerRuntime } from "./containers";

export const MYSQL8_SQL_MODE =
  "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";
const DEFAULT_URL = "mysql://root@127.0.0.1:3306/test";

export interface TestDatabase {
  kind: "mysql8-container" | "server";
  url: string;
  db: Db;
  close(): Promise<void>;
}

export class NoDatabaseError extends Error {}

/**
 * A database of its own on the server at TEST_DATABASE_URL (default the local one), dropped on close.
 * The benchmark uses it too.
 */
export async function scratchDatabase(prefix: string, options: { connectionLimit: number; sqlMode?: string }): Promise<TestDatabase> {
  const base = new URL(process.env.TEST_DATABASE_URL ?? DEFAULT_URL);
  const admin = createDatabase(base.href, { connectionLimit: 1 });
  try {
    await admin.query("SELECT 1");
  } catch (error) {
    await admin.end().catch(() => undefined);
    throw new NoDatabaseError(`no MySQL-compatible server at ${base.host} (${(error as Error).message}); set TEST_DATABASE_URL`);
  }
  const name = `${prefix}_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const url = new URL(base.href);
  url.pathname = `/${name}`;
  const db = createDatabase(url.href, options);
  return {
    kind: "server",
    url: url.href,
    db,
    async close() {
      await db.end();
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}

async function containerDatabase(): Promise<TestDatabase> {
  const { MySqlContainer } = await import("@testcontainers/mysql");
  const container = await new MySqlContainer("mysql:8.0").start();
  const url = container.getConnectionUri();
  const db = createDatabase(url, { connectionLimit: 20 });
  return {
    kind: "mysql8-container",
    url,
    db,
    async close() {
      await db.end();
      await container.stop();
    },
  };
}

/**
 * Starts (and migrates) a database for a suite. Outside CI, when no server answers, the suite is
 * skipped with the reason; under CI=true that is an error.
 */
export async function startTestDatabase(context: Mocha.Context): Promise<TestDatabase> {
  try {
    const database = (await hasContainerRuntime())
      ? await containerDatabase()
      : await scratchDatabase("academy_test", { connectionLimit: 20, sqlMode: MYSQL8_SQL_MODE });
    await migrate(database.db);
    return database;
  } catch (error) {
    if (error instanceof NoDatabaseError && process.env.CI !== "true") {
      process.stderr.write(`[tests] SKIPPING database tests: ${error.message}\n`);
      context.skip();
    }
    throw error;
  }
}

export interface TenantSeed {
  id: number;
  credit: string;
  sms?: string;
  lms?: string;
  alimtalk?: string;
  sender?: string | null;
  pfId?: string | null;
  enabled?: boolean;
}

export async function seedTenant(db: Db, tenant: TenantSeed): Promise<void> {
  await db.query(
    `INSERT INTO tenants (id, credit_balance, sms_price, lms_price, alimtalk_price, sender, kakao_pf_id, messaging_enabled)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      tenant.id,
      tenant.credit,
      tenant.sms ?? "10.00",
      tenant.lms ?? "30.00",
      tenant.alimtalk ?? "8.00",
      tenant.sender ?? null,
      tenant.pfId ?? null,
      tenant.enabled ?? true,
    ],
  );
}

export async function seedReservation(db: Db, id: number, tenantId: number, status: string): Promise<void> {
  await db.query("INSERT INTO reservations (id, tenant_id, status) VALUES (?, ?, ?)", [id, tenantId, status]);
}

export async function balanceOf(db: Db, tenantId: number): Promise<string> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT credit_balance FROM tenants WHERE id = ?", [tenantId]);
  return String(rows[0]!.credit_balance);
}

export async function logRow(db: Db, key: string): Promise<Record<string, unknown> | undefined> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT * FROM message_log WHERE idempotency_key = ?", [key]);
  return rows[0];
}

export async function logRows(db: Db): Promise<Record<string, unknown>[]> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT * FROM message_log ORDER BY id");
  return rows;
}

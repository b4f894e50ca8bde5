import type { RowDataPacket } from "mysql2/promise";
import { MIGRATIONS, type Migration } from "./migrations";
import type { Db } from "./pool";

const LOCK_NAME = "academy_messaging_migrate";
const LOCK_WAIT_SECONDS = 60;

export class SchemaOutOfDateError extends Error {
  constructor(current: number, missing: readonly number[]) {
    super(`the database schema is at version ${current} and lacks migration ${missing.join(", ")}: run \`npm run db:migrate\``);
    this.name = "SchemaOutOfDateError";
  }
}

export const LATEST_SCHEMA_VERSION = Math.max(...MIGRATIONS.map((migration) => migration.version));

async function ensureMigrationsTable(db: Db): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INT NOT NULL,
    name VARCHAR(200) NOT NULL,
    applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (version)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
}

async function appliedVersions(db: Db): Promise<Set<number>> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT version FROM schema_migrations");
  return new Set(rows.map((row) => Number(row.version)));
}

async function recordMigration(db: Db, migration: Migration): Promise<void> {
  await db.query("INSERT IGNORE INTO schema_migrations (version, name) VALUES (?, ?)", [migration.version, migration.name]);
}

/** The highest migration applied, 0 for an empty database. */
export async function schemaVersion(db: Db): Promise<number> {
  const [tables] = await db.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS found FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'schema_migrations'",
  );
  if (Number(tables[0]?.found ?? 0) === 0) return 0;
  const [rows] = await db.query<RowDataPacket[]>("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations");
  return Number(rows[0]?.version ?? 0);
}

/** Every migration must be applied, not only the latest: one skipped in between is as bad as none. */
export async function assertSchemaCurrent(db: Db): Promise<void> {
  const current = await schemaVersion(db);
  const applied = current === 0 ? new Set<number>() : await appliedVersions(db);
  const missing = MIGRATIONS.map((migration) => migration.version).filter((version) => !applied.has(version));
  if (missing.length > 0) throw new SchemaOutOfDateError(current, missing);
}

/**
 * Applies every migration not yet recorded, in order, under a named lock so that two tasks starting
 * together do not race. Returns the migrations it applied; running it again applies none.
 */
export async function migrate(db: Db): Promise<Migration[]> {
  const connection = await db.getConnection();
  try {
    const [locked] = await connection.query<RowDataPacket[]>("SELECT GET_LOCK(?, ?) AS locked", [LOCK_NAME, LOCK_WAIT_SECONDS]);
    if (Number(locked[0]?.locked) !== 1) throw new Error(`another migration held the lock for ${LOCK_WAIT_SECONDS} s`);
    try {
      await ensureMigrationsTable(db);
      const applied = await appliedVersions(db);
      const pending = MIGRATIONS.filter((migration) => !applied.has(migration.version)).sort((a, b) => a.version - b.version);
      for (const migration of pending) {
        for (const statement of migration.statements ?? []) await db.query(statement);
        await migration.apply?.(db);
        await recordMigration(db, migration);
      }
      return pending;
    } finally {
      await connection.query("SELECT RELEASE_LOCK(?)", [LOCK_NAME]);
    }
  } finally {
    connection.release();
  }
}

import type { RowDataPacket } from "mysql2/promise";
import type { Db } from "../pool";

/**
 * One schema change. Every statement runs on MySQL 8 and MariaDB 10.11 alike (no `->>`, no `AS new`
 * row alias, no `INSERT … RETURNING`, no `… IF EXISTS` on indexes or columns, no hard-coded
 * collation) and is safe to run again: a migration interrupted half-way is simply applied again.
 * What plain DDL cannot make idempotent (adding a column or index, changing a key) goes in `apply`,
 * which checks the schema first with the helpers below.
 */
export interface Migration {
  version: number;
  name: string;
  statements?: string[];
  apply?: (db: Db) => Promise<void>;
}

export async function columnExists(db: Db, table: string, column: string): Promise<boolean> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS found FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?",
    [table, column],
  );
  return Number(rows[0]?.found ?? 0) > 0;
}

export async function indexExists(db: Db, table: string, index: string): Promise<boolean> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS found FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?",
    [table, index],
  );
  return Number(rows[0]?.found ?? 0) > 0;
}

export async function tableExists(db: Db, table: string): Promise<boolean> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS found FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
    [table],
  );
  return Number(rows[0]?.found ?? 0) > 0;
}

/** Adds a column unless it is there already; `definition` is everything after the column's name. */
export async function addColumn(db: Db, table: string, column: string, definition: string): Promise<void> {
  if (!(await columnExists(db, table, column))) await db.query(`ALTER TABLE \`${table}\` ADD COLUMN \`${column}\` ${definition}`);
}

/** Adds an index unless one of that name exists; `definition` is e.g. `UNIQUE KEY name (a, b)` or `KEY name (a)`. */
export async function addIndex(db: Db, table: string, index: string, definition: string): Promise<void> {
  if (!(await indexExists(db, table, index))) await db.query(`ALTER TABLE \`${table}\` ADD ${definition}`);
}

export async function dropIndex(db: Db, table: string, index: string): Promise<void> {
  if (await indexExists(db, table, index)) await db.query(`ALTER TABLE \`${table}\` DROP INDEX \`${index}\``);
}

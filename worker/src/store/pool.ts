import { createPool, type Pool, type PoolConnection } from "mysql2/promise";
import { parseDatabaseUrl, sslOptions } from "./database-url";

export type Db = Pool;
export type Connection = PoolConnection;

export interface DatabaseOptions {
  connectionLimit?: number;
  /** Sent to every new connection: tests use MySQL 8's default to keep queries portable. */
  sqlMode?: string;
}

/** Seconds a statement waits for a row lock before failing: a stuck lock becomes a retry, not a stall. */
const LOCK_WAIT_SECONDS = 5;

/**
 * A mysql2 pool for DATABASE_URL, over TLS when the URL asks for it (database-url.ts). Times are
 * UTC, DECIMAL stays a string (money is never a float in this process), and lock waits are short.
 */
export function createDatabase(url: string, options: DatabaseOptions = {}): Db {
  const { uri, tls } = parseDatabaseUrl(url);
  const pool = createPool({
    uri,
    ssl: sslOptions(tls),
    connectionLimit: options.connectionLimit ?? 10,
    waitForConnections: true,
    queueLimit: 0,
    connectTimeout: 5_000,
    enableKeepAlive: true,
    timezone: "Z",
    dateStrings: false,
    decimalNumbers: false,
    supportBigNumbers: true,
    charset: "utf8mb4",
  });
  pool.on("connection", (connection) => {
    const settings = [`SET SESSION innodb_lock_wait_timeout = ${LOCK_WAIT_SECONDS}`, "SET time_zone = '+00:00'"];
    if (options.sqlMode) settings.push(`SET SESSION sql_mode = '${options.sqlMode.replace(/'/g, "")}'`);
    for (const statement of settings) connection.query(statement);
  });
  return pool;
}

/**
 * The server cannot give the TLS that DATABASE_URL asks for: no TLS at all, or a certificate that
 * fails the check. Retrying does not help; falling back to plain text would defeat the purpose.
 */
export function isTlsRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "HANDSHAKE_NO_SSL_SUPPORT" || code === "HANDSHAKE_SSL_ERROR";
}

const DEADLOCK = 1213;
const DEADLOCK_ATTEMPTS = 3;

/** Runs `work` in one transaction; rolls back on any error, and runs it again after a deadlock. */
export async function inTransaction<T>(db: Db, work: (connection: Connection) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const connection = await db.getConnection();
    try {
      await connection.beginTransaction();
      const result = await work(connection);
      await connection.commit();
      return result;
    } catch (error) {
      await connection.rollback().catch(() => undefined);
      if ((error as { errno?: number }).errno !== DEADLOCK || attempt >= DEADLOCK_ATTEMPTS) throw error;
    } finally {
      connection.release();
    }
  }
}

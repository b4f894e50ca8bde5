import { ConfigError, loadConfig } from "../config";
import { errorMessage } from "../error-message";
import { createDatabase, type Db } from "../store/pool";

/** DATABASE_URL for the database commands, which need no Solapi credentials. Exit code 2 when absent or bad. */
export function databaseUrlOrExit(command: string): string | number {
  try {
    const config = loadConfig({ ...process.env, SOLAPI_MOCK: "true" });
    if (config.databaseUrl) return config.databaseUrl;
    process.stderr.write(`${command} needs DATABASE_URL (mysql://user:password@host:3306/database): the send log lives in MySQL\n`);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
  }
  return 2;
}

/**
 * Runs a database command: DATABASE_URL checked (exit 2), a small pool for `work`, closed after;
 * a failure is printed as "<what> failed: …" with exit code 1.
 */
export async function withCommandDatabase(command: string, what: string, work: (db: Db) => Promise<number>): Promise<number> {
  const url = databaseUrlOrExit(command);
  if (typeof url === "number") return url;
  const db = createDatabase(url, { connectionLimit: 2 });
  try {
    return await work(db);
  } catch (error) {
    process.stderr.write(`${what} failed: ${errorMessage(error)}\n`);
    return 1;
  } finally {
    await db.end();
  }
}

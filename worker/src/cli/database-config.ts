import { ConfigError, type DatabaseCommandConfig, loadDatabaseConfig } from "../config";
import { errorMessage } from "../error-message";
import { createDatabase, type Db } from "../store/pool";

export interface CommandOptions {
  /** The command reads or writes recipient digests: it needs the workers' MESSAGING_RECIPIENT_HASH_SECRET. */
  recipientKey?: boolean;
}

/** DATABASE_URL (and the recipient key when asked for) for a database command; exit code 2 when absent or bad. */
function commandConfigOrExit(command: string, options: CommandOptions): DatabaseCommandConfig | number {
  let config: DatabaseCommandConfig;
  try {
    config = loadDatabaseConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  if (!config.databaseUrl) {
    process.stderr.write(`${command} needs DATABASE_URL (mysql://user:password@host:3306/database): the send log lives in MySQL\n`);
    return 2;
  }
  if (options.recipientKey && !config.recipientHashSecret) {
    process.stderr.write(
      `${command} needs MESSAGING_RECIPIENT_HASH_SECRET (or, where the workers run without it, their SOLAPI_API_SECRET): the send log keeps only keyed digests of numbers\n`,
    );
    return 2;
  }
  return config;
}

/**
 * Runs a database command: its variables checked (exit 2), a small pool for `work`, closed after;
 * a failure is printed as "<what> failed: …" with exit code 1.
 */
export async function withCommandDatabase(
  command: string,
  what: string,
  work: (db: Db, config: DatabaseCommandConfig) => Promise<number>,
  options: CommandOptions = {},
): Promise<number> {
  const config = commandConfigOrExit(command, options);
  if (typeof config === "number") return config;
  const db = createDatabase(config.databaseUrl!, { connectionLimit: 2 });
  try {
    return await work(db, config);
  } catch (error) {
    process.stderr.write(`${what} failed: ${errorMessage(error)}\n`);
    return 1;
  } finally {
    await db.end();
  }
}

/**
 * What the database commands (migrate, trace, db:rehash) read and open: DATABASE_URL and, for the
 * ones that read or write recipient digests, the workers' recipient key; nothing of SQS or Solapi,
 * so that they run where only the database's settings are at hand.
 */
import { z } from "zod";
import { ConfigError } from "../config";
import { databaseUrl, describeIssues, optionalText } from "../config-fields";
import { errorMessage } from "../error-message";
import { type RecipientKeySource, recipientHashKey, recipientHashSecret } from "../recipient-key";
import { createDatabase, type Db } from "../store/pool";
import { type RecipientHasher, recipientHasher } from "../store/recipient";

export interface DatabaseCommandConfig {
  databaseUrl?: string;
  recipientHashSecret?: string;
  recipientHashKeySource?: RecipientKeySource;
}

/** The database commands' variables; throws a ConfigError naming every bad one. */
export function loadDatabaseConfig(env: NodeJS.ProcessEnv = process.env): DatabaseCommandConfig {
  const parsed = z
    .object({ DATABASE_URL: databaseUrl, MESSAGING_RECIPIENT_HASH_SECRET: recipientHashSecret, SOLAPI_API_SECRET: optionalText })
    .safeParse(env);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error));
  return { databaseUrl: parsed.data.DATABASE_URL, ...recipientHashKey(parsed.data) };
}

/** A command's variables once DATABASE_URL is known to be there. */
type ReadyConfig = DatabaseCommandConfig & { databaseUrl: string };

/** DATABASE_URL for a database command; exit code 2 when absent or bad. */
function commandConfigOrExit(command: string): ReadyConfig | number {
  let config: DatabaseCommandConfig;
  try {
    config = loadDatabaseConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const { databaseUrl: url } = config;
  if (!url) {
    process.stderr.write(`${command} needs DATABASE_URL (mysql://user:password@host:3306/database): the send log lives in MySQL\n`);
    return 2;
  }
  return { ...config, databaseUrl: url };
}

/** A small pool for `work`, closed after; a failure is printed as "<what> failed: …" with exit code 1. */
async function withPool(url: string, what: string, work: (db: Db) => Promise<number>): Promise<number> {
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

/** Runs a database command: its variables checked (exit 2), then `work` on a small pool. */
export async function withCommandDatabase(command: string, what: string, work: (db: Db) => Promise<number>): Promise<number> {
  const config = commandConfigOrExit(command);
  if (typeof config === "number") return config;
  return withPool(config.databaseUrl, what, work);
}

/**
 * Runs a database command that reads or writes recipient digests: as withCommandDatabase, and it
 * needs the workers' MESSAGING_RECIPIENT_HASH_SECRET (exit 2 without it); `work` gets its hasher.
 */
export async function withRecipientKeyDatabase(
  command: string,
  what: string,
  work: (db: Db, hashRecipient: RecipientHasher) => Promise<number>,
): Promise<number> {
  const config = commandConfigOrExit(command);
  if (typeof config === "number") return config;
  const secret = config.recipientHashSecret;
  if (!secret) {
    process.stderr.write(
      `${command} needs MESSAGING_RECIPIENT_HASH_SECRET (or, where the workers run without it, their SOLAPI_API_SECRET): the send log keeps only keyed digests of numbers\n`,
    );
    return 2;
  }
  return withPool(config.databaseUrl, what, (db) => work(db, recipientHasher(secret)));
}

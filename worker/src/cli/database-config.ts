import { ConfigError, loadConfig } from "../config";

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

/** `npm run db:migrate`: creates or upgrades the schema (CONTRACT §4); safe to run again. */
import { migrate, schemaVersion } from "../store/migrate";
import { createDatabase } from "../store/pool";
import { databaseUrlOrExit } from "./database-config";

export async function runMigrate(): Promise<number> {
  const url = databaseUrlOrExit("db:migrate");
  if (typeof url === "number") return url;
  const db = createDatabase(url, { connectionLimit: 2 });
  try {
    const applied = await migrate(db);
    const version = await schemaVersion(db);
    if (applied.length === 0) process.stdout.write(`schema already at version ${version}: nothing to do\n`);
    for (const migration of applied) process.stdout.write(`applied ${migration.version}: ${migration.name}\n`);
    if (applied.length > 0) process.stdout.write(`schema now at version ${version}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`migration failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await db.end();
  }
}

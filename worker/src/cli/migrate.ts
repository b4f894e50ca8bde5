/** `npm run db:migrate`: creates or upgrades the schema (docs/contract.md §4); safe to run again. */
import { migrate, schemaVersion } from "../store/migrate";
import { withCommandDatabase } from "./database-config";

export function runMigrate(): Promise<number> {
  return withCommandDatabase("db:migrate", "migration", async (db) => {
    const applied = await migrate(db);
    const version = await schemaVersion(db);
    if (applied.length === 0) process.stdout.write(`schema already at version ${version}: nothing to do\n`);
    for (const migration of applied) process.stdout.write(`applied ${migration.version}: ${migration.name}\n`);
    if (applied.length > 0) process.stdout.write(`schema now at version ${version}\n`);
    return 0;
  });
}

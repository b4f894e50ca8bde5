/**
 * `npm run bench:rehash`: how long `db:rehash` takes on a send log of the old shape (unkeyed
 * SHA-256 recipient digests), on the local MySQL-compatible server.
 *
 *   npm run bench:rehash -- [--rows 20000] [--recipients 4000] [--keyed 2000]
 *
 * `--keyed` rows are written with the keyed digest of numbers never seen unkeyed: the worst case,
 * each needs a full search of its 10^3 or 10^4 candidates before it is known to be keyed already.
 */
import { parseArgs } from "node:util";
import { maskPhone } from "../../worker/src/log";
import { migrate } from "../../worker/src/store/migrate";
import { MIGRATIONS } from "../../worker/src/store/migrations";
import { legacyRecipientHash, recipientHasher } from "../../worker/src/store/recipient";
import { rehashRecipients } from "../../worker/src/store/rehash";
import { RECIPIENT_HASH_SECRET } from "../support/config";
import { scratchDatabase } from "../support/database";

/** 010 numbers: nearly every Korean mobile number today, and the slowest to search (10^4 candidates). */
const randomNumber = () => `010${String(Math.floor(Math.random() * 100_000_000)).padStart(8, "0")}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: "string", default: "20000" },
      recipients: { type: "string", default: "4000" },
      keyed: { type: "string", default: "2000" },
    },
  });
  const rows = Number(values.rows);
  const numbers = Array.from({ length: Number(values.recipients) }, () => randomNumber());
  const keyedNumbers = Array.from({ length: Number(values.keyed) }, () => randomNumber());
  const hash = recipientHasher(RECIPIENT_HASH_SECRET);
  const database = await scratchDatabase("academy_rehash_bench", { connectionLimit: 4 });
  try {
    for (const statement of MIGRATIONS.find((migration) => migration.version === 1)!.statements!) await database.db.query(statement);
    const rowOf = (key: string, number: string, digest: string) => [key, 1, "SENT", "sms", maskPhone(number), digest];
    const all = [
      ...Array.from({ length: rows }, (_, index) => {
        const number = numbers[index % numbers.length]!;
        return rowOf(`old-${index}`, number, legacyRecipientHash(number));
      }),
      ...keyedNumbers.map((number, index) => rowOf(`new-${index}`, number, hash(number))),
    ];
    for (let start = 0; start < all.length; start += 5_000) {
      await database.db.query("INSERT INTO message_log (idempotency_key, tenant_id, status, mode, recipient, recipient_hash) VALUES ?", [
        all.slice(start, start + 5_000),
      ]);
    }
    await migrate(database.db);
    const started = process.hrtime.bigint();
    const result = await rehashRecipients(database.db, hash);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    process.stdout.write(
      `${result.examined} rows (${rows} unkeyed of ${numbers.length} numbers, ${keyedNumbers.length} keyed of as many numbers): ` +
        `${(ms / 1000).toFixed(1)} s, ${(ms / result.examined).toFixed(3)} ms a row, ${(ms / result.searches).toFixed(2)} ms a recipient searched for; ` +
        `${result.rehashed} rewritten, ${result.searches} searches\n`,
    );
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

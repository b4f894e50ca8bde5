/**
 * `npm run db:rehash`: replaces the unkeyed recipient digests of older send-log rows with keyed
 * ones (store/rehash.ts). Run it once the workers of a release with migration 3 have replaced the
 * previous ones; safe to interrupt and to run again.
 */
import { Presets, SingleBar } from "cli-progress";
import { countRowsFrom, readRehashProgress, rehashRecipients } from "../store/rehash";
import { withRecipientKeyDatabase } from "./database-config";

export function runRehash(): Promise<number> {
  return withRecipientKeyDatabase("db:rehash", "rehash", async (db, hasher) => {
    const progress = await readRehashProgress(db);
    const remaining = await countRowsFrom(db, progress.nextId);
    if (remaining === 0) {
      process.stdout.write(
        `nothing to rehash: every row up to id ${progress.nextId - 1} was examined (${progress.rowsRehashed} rehashed in all)\n`,
      );
      return 0;
    }
    const bar = new SingleBar(
      {
        format: "rehash [{bar}] {value}/{total} rows  {rehashed} rehashed  {eta_formatted} left",
        hideCursor: true,
        stream: process.stderr,
      },
      Presets.shades_classic,
    );
    bar.start(remaining, 0, { rehashed: 0 });
    const started = Date.now();
    let rehashed = 0;
    try {
      const result = await rehashRecipients(db, hasher, {
        onBatch: (batch) => {
          rehashed += batch.rehashed;
          bar.increment(batch.examined, { rehashed });
        },
      });
      bar.stop();
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(
        `examined ${result.examined} rows in ${seconds.toFixed(1)} s: ${result.rehashed} unkeyed digests rewritten as keyed ones, ` +
          `${result.searches} recipients searched for (${((seconds * 1000) / Math.max(1, result.examined)).toFixed(2)} ms a row)\n`,
      );
      return 0;
    } finally {
      bar.stop();
    }
  });
}

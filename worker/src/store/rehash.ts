/**
 * `npm run db:rehash`: rewrites the unkeyed recipient digests of rows written before migration 3
 * (or by the previous release during a rolling deploy) as keyed ones. Batches of rows in id order;
 * each batch and the progress past it commit together, so an interrupted run resumes where it
 * stopped. A row's `updated_at` is left as it was: the row's story did not change.
 */
import type { RowDataPacket } from "mysql2/promise";
import { type Connection, type Db, inTransaction } from "./pool";
import { type RecipientHasher, recoverLegacyNumber } from "./recipient";

export interface RehashProgress {
  /** The first message_log id not examined yet. */
  nextId: number;
  rowsRehashed: number;
}

export interface LogRecipient {
  id: number;
  recipient: string;
  recipientHash: string;
}

export async function readRehashProgress(db: Db): Promise<RehashProgress> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT next_id, rows_rehashed FROM recipient_hash_rehash WHERE id = 1");
  const row = rows[0];
  return { nextId: Number(row?.next_id ?? 0), rowsRehashed: Number(row?.rows_rehashed ?? 0) };
}

export async function countRowsFrom(db: Db, fromId: number): Promise<number> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS remaining FROM message_log WHERE id >= ?", [fromId]);
  return Number(rows[0]?.remaining ?? 0);
}

export async function recipientsFrom(db: Db, fromId: number, limit: number): Promise<LogRecipient[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT id, recipient, recipient_hash FROM message_log WHERE id >= ? ORDER BY id LIMIT ?",
    [fromId, limit],
  );
  return rows.map((row) => ({ id: Number(row.id), recipient: String(row.recipient), recipientHash: String(row.recipient_hash) }));
}

async function rewriteRecipientHashes(connection: Connection, rewrites: readonly { id: number; hash: string }[]): Promise<void> {
  if (rewrites.length === 0) return;
  await connection.query(
    `UPDATE message_log SET recipient_hash = CASE id ${rewrites.map(() => "WHEN ? THEN ?").join(" ")} END, updated_at = updated_at
      WHERE id IN (?)`,
    [...rewrites.flatMap((rewrite) => [rewrite.id, rewrite.hash]), rewrites.map((rewrite) => rewrite.id)],
  );
}

async function saveRehashProgress(connection: Connection, nextId: number, rehashed: number): Promise<void> {
  await connection.query("UPDATE recipient_hash_rehash SET next_id = ?, rows_rehashed = rows_rehashed + ? WHERE id = 1", [
    nextId,
    rehashed,
  ]);
}

/**
 * Remembers, per digest seen, its keyed replacement (null: already keyed, or nothing to recover), so
 * that each recipient's number is searched for once however many rows it has.
 */
export class RehashPlanner {
  private readonly replacements = new Map<string, string | null>();
  /** Digests searched for (each up to 10^4 candidate numbers). */
  searches = 0;

  constructor(private readonly hashRecipient: RecipientHasher) {}

  /** The rows of a batch whose digest is unkeyed, with their keyed digest. */
  plan(rows: readonly LogRecipient[]): { id: number; hash: string }[] {
    const rewrites: { id: number; hash: string }[] = [];
    for (const row of rows) {
      let replacement = this.replacements.get(row.recipientHash);
      if (replacement === undefined) {
        this.searches += 1;
        const number = recoverLegacyNumber(row.recipient, row.recipientHash);
        replacement = number === undefined ? null : this.hashRecipient(number);
        this.replacements.set(row.recipientHash, replacement);
        // That number's keyed rows need no search of their own.
        if (replacement !== null) this.replacements.set(replacement, null);
      }
      if (replacement !== null) rewrites.push({ id: row.id, hash: replacement });
    }
    return rewrites;
  }
}

const LOCK_WAIT_TIMEOUT = 1205;
const LOCK_WAIT_ATTEMPTS = 5;

export interface RehashBatch {
  examined: number;
  rehashed: number;
}

/**
 * Rehashes the rows from the saved progress to the end of the table, batch by batch; `onBatch`
 * hears of each one. A batch whose rows a worker holds locked is tried again.
 */
export async function rehashRecipients(
  db: Db,
  hashRecipient: RecipientHasher,
  options: { batchSize?: number; onBatch?: (batch: RehashBatch) => void } = {},
): Promise<{ examined: number; rehashed: number; searches: number }> {
  const planner = new RehashPlanner(hashRecipient);
  const batchSize = options.batchSize ?? 500;
  let { nextId } = await readRehashProgress(db);
  let examined = 0;
  let rehashed = 0;
  for (;;) {
    const rows = await recipientsFrom(db, nextId, batchSize);
    const last = rows.at(-1);
    if (!last) break;
    const rewrites = planner.plan(rows);
    const after = last.id + 1;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await inTransaction(db, async (connection) => {
          await rewriteRecipientHashes(connection, rewrites);
          await saveRehashProgress(connection, after, rewrites.length);
        });
        break;
      } catch (error) {
        if ((error as { errno?: number }).errno !== LOCK_WAIT_TIMEOUT || attempt >= LOCK_WAIT_ATTEMPTS) throw error;
      }
    }
    nextId = after;
    examined += rows.length;
    rehashed += rewrites.length;
    options.onBatch?.({ examined: rows.length, rehashed: rewrites.length });
  }
  return { examined, rehashed, searches: planner.searches };
}

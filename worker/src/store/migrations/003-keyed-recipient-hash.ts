import type { Migration } from "./migration";

/**
 * From version 3 message_log.recipient_hash is keyed: HMAC-SHA256 with MESSAGING_RECIPIENT_HASH_SECRET
 * (store/recipient.ts). Rows written before hold an unkeyed SHA-256 that their masked recipient
 * gives away. They are not rewritten here: finding each number again costs up to 6.5 ms, which on a
 * large send log would hold every new worker back for many minutes, and workers of the previous
 * release, still draining during a rolling deploy, go on writing unkeyed rows after this migration.
 * `npm run db:rehash` rewrites them after the deploy, resumably, from the progress kept here; `trace`
 * finds both kinds meanwhile.
 */
export const keyedRecipientHash: Migration = {
  version: 3,
  name: "keyed recipient hash: the progress of db:rehash",
  statements: [
    `CREATE TABLE IF NOT EXISTS recipient_hash_rehash (
      id TINYINT NOT NULL,
      next_id BIGINT NOT NULL DEFAULT 0,
      rows_rehashed BIGINT NOT NULL DEFAULT 0,
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    "INSERT IGNORE INTO recipient_hash_rehash (id, next_id, rows_rehashed) VALUES (1, 0, 0)",
  ],
};

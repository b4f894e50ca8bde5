import { addColumn, addIndex, dropIndex, type Migration } from "./migration";

/**
 * Job keys belong to their tenant and compare exactly: `reminder-7` of two academies are two jobs, and
 * `K` and `k` are two keys (docs/contract.md §4). Upgrades in place: every existing row keeps its key, its
 * tenant and its history. Rows that were unique under the old global, case-insensitive key are unique
 * under the new one too, so nothing merges; the old index goes only after the new one stands.
 *
 * With it, `send_settles_at`: the moment, set by the worker that starts a send, after which Solapi
 * has registered it if it ever will (pipeline/send-window.ts). A take-over asks Solapi only then.
 */
export const tenantKeys: Migration = {
  version: 2,
  name: "message_log unique on (tenant_id, idempotency_key), binary; send_settles_at",
  async apply(db) {
    await db.query("ALTER TABLE message_log MODIFY idempotency_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL");
    await addIndex(db, "message_log", "message_log_tenant_key", "UNIQUE KEY message_log_tenant_key (tenant_id, idempotency_key)");
    await dropIndex(db, "message_log", "message_log_idempotency_key");
    await addColumn(db, "message_log", "send_settles_at", "DATETIME(3) NULL AFTER send_started_at");
  },
};

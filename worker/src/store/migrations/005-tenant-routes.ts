import { addColumn, type Migration } from "./migration";

/**
 * A job may name a sender number or Kakao channel only if it is its own tenant's (docs/contract.md §4): the
 * tenant's row, plus these allow-lists for academies with several. And a `both` job that fell back to
 * SMS keeps the AlimTalk refusal that made it fall back.
 */
export const tenantRoutes: Migration = {
  version: 5,
  name: "tenant sender and Kakao channel allow-lists; fallback reason",
  statements: [
    `CREATE TABLE IF NOT EXISTS tenant_senders (
      tenant_id BIGINT NOT NULL,
      sender VARCHAR(20) NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (tenant_id, sender)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE IF NOT EXISTS tenant_kakao_channels (
      tenant_id BIGINT NOT NULL,
      pf_id VARCHAR(100) NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (tenant_id, pf_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ],
  async apply(db) {
    await addColumn(db, "message_log", "fallback_reason", "VARCHAR(1000) NULL AFTER failure_reason");
  },
};

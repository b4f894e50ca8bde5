import type { Migration } from "./migration";

/** The first schema: tenants, reservations and the send log. */
export const initial: Migration = {
  version: 1,
  name: "tenants, reservations and the message log",
  statements: [
    `CREATE TABLE IF NOT EXISTS tenants (
      id BIGINT NOT NULL,
      credit_balance DECIMAL(12,2) NOT NULL DEFAULT 0,
      sms_price DECIMAL(8,2) NOT NULL DEFAULT 0,
      lms_price DECIMAL(8,2) NOT NULL DEFAULT 0,
      alimtalk_price DECIMAL(8,2) NOT NULL DEFAULT 0,
      kakao_pf_id VARCHAR(100) NULL,
      sender VARCHAR(20) NULL,
      messaging_enabled BOOLEAN NOT NULL DEFAULT TRUE,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      CONSTRAINT tenants_credit_balance_not_negative CHECK (credit_balance >= 0)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE IF NOT EXISTS reservations (
      id BIGINT NOT NULL,
      tenant_id BIGINT NOT NULL,
      status VARCHAR(32) NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      KEY reservations_tenant_id (tenant_id, id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE IF NOT EXISTS message_log (
      id BIGINT NOT NULL AUTO_INCREMENT,
      idempotency_key VARCHAR(255) NOT NULL,
      tenant_id BIGINT NOT NULL,
      status VARCHAR(32) NOT NULL,
      mode VARCHAR(16) NOT NULL,
      channel VARCHAR(16) NULL,
      recipient VARCHAR(32) NOT NULL,
      recipient_hash CHAR(64) NOT NULL,
      event_type VARCHAR(64) NULL,
      target_name VARCHAR(100) NULL,
      reservation_id BIGINT NULL,
      failure_reason VARCHAR(1000) NULL,
      group_id VARCHAR(100) NULL,
      message_id VARCHAR(100) NULL,
      amount_charged DECIMAL(12,2) NOT NULL DEFAULT 0,
      sqs_message_id VARCHAR(128) NULL,
      receive_count INT NOT NULL DEFAULT 0,
      attempts INT NOT NULL DEFAULT 1,
      lease_owner VARCHAR(128) NULL,
      lease_expires_at DATETIME(3) NULL,
      send_started_at DATETIME(3) NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY message_log_idempotency_key (idempotency_key),
      KEY message_log_recipient (recipient_hash, created_at),
      KEY message_log_tenant_created (tenant_id, created_at),
      KEY message_log_status_updated (status, updated_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ],
};

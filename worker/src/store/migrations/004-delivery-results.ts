import { addColumn, addIndex, type Migration } from "./migration";

const COLUMNS: readonly [name: string, definition: string][] = [
  // When Solapi accepted the message: its first check is due MESSAGING_DELIVERY_CHECK_SECONDS later.
  ["sent_at", "DATETIME(3) NULL"],
  ["delivery_status", "VARCHAR(16) NULL"],
  ["delivery_code", "VARCHAR(16) NULL"],
  // What reached the phone: the channel sent, or Solapi's substitute for an AlimTalk.
  ["delivery_channel", "VARCHAR(16) NULL"],
  ["delivery_note", "VARCHAR(255) NULL"],
  ["delivery_checks", "INT NOT NULL DEFAULT 0"],
  // The next look, or the expiry of the lease of a look in progress; NULL when none is to come.
  ["delivery_check_at", "DATETIME(3) NULL"],
  ["delivery_checked_at", "DATETIME(3) NULL"],
  ["delivery_lease_owner", "VARCHAR(128) NULL"],
];

const INDEXES: readonly [name: string, definition: string][] = [
  // First checks: sent messages never looked at, oldest first.
  ["message_log_delivery_first", "KEY message_log_delivery_first (delivery_checks, sent_at)"],
  ["message_log_delivery_due", "KEY message_log_delivery_due (delivery_check_at)"],
  ["message_log_delivery_lease", "KEY message_log_delivery_lease (delivery_lease_owner)"],
];

/** Delivery results (docs/contract.md §4) and the state of the checks that ask Solapi for them. */
export const deliveryResults: Migration = {
  version: 4,
  name: "delivery results and their checks",
  async apply(db) {
    for (const [name, definition] of COLUMNS) await addColumn(db, "message_log", name, definition);
    for (const [name, definition] of INDEXES) await addIndex(db, "message_log", name, definition);
  },
};

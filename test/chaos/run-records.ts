/**
 * The three records of a chaos run that the reconciliation compares — what was enqueued, what the
 * fake Solapi accepted, and what message_log, the tenants' balances and the DLQ say — and the tally
 * it makes of them.
 */
import type { AcceptedMessage } from "../support/fake-solapi";
import type { ChaosJob, TenantPlan } from "./jobs";

/** A message_log row, as the reconciliation reads it. */
export interface LogRow {
  idempotency_key: string;
  tenant_id: number;
  status: string;
  channel: string | null;
  message_id: string | null;
  amount_charged: string;
  send_started_at: Date | null;
  delivery_status: string | null;
  delivery_code: string | null;
}

export interface DeadLetter {
  /** From the body, when it is a JSON object. */
  key?: string;
  tenantId?: number;
  /** The poison nonce the body carries, if any. */
  nonce?: string;
  /** The worker's reason: on its own copies only (SQS's redrive adds none). */
  error?: string;
  /** The job's identity as the worker's copy carries it in message attributes (docs/contract.md §5). */
  jobKeyAttribute?: string;
  tenantIdAttribute?: string;
}

export interface RunRecords {
  /** What was enqueued: the jobs, and the bodies that are not jobs (by their nonce). */
  jobs: ChaosJob[];
  poisonNonces: string[];
  /** What the fake Solapi accepted. */
  accepted: AcceptedMessage[];
  /** Every send-log row, by jobId. */
  rows: Map<string, LogRow>;
  deadLetters: DeadLetter[];
  tenants: TenantPlan[];
  balances: Map<number, string>;
  /** SOLAPI_SENDER and SOLAPI_KAKAO_PF_ID: every tenant's to use. */
  defaults: { sender: string; pfId: string };
  /** Why the run did not settle, when it did not. */
  unsettled?: string;
  /**
   * With delivery checks on: each accepted message's final code, by message id. Every SENT row must
   * then hold it — DELIVERED (4000) charged its price, or UNDELIVERED refunded to nothing.
   */
  finalCodes?: Map<string, string>;
}

export interface Tally {
  jobs: number;
  sent: number;
  failed: number;
  skippedCancelled: number;
  skippedBalance: number;
  /** UNKNOWN rows (or redriven claims with a send under way): kept for a person in the DLQ. */
  unknown: number;
  /** In the DLQ after transient failures, nothing sent or charged: kept for a person. */
  deadLettered: number;
  poison: number;
  lost: number;
  duplicated: number;
  /** Messages Solapi accepted that belong to no job: another key, no key, no such recipient. */
  stray: number;
  wronglyCharged: number;
  sentToCancelled: number;
  /** Sent messages whose final result was looked up: delivered, and undelivered (refunded). */
  delivered: number;
  undelivered: number;
  violations: string[];
}

/** A job is known by (tenant, key), as the send log keys it. */
export const jobId = (tenantId: number, key: string) => `${tenantId}/${key}`;

export const cents = (amount: string | number) => Math.round(Number(amount) * 100);

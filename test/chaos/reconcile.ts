/**
 * Reconciles the three ledgers of a chaos run — what was enqueued, what the fake Solapi accepted,
 * what message_log and the tenants' balances say (with the DLQ) — and names every difference.
 */
import type { AcceptedMessage } from "../support/fake-solapi";
import { type ChaosJob, PRICES, type TenantPlan } from "./jobs";

export interface LogRow {
  idempotency_key: string;
  tenant_id: number;
  status: string;
  channel: string | null;
  message_id: string | null;
  amount_charged: string;
  send_started_at: Date | null;
}

export interface DeadLetter {
  key?: string;
  error?: string;
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
  wronglyCharged: number;
  sentToCancelled: number;
  violations: string[];
}

const cents = (amount: string | number) => Math.round(Number(amount) * 100);

export interface Ledgers {
  jobs: ChaosJob[];
  poisonNonces: string[];
  accepted: AcceptedMessage[];
  rows: Map<string, LogRow>;
  deadLetters: DeadLetter[];
  poisonDeadLettered: Set<string>;
  tenants: TenantPlan[];
  balances: Map<number, string>;
}

export function reconcile(ledgers: Ledgers): Tally {
  const tally: Tally = {
    jobs: ledgers.jobs.length + ledgers.poisonNonces.length,
    sent: 0,
    failed: 0,
    skippedCancelled: 0,
    skippedBalance: 0,
    unknown: 0,
    deadLettered: 0,
    poison: 0,
    lost: 0,
    duplicated: 0,
    wronglyCharged: 0,
    sentToCancelled: 0,
    violations: [],
  };
  const violation = (text: string) => tally.violations.push(text);
  const acceptedByKey = new Map<string, AcceptedMessage[]>();
  for (const message of ledgers.accepted) acceptedByKey.set(message.jobKey ?? "", [...(acceptedByKey.get(message.jobKey ?? "") ?? []), message]);
  const dead = new Set(ledgers.deadLetters.map((letter) => letter.key).filter(Boolean));
  const poisonKeys = new Set(ledgers.deadLetters.filter((letter) => letter.error?.startsWith("invalid job:")).map((letter) => letter.key));

  for (const job of ledgers.jobs) {
    const row = ledgers.rows.get(job.key);
    const accepted = acceptedByKey.get(job.key) ?? [];
    if (accepted.length > 1) {
      tally.duplicated += 1;
      violation(`${job.key}: accepted by Solapi ${accepted.length} times`);
    }
    const charged = cents(row?.amount_charged ?? 0);
    const chargedWrongly = (expected: number, why: string) => {
      if (charged === expected) return;
      tally.wronglyCharged += 1;
      violation(`${job.key}: charged ${charged / 100} (${why}, expected ${expected / 100})`);
    };
    switch (row?.status) {
      case "SENT":
        tally.sent += 1;
        if (accepted.length === 0) violation(`${job.key}: recorded SENT but Solapi accepted nothing`);
        else if (!accepted.some((message) => message.messageId === row.message_id)) violation(`${job.key}: recorded message_id ${row.message_id} was never accepted`);
        if (job.cancelled) {
          tally.sentToCancelled += 1;
          violation(`${job.key}: sent although its reservation was cancelled`);
        }
        if (job.disabled || job.refused) violation(`${job.key}: sent although it should have been skipped or refused`);
        chargedWrongly(cents(PRICES[(row.channel ?? "sms") as keyof typeof PRICES]), `${row.channel} sent`);
        break;
      case "FAILED":
      case "SKIPPED_CANCELLED":
      case "SKIPPED_BALANCE":
        if (row.status === "FAILED") tally.failed += 1;
        else if (row.status === "SKIPPED_CANCELLED") tally.skippedCancelled += 1;
        else tally.skippedBalance += 1;
        if (accepted.length > 0) violation(`${job.key}: ${row.status} but Solapi accepted it`);
        if (row.status === "SKIPPED_CANCELLED" && !job.cancelled) violation(`${job.key}: skipped as cancelled but its reservation is not`);
        chargedWrongly(0, row.status);
        break;
      case "UNKNOWN":
        tally.unknown += 1;
        if (!dead.has(job.key)) violation(`${job.key}: UNKNOWN but not kept in the DLQ`);
        break;
      default:
        if (poisonKeys.has(job.key)) {
          tally.poison += 1;
          if (row) violation(`${job.key}: dead-lettered as invalid but it has a ${row.status} row`);
          if (accepted.length > 0) violation(`${job.key}: dead-lettered as invalid but Solapi accepted it`);
        } else if (!dead.has(job.key)) {
          tally.lost += 1;
          violation(`${job.key}: lost (row ${row?.status ?? "missing"}, not in the DLQ)`);
        } else if (row?.send_started_at) {
          // Moved by SQS's own redrive while a send was under way: whether it went is for a person.
          tally.unknown += 1;
        } else {
          tally.deadLettered += 1;
          if (accepted.length > 0) violation(`${job.key}: dead-lettered as unsent but Solapi accepted it`);
          chargedWrongly(0, "dead-lettered unsent");
        }
    }
  }

  for (const nonce of ledgers.poisonNonces) {
    if (ledgers.poisonDeadLettered.has(nonce)) tally.poison += 1;
    else {
      tally.lost += 1;
      violation(`poison ${nonce}: not in the DLQ`);
    }
  }

  for (const tenant of ledgers.tenants) {
    const charges = [...ledgers.rows.values()].filter((row) => row.tenant_id === tenant.id).reduce((sum, row) => sum + cents(row.amount_charged), 0);
    const balance = cents(ledgers.balances.get(tenant.id) ?? "0");
    if (balance < 0) violation(`tenant ${tenant.id}: balance ${balance / 100} is negative`);
    if (balance !== cents(tenant.credit) - charges) {
      tally.wronglyCharged += 1;
      violation(`tenant ${tenant.id}: balance ${balance / 100} ≠ ${tenant.credit} − charges ${charges / 100}`);
    }
  }
  return tally;
}

/**
 * Reconciles the three records of a chaos run (run-records.ts) and names every difference.
 *
 * A job is known by (tenant, key), as the send log keys it. Every message Solapi accepted is
 * accounted for (attribution.ts): found by its recipient and the key (and tenant) it carried, so that
 * a message under another key, under none, or for no job at all is a failure. Every charge is checked
 * against what Solapi accepted — its channel, at the job's tenant's price — not against the send
 * log's own idea of the channel.
 */
import type { Job } from "../../worker/src/job";
import type { Channel } from "../../worker/src/solapi/messages";
import type { AcceptedMessage } from "../support/fake-solapi";
import { attribute, parsed } from "./attribution";
import type { ChaosJob, TenantPlan } from "./jobs";
import { cents, jobId, type RunRecords, type Tally } from "./run-records";

const CHANNEL_OF_TYPE: Record<string, Channel> = { SMS: "sms", LMS: "lms", ATA: "alimtalk" };

/** What a job names that is not its tenant's own (docs/contract.md §4): it must end FAILED, unsent. */
function borrowed(job: Job, tenant: TenantPlan, defaults: RunRecords["defaults"]): string | undefined {
  if (job.sender !== undefined && ![...tenant.senders, defaults.sender].includes(job.sender)) return `sender ${job.sender}`;
  if (job.pfId !== undefined && ![...tenant.pfIds, defaults.pfId].includes(job.pfId)) return `pf_id ${job.pfId}`;
  return undefined;
}

export function reconcile(records: RunRecords): Tally {
  const tally: Tally = {
    jobs: records.jobs.length + records.poisonNonces.length,
    sent: 0,
    failed: 0,
    skippedCancelled: 0,
    skippedBalance: 0,
    unknown: 0,
    deadLettered: 0,
    poison: 0,
    lost: 0,
    duplicated: 0,
    stray: 0,
    wronglyCharged: 0,
    sentToCancelled: 0,
    delivered: 0,
    undelivered: 0,
    violations: [],
  };
  const violation = (text: string) => tally.violations.push(text);
  if (records.unsettled) violation(records.unsettled);
  const { byJob, stray } = attribute(records, violation);
  tally.stray = stray;
  const tenants = new Map(records.tenants.map((tenant) => [tenant.id, tenant]));
  const planned = new Set(records.jobs.map((job) => jobId(job.tenantId, job.key)));
  // Matched on the body's own tenant_id: a bad body's may be any number.
  const lettersOf = (job: ChaosJob) =>
    records.deadLetters.filter(
      (letter) => letter.key === job.key && (letter.tenantId === undefined || letter.tenantId === job.body.tenant_id),
    );

  for (const job of records.jobs) {
    const id = jobId(job.tenantId, job.key);
    const row = records.rows.get(id);
    const accepted = byJob.get(id) ?? [];
    const letters = lettersOf(job);
    const valid = parsed(job);
    const tenant = tenants.get(job.tenantId);
    const notOwn = valid && tenant ? borrowed(valid, tenant, records.defaults) : undefined;
    if (accepted.length > 1) {
      tally.duplicated += 1;
      violation(`${id}: accepted by Solapi ${accepted.length} times`);
    }
    const charged = cents(row?.amount_charged ?? 0);
    const chargedWrongly = (expected: number, why: string) => {
      if (charged === expected) return;
      tally.wronglyCharged += 1;
      violation(`${id}: charged ${charged / 100} (${why}, expected ${expected / 100})`);
    };
    if (job.expect && row && row.status !== job.expect) violation(`${id}: ended ${row.status}, expected ${job.expect}`);
    for (const letter of letters.filter((candidate) => candidate.error && !candidate.error.startsWith("invalid job:"))) {
      if (letter.jobKeyAttribute !== job.key || letter.tenantIdAttribute !== String(job.tenantId)) {
        violation(
          `${id}: its DLQ copy carries job_key ${letter.jobKeyAttribute ?? "(none)"}, tenant_id ${letter.tenantIdAttribute ?? "(none)"}: a redrive would be another job`,
        );
      }
    }
    switch (row?.status) {
      case "SENT": {
        tally.sent += 1;
        const message = accepted.find((candidate) => candidate.messageId === row.message_id) ?? accepted[0];
        if (!message) violation(`${id}: recorded SENT but Solapi accepted nothing for it`);
        else {
          if (message.messageId !== row.message_id) violation(`${id}: recorded message_id ${row.message_id} was never accepted for it`);
          const channel = CHANNEL_OF_TYPE[message.type ?? "SMS"] ?? "sms";
          if (row.channel !== channel) violation(`${id}: recorded as ${row.channel} but Solapi accepted ${channel}`);
          const final = records.finalCodes?.get(message.messageId);
          if (final === undefined) {
            if (tenant) chargedWrongly(cents(tenant.prices[channel]), `${channel} accepted`);
          } else {
            const expected = final === "4000" ? "DELIVERED" : "UNDELIVERED";
            if (row.delivery_status !== expected || row.delivery_code !== final) {
              violation(
                `${id}: delivery ${row.delivery_status ?? "NULL"} ${row.delivery_code ?? ""} recorded, Solapi's final result ${expected} ${final}`,
              );
            }
            if (expected === "DELIVERED") tally.delivered += 1;
            else tally.undelivered += 1;
            if (tenant)
              chargedWrongly(
                expected === "DELIVERED" ? cents(tenant.prices[channel]) : 0,
                `${channel} accepted, ${expected.toLowerCase()}`,
              );
          }
          if (valid && tenant) checkRoute(id, message, valid, tenant, records.defaults, violation);
        }
        if (job.cancelled) {
          tally.sentToCancelled += 1;
          violation(`${id}: sent although its reservation was cancelled`);
        }
        if (job.disabled || job.refused) violation(`${id}: sent although it should have been skipped or refused`);
        if (notOwn) violation(`${id}: sent although its ${notOwn} is not tenant ${job.tenantId}'s`);
        break;
      }
      case "FAILED":
      case "SKIPPED_CANCELLED":
      case "SKIPPED_BALANCE":
        if (row.status === "FAILED") tally.failed += 1;
        else if (row.status === "SKIPPED_CANCELLED") tally.skippedCancelled += 1;
        else tally.skippedBalance += 1;
        if (accepted.length > 0) violation(`${id}: ${row.status} but Solapi accepted it`);
        if (row.status === "SKIPPED_CANCELLED" && !job.cancelled) violation(`${id}: skipped as cancelled but its reservation is not`);
        chargedWrongly(0, row.status);
        break;
      case "UNKNOWN":
        tally.unknown += 1;
        if (letters.length === 0) violation(`${id}: UNKNOWN but not kept in the DLQ`);
        break;
      default:
        if (letters.some((letter) => letter.error?.startsWith("invalid job:"))) {
          tally.poison += 1;
          if (row) violation(`${id}: dead-lettered as invalid but it has a ${row.status} row`);
          if (accepted.length > 0) violation(`${id}: dead-lettered as invalid but Solapi accepted it`);
          if (letters.length > 1) violation(`${id}: dead-lettered ${letters.length} times: its original was not deleted`);
        } else if (letters.length === 0) {
          tally.lost += 1;
          violation(`${id}: lost (row ${row?.status ?? "missing"}, not in the DLQ${accepted.length ? `, accepted by Solapi` : ""})`);
        } else if (row?.send_started_at) {
          // Moved by SQS's own redrive while a send was under way: whether it went is for a person.
          tally.unknown += 1;
        } else {
          tally.deadLettered += 1;
          if (accepted.length > 0) violation(`${id}: dead-lettered as unsent but Solapi accepted it`);
          chargedWrongly(0, "dead-lettered unsent");
        }
    }
  }

  for (const nonce of records.poisonNonces) {
    const copies = records.deadLetters.filter((letter) => letter.nonce === nonce).length;
    if (copies === 1) tally.poison += 1;
    else if (copies === 0) {
      tally.lost += 1;
      violation(`poison ${nonce}: not in the DLQ`);
    } else {
      tally.poison += 1;
      violation(`poison ${nonce}: dead-lettered ${copies} times: its original was not deleted`);
    }
  }

  for (const [id, row] of records.rows) if (!planned.has(id)) violation(`send-log row ${id} (${row.status}) is no job's`);

  for (const tenant of records.tenants) {
    const charges = [...records.rows.values()]
      .filter((row) => row.tenant_id === tenant.id)
      .reduce((sum, row) => sum + cents(row.amount_charged), 0);
    const balance = cents(records.balances.get(tenant.id) ?? "0");
    if (balance < 0) violation(`tenant ${tenant.id}: balance ${balance / 100} is negative`);
    if (balance !== cents(tenant.credit) - charges) {
      tally.wronglyCharged += 1;
      violation(`tenant ${tenant.id}: balance ${balance / 100} ≠ ${tenant.credit} − its rows' charges ${charges / 100}`);
    }
  }
  return tally;
}

/** The sender and Kakao channel a message went from: the job's own choice, else its tenant's, else the environment's. */
function checkRoute(
  id: string,
  message: AcceptedMessage,
  job: Job,
  tenant: TenantPlan,
  defaults: RunRecords["defaults"],
  violation: (text: string) => void,
): void {
  const sender = job.sender ?? tenant.senders[0] ?? defaults.sender;
  if ((message.type !== "ATA" || message.from !== undefined) && message.from !== sender) {
    violation(`${id}: sent from ${message.from ?? "(no sender)"}, expected ${sender}`);
  }
  const pfId = job.pfId ?? tenant.pfIds[0] ?? defaults.pfId;
  if (message.type === "ATA" && message.kakaoOptions?.pfId !== pfId)
    violation(`${id}: sent through Kakao channel ${message.kakaoOptions?.pfId}, expected ${pfId}`);
}

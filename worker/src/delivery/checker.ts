/**
 * The delivery checker: a loop beside the consumer that leases the checks that are due from the
 * send log and runs them (round.ts). Nothing lives only in memory: a check is due in the database
 * until its result or next time is written, so a worker killed mid-check leaves a lease that lapses
 * and the next round, in any worker, takes it. Stopping does not wait for a round in flight.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { type BackoffPolicy, backoffMs } from "../backoff";
import { errorMessage } from "../error-message";
import type { Logger } from "../log";
import type { SolapiGateway } from "../solapi/client";
import { findDueChecks, findFirstChecks, leaseChecksOf, leaseDueChecks } from "../store/deliveries";
import type { Db } from "../store/pool";
import type { CheckPolicy } from "./decide";
import { checkLeased, type RoundDeps, type RoundSummary } from "./round";

export interface DeliveryCheckerOptions {
  db: Db;
  solapi: SolapiGateway;
  log: Logger;
  policy: CheckPolicy;
  /** How long a round may hold its checks: past it, another round may take them. */
  leaseMs: number;
  /** Checks leased by one round: one Solapi list request per 100. */
  batchSize?: number;
  /** Pause between rounds that found less than a full batch. */
  idleMs?: number;
}

const DEFAULT_BATCH = 100;
/** The longest pause between rounds while they keep failing. */
const LONGEST_PAUSE_MS = 60_000;

function ownerToken(role: string): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}:${role}`;
}

/**
 * Checks these rows now, whenever they were due (`npm run trace -- --refresh`), through the same
 * leases and writes as the checker; rows another round holds at this moment are left to it.
 */
export async function checkNow(deps: RoundDeps, ids: readonly number[], leaseMs: number): Promise<RoundSummary> {
  const owner = ownerToken("refresh");
  await leaseChecksOf(deps.db, ids, owner, leaseMs);
  const summary = await checkLeased(deps, owner);
  // Only a stop signal ends a round before its write, and this one has none.
  if (!summary) throw new Error("a refresh round ended without writing its results");
  return summary;
}

/** A round is one list request (rarely a few): its lease outlasts several Solapi deadlines. */
export function checkLeaseMs(solapiTimeoutMs: number): number {
  return 3 * solapiTimeoutMs + 10_000;
}

/** A tenth of the first delay, so results are looked up within 10 % of it, between 0.2 and 10 s. */
export function idlePauseMs(policy: CheckPolicy): number {
  return Math.min(10_000, Math.max(200, policy.firstCheckMs / 10));
}

export class DeliveryChecker {
  private readonly owner = ownerToken("delivery");
  private rounds = 0;
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;
  private readonly batchSize: number;
  /** The pause after a round that found less than a full batch: the idle pause, doubled after each failure in a row. */
  private readonly pauses: BackoffPolicy;

  constructor(private readonly options: DeliveryCheckerOptions) {
    this.batchSize = options.batchSize ?? DEFAULT_BATCH;
    this.pauses = { firstMs: options.idleMs ?? idlePauseMs(options.policy), maxMs: LONGEST_PAUSE_MS, jitter: "none" };
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops leasing; a round in flight is abandoned before its write and its leases lapse. */
  stop(): void {
    this.stopping.abort();
  }

  /** Leases the checks that are due (later checks first, then first checks) and runs them. */
  async runOnce(): Promise<RoundSummary | undefined> {
    return (await this.round()).summary;
  }

  /** `found`: due checks seen, some of which another round may have leased first. */
  private async round(): Promise<{ found: number; summary?: RoundSummary }> {
    const { db, policy, leaseMs } = this.options;
    this.rounds += 1;
    const owner = `${this.owner}#${this.rounds}`;
    const due = await findDueChecks(db, this.batchSize);
    const first = await findFirstChecks(db, {
      firstCheckMs: policy.firstCheckMs,
      boundMs: policy.boundMs,
      limit: this.batchSize - due.length,
    });
    const found = due.length + first.length;
    if ((await leaseDueChecks(db, [...due, ...first], owner, leaseMs)) === 0) return { found };
    return {
      found,
      summary: await checkLeased({ db, solapi: this.options.solapi, log: this.options.log, policy }, owner, this.stopping.signal),
    };
  }

  private async run(): Promise<void> {
    const { log } = this.options;
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      let full = false;
      try {
        const { found, summary } = await this.round();
        failures = 0;
        full = found === this.batchSize;
        if (summary) log.debug("delivery checks", { ...summary });
      } catch (error) {
        failures += 1;
        if (!this.stopping.signal.aborted) log.warn("delivery checks failed; trying again", { error: errorMessage(error), failures });
      }
      if (full) continue;
      await sleep(backoffMs(failures + 1, this.pauses), undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }
}

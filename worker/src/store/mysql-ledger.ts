/**
 * The MySQL ledger: the pipeline's Ledger port (pipeline/ledger-port.ts) over the send log, a group
 * of jobs at a time — claims and their leases, tenant credits and the admission checks, the fence,
 * and each job's conclusion. Every money movement shares a transaction with the claim rows it
 * belongs to, so a refund can happen only once. It depends on the database alone: the one question
 * for Solapi (was a taken-over send accepted?) is asked through the function it is built with.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { errorMessage } from "../error-message";
import type { Logger } from "../log";
import type { SendDefaults } from "../pipeline/decide";
import type { Admission, ChargeRequest, ChargeResult, ConcludedJob, Ledger, ReceivedJob } from "../pipeline/ledger-port";
import { type JobOutcome, retry } from "../pipeline/outcome";
import type { SendWindow } from "../pipeline/send-window";
import { admitToTenants } from "./admission";
import { type Claim, claimGroup } from "./claims";
import { type HeldConclusion, recordConclusions } from "./conclusions";
import { type FenceEntry, passFence } from "./fence";
import { DatabaseHealth } from "./health";
import { ClaimLeases } from "./leases";
import { type Db, inTransaction } from "./pool";
import type { RecipientHasher } from "./recipient";
import { refundClaim } from "./refunds";
import { type Prices, transitionFor } from "./send-log-rules";

/** Solapi's record of an earlier send of the job: undefined when it holds none; throws when Solapi cannot be asked. */
export type EarlierSendLookup = (item: ReceivedJob) => Promise<JobOutcome | undefined>;

export interface MysqlLedgerOptions {
  db: Db;
  /** For a claim taken over after a send had begun: did Solapi take it? (pipeline/stateless-ledger.ts's findEarlierSend) */
  findEarlierSend: EarlierSendLookup;
  /** From the environment; a tenant's own sender and Kakao channel come first. */
  defaults: SendDefaults;
  /** The SQS visibility timeout: a claim is renewed to last as long. */
  leaseMs: number;
  window: SendWindow;
  log: Logger;
  /** message_log.recipient_hash of a number: keyed with MESSAGING_RECIPIENT_HASH_SECRET. */
  hashRecipient: RecipientHasher;
}

/** What this process knows of a job it has claimed and not yet recorded. */
interface HeldClaim {
  rowId: number;
  owner: string;
  item: ReceivedJob;
  /** The tenant's prices, once the job is admitted: only an admitted job is charged. */
  prices?: Prices;
}

export class MysqlLedger implements Ledger {
  private readonly db: Db;
  private readonly processOwner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private claimsMade = 0;
  private readonly held = new Map<string, HeldClaim>();
  private readonly health: DatabaseHealth;
  private readonly leases: ClaimLeases;

  constructor(private readonly options: MysqlLedgerOptions) {
    this.db = options.db;
    this.health = new DatabaseHealth(options.db, options.log);
    this.leases = new ClaimLeases(options.db, options.leaseMs, options.log, (error) => this.health.note(error));
  }

  // Every failure to admit or charge passes by the health check on its way out.
  admit(items: readonly ReceivedJob[]): Promise<Map<string, Admission>> {
    return this.admitGroup(items).catch((error: unknown) => this.health.observe(error));
  }

  charge(requests: readonly ChargeRequest[]): Promise<ChargeResult> {
    return this.chargeGroup(requests).catch((error: unknown) => this.health.observe(error));
  }

  /** Records a group's conclusions; a job whose write failed every attempt is retried instead. */
  async record(concluded: readonly ConcludedJob[]): Promise<Map<string, JobOutcome>> {
    const mine = concluded.flatMap((job): HeldConclusion[] => {
      const claim = this.held.get(job.item.id);
      if (!claim) return [];
      const leaseEndsAt = this.leases.endsAt(claim.rowId);
      this.letGo(job.item.id);
      return [{ ...job, rowId: claim.rowId, owner: claim.owner, leaseEndsAt, transition: transitionFor(job.outcome, job.action) }];
    });
    const failed = await recordConclusions(this.db, mine, this.options.log, (error) => this.health.note(error));
    const replaced = new Map<string, JobOutcome>();
    for (const [{ item, outcome, leaseEndsAt }, error] of failed) {
      const uncertain = outcome.kind === "sent" || (outcome.kind === "retry" && outcome.ambiguous);
      // The claim could not be released either: come back only once it has expired, or the job
      // would find its own stale claim "busy".
      const leaseLeftSeconds = Math.max(0, Math.ceil(((leaseEndsAt ?? Date.now()) - Date.now()) / 1000)) + 1;
      replaced.set(
        item.id,
        retry(`could not write the send log: ${errorMessage(error)}`, { ambiguous: uncertain, minDelaySeconds: leaseLeftSeconds }),
      );
    }
    return replaced;
  }

  ready(signal: AbortSignal): Promise<void> {
    return this.health.ready(signal);
  }

  async close(): Promise<void> {
    this.leases.stop();
    await this.db.end();
  }

  /** Owner tokens are unique per claim, so the rows holding ours are the ones we claimed. */
  private nextOwner(): string {
    this.claimsMade += 1;
    return `${this.processOwner}#${this.claimsMade}`;
  }

  private hold(item: ReceivedJob, claim: Extract<Claim, { claimed: true }>): void {
    this.held.set(item.id, { rowId: claim.rowId, owner: claim.owner, item });
    this.leases.hold(claim.rowId, claim.owner, Date.now() + item.leaseMs);
  }

  private letGo(id: string): void {
    const claim = this.held.get(id);
    this.held.delete(id);
    if (claim) this.leases.forget(claim.rowId);
  }

  /** For a claim taken over after a send had begun: Solapi's answer, or a retry when it cannot be asked. */
  private async askEarlierSend(item: ReceivedJob): Promise<JobOutcome | undefined> {
    try {
      return await this.options.findEarlierSend(item);
    } catch (error) {
      return retry(`an earlier attempt may have been sent and Solapi cannot be asked: ${errorMessage(error)}`, { ambiguous: true });
    }
  }

  private async admitGroup(items: readonly ReceivedJob[]): Promise<Map<string, Admission>> {
    const admissions = new Map<string, Admission>();
    const turnAway = (item: ReceivedJob, outcome: JobOutcome) => admissions.set(item.id, { admitted: false, outcome });
    const claims = await claimGroup(
      this.db,
      items,
      () => this.nextOwner(),
      this.options.hashRecipient,
      (item, claim) => this.hold(item, claim),
    );
    const claimed: ReceivedJob[] = [];
    await Promise.all(
      claims.map(async ({ item, claim }) => {
        if (!claim.claimed) return turnAway(item, claim.outcome);
        if (claim.uncertain) {
          // A send began under the row and settled without its answer written: ask Solapi.
          const earlier = await this.askEarlierSend(item);
          if (earlier) return turnAway(item, earlier);
          await refundClaim(this.db, claim);
        }
        claimed.push(item);
      }),
    );
    const decided = await admitToTenants(this.db, claimed, this.options.defaults);
    for (const [id, admission] of decided.admissions) {
      admissions.set(id, admission);
      const claim = this.held.get(id);
      const prices = decided.prices.get(id);
      if (claim && prices) claim.prices = prices;
    }
    return admissions;
  }

  private async chargeGroup(requests: readonly ChargeRequest[]): Promise<ChargeResult> {
    const refusals = new Map<string, JobOutcome>();
    const entries: FenceEntry[] = [];
    for (const request of requests) {
      const claim = this.held.get(request.item.id);
      if (!claim) refusals.set(request.item.id, retry("the job is not claimed by this worker"));
      else if (!claim.prices) refusals.set(request.item.id, retry("the job was not admitted by this worker: it has no price yet"));
      else entries.push({ request, rowId: claim.rowId, owner: claim.owner, prices: claim.prices });
    }
    if (entries.length === 0) return { refusals };
    const { window } = this.options;
    const fenced = await inTransaction(this.db, (connection) => passFence(connection, entries, window));
    for (const id of fenced.lost) this.letGo(id);
    for (const rowId of fenced.started) this.leases.stretch(rowId, Date.now() + window.fenceLeaseMs);
    for (const [id, outcome] of fenced.refusals) refusals.set(id, outcome);
    return { refusals, startBy: fenced.startBy };
  }
}

/**
 * Keeps the claims of jobs in flight alive (after bullmq's LockManager): one timer, and every claim
 * whose lease is due renewed in one statement. A renewal that fails is tried again on the next tick,
 * well before the lease runs out; a lease that runs out anyway is lost for good (extendLeases does not
 * revive it), and the fence then refuses to start a send under it.
 */

import { errorMessage } from "../error-message";
import type { Logger } from "../log";
import { extendLeases } from "./message-log";
import type { Db } from "./pool";

/** A lease is renewed once a third of it has passed, and tried again every eighth: five more tries before it runs out. */
const RENEW_WHEN_LEFT = 2 / 3;
const TICKS_PER_LEASE = 8;

interface Lease {
  rowId: number;
  owner: string;
  /** When the lease was last known to end, by this machine's clock (ms since the epoch). */
  endsAt: number;
}

export class LeaseKeeper {
  private readonly leases = new Map<number, Lease>();
  private readonly timer: NodeJS.Timeout;
  private renewing = false;

  constructor(
    private readonly db: Db,
    /** The length of a renewed lease: the SQS visibility timeout, so a dead worker's claims lapse when SQS hands its jobs on. */
    private readonly leaseMs: number,
    private readonly log: Logger,
    private readonly onFailure: (error: unknown) => void = () => undefined,
  ) {
    this.timer = setInterval(() => void this.renewDue(), Math.max(100, Math.floor(leaseMs / TICKS_PER_LEASE)));
    this.timer.unref();
  }

  hold(rowId: number, owner: string, endsAt: number): void {
    this.leases.set(rowId, { rowId, owner, endsAt });
  }

  /** The lease now ends no earlier than `endsAt` (the fence stretched it over a send). */
  stretch(rowId: number, endsAt: number): void {
    const lease = this.leases.get(rowId);
    if (lease) lease.endsAt = Math.max(lease.endsAt, endsAt);
  }

  endsAt(rowId: number): number | undefined {
    return this.leases.get(rowId)?.endsAt;
  }

  forget(rowId: number): void {
    this.leases.delete(rowId);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Renews, in one statement, every lease with less than two thirds of its length left. */
  async renewDue(now = Date.now()): Promise<void> {
    if (this.renewing) return;
    const due = [...this.leases.values()].filter((lease) => lease.endsAt - now < this.leaseMs * RENEW_WHEN_LEFT);
    if (due.length === 0) return;
    this.renewing = true;
    try {
      await extendLeases(
        this.db,
        due.map((lease) => lease.rowId),
        due.map((lease) => lease.owner),
        this.leaseMs,
      );
      for (const lease of due) lease.endsAt = Math.max(lease.endsAt, now + this.leaseMs);
    } catch (error) {
      this.onFailure(error);
      this.log.warn("could not renew job claims; trying again shortly", { claims: due.length, error: errorMessage(error) });
    } finally {
      this.renewing = false;
    }
  }
}

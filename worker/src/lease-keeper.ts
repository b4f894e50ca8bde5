/**
 * Keeps leases alive while their work is in flight (after bullmq's LockManager): one timer, and on
 * each tick every lease that is due renewed in one call. A renewal that fails leaves its lease due,
 * so it is tried again on the next tick, well before the lease runs out; a lease whose renewal is
 * still under way is not asked for twice.
 *
 * Two keepers are built on it, each an instance of its own:
 * - the SQS visibility of messages in flight (consumer/visibility.ts): renewed when half is left;
 * - the send log's claims (store/leases.ts): renewed when two thirds are left, and stretched by the
 *   fence over a send window (pipeline/send-window.ts).
 * One instance carrying both leases of a job would give them one length, one renewal point and one
 * end: the fence's stretch would hold back the visibility's renewal and SQS would hand the message
 * to another worker mid-send. They also end apart (a claim when its job is recorded, the visibility
 * when SQS confirms the acknowledgement), and a worker without the database has no claims at all.
 */

export interface Lease<K, V> {
  readonly key: K;
  readonly value: V;
  /** When the lease was last known to end, by this machine's clock (ms since the epoch). */
  readonly endsAt: number;
}

interface HeldLease<K, V> extends Lease<K, V> {
  endsAt: number;
  renewing: boolean;
}

export interface LeaseKeeperOptions<K, V> {
  /** The length of a renewed lease. */
  leaseMs: number;
  /** A lease is due once less than this share of `leaseMs` is left. */
  renewWhenLeft: number;
  /** How often the timer looks for due leases. */
  tickMs: number;
  /**
   * Renews every due lease in one call. One promise settles them together (one statement); one
   * promise per lease, in `due`'s order, settles each apart (a batch call whose entries succeed or
   * fail one by one), so that one slow entry does not hold the others' renewals up.
   */
  renew: (due: readonly Lease<K, V>[]) => Promise<unknown> | readonly Promise<unknown>[];
  /** Told of each renewal that failed, with the leases it was for; they stay due. */
  onFailure: (error: unknown, leases: readonly Lease<K, V>[]) => void;
  /** This machine's clock, for the ticks; tests may pass their own or call `renewDue(now)`. */
  clock?: () => number;
}

export class LeaseKeeper<K, V> {
  private readonly leases = new Map<K, HeldLease<K, V>>();
  private readonly timer: NodeJS.Timeout;
  private readonly clock: () => number;

  constructor(private readonly options: LeaseKeeperOptions<K, V>) {
    this.clock = options.clock ?? Date.now;
    this.timer = setInterval(() => void this.renewDue(), options.tickMs);
    this.timer.unref();
  }

  hold(key: K, value: V, endsAt: number): void {
    this.leases.set(key, { key, value, endsAt, renewing: false });
  }

  /** The lease now ends no earlier than `endsAt` (the fence stretched it over a send). */
  stretch(key: K, endsAt: number): void {
    const lease = this.leases.get(key);
    if (lease) lease.endsAt = Math.max(lease.endsAt, endsAt);
  }

  endsAt(key: K): number | undefined {
    return this.leases.get(key)?.endsAt;
  }

  forget(key: K): void {
    this.leases.delete(key);
  }

  get held(): number {
    return this.leases.size;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Renews, in one call, every lease with less than `renewWhenLeft` of its length left at `now`. */
  async renewDue(now = this.clock()): Promise<void> {
    const { leaseMs, renewWhenLeft } = this.options;
    const due = [...this.leases.values()].filter((lease) => !lease.renewing && lease.endsAt - now < leaseMs * renewWhenLeft);
    if (due.length === 0) return;
    for (const lease of due) lease.renewing = true;
    let answer: Promise<unknown> | readonly Promise<unknown>[];
    try {
      answer = this.options.renew(due);
    } catch (error) {
      answer = Promise.reject(error);
    }
    const parts: [Promise<unknown>, HeldLease<K, V>[]][] =
      "then" in answer
        ? [[answer, due]]
        : due.map((lease, index) => [answer[index] ?? Promise.reject(new Error("no renewal was made for this lease")), [lease]]);
    await Promise.all(
      parts.map(async ([renewal, leases]) => {
        try {
          await renewal;
          for (const lease of leases) lease.endsAt = Math.max(lease.endsAt, now + leaseMs);
        } catch (error) {
          this.options.onFailure(error, leases);
        } finally {
          for (const lease of leases) lease.renewing = false;
        }
      }),
    );
  }
}

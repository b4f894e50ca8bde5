/**
 * The in-flight gate: at most `capacity` jobs between receive and acknowledgement. Unlike a plain
 * semaphore (p-limit, async-sema) it hands out up to N slots at once, because one ReceiveMessage
 * asks for as many messages as there are free slots, and it returns the ones a receive left unused.
 */
export class Slots {
  private used = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  get free(): number {
    return this.capacity - this.used;
  }

  /** Waits for at least one free slot, then takes up to `wanted`; resolves 0 when `signal` aborts. */
  async take(wanted: number, signal: AbortSignal): Promise<number> {
    while (this.free === 0) {
      if (signal.aborted) return 0;
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener("abort", wake);
          resolve();
        };
        this.waiters.push(wake);
        signal.addEventListener("abort", wake, { once: true });
      });
    }
    if (signal.aborted) return 0;
    const taken = Math.min(wanted, this.free);
    this.used += taken;
    return taken;
  }

  give(count: number): void {
    if (count <= 0) return;
    this.used = Math.max(0, this.used - count);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

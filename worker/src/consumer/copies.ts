/**
 * Copies of one job in flight in this process (a producer's retry: the same job twice at once). The
 * first message received owns the job; a copy received while the owner is in flight — in the same
 * receive or a later one — waits for the owner's outcome and mirrors it (`outcomeForCopy`), so the
 * job goes to Solapi once.
 */
import { outcomeForCopy } from "../pipeline/decide";
import type { JobOutcome } from "../pipeline/outcome";
import type { Entry, JobEntry } from "./entry";

/** A copy, and the outcome it takes once its owner's is known. */
export interface Copy {
  entry: JobEntry;
  outcome: Promise<JobOutcome>;
}

interface Owner {
  entry: JobEntry;
  outcome: Promise<JobOutcome>;
  settle: (outcome: JobOutcome) => void;
}

export class JobsInFlight {
  /** The owner of each job (tenant and key) in flight, by the job's identity. */
  private readonly owners = new Map<string, Owner>();

  /** Sorts a receive's jobs, in order, into the ones it now owns and copies of jobs already in flight. */
  admit(entries: readonly JobEntry[]): { owned: JobEntry[]; copies: Copy[] } {
    const owned: JobEntry[] = [];
    const copies: Copy[] = [];
    for (const entry of entries) {
      const owner = this.owners.get(entry.id);
      if (owner) {
        copies.push({ entry, outcome: owner.outcome.then(outcomeForCopy) });
        continue;
      }
      let settle: (outcome: JobOutcome) => void = () => undefined;
      const outcome = new Promise<JobOutcome>((resolve) => {
        settle = resolve;
      });
      this.owners.set(entry.id, { entry, outcome, settle });
      owned.push(entry);
    }
    return { owned, copies };
  }

  /** The owner's outcome is known: its copies may be acknowledged. */
  settle(entry: JobEntry, outcome: JobOutcome): void {
    const owner = this.owners.get(entry.id);
    if (owner?.entry === entry) owner.settle(outcome);
  }

  /** The owner has been acknowledged: a later message with its job is a new delivery of it. A copy's release changes nothing. */
  release(entry: Entry): void {
    if (this.owners.get(entry.id)?.entry === entry) this.owners.delete(entry.id);
  }

  get size(): number {
    return this.owners.size;
  }
}

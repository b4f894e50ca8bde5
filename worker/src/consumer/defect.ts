/**
 * When the pipeline cannot conclude a group: its delivery threw, or it concluded nothing for a job.
 * That is a defect, not an answer from Solapi: nothing is known about the send, so the job is
 * retried as uncertain (looked up in Solapi before it is sent again), and its log line carries
 * `alert`.
 */
import { errorMessage } from "../error-message";
import type { Conclusion } from "../pipeline/ledger-port";
import { type JobOutcome, type RetryOutcome, retry } from "../pipeline/outcome";

/** What delivering a group came to: the pipeline's conclusions by job identity, or what it threw. */
export type Delivery = { ok: true; conclusions: ReadonlyMap<string, Conclusion> } | { ok: false; error: unknown };

export function defectOutcome(error: unknown): RetryOutcome {
  return retry(`internal error: ${errorMessage(error)}`, { ambiguous: true, alert: true });
}

/**
 * Every job's conclusion, the pipeline's where it gave one (in its order), a defect's otherwise;
 * `conclude` turns an outcome into the job's acknowledgement.
 */
export function conclusionsOf<E extends { id: string }>(
  jobs: readonly E[],
  delivery: Delivery,
  conclude: (job: E, outcome: JobOutcome) => Conclusion,
): Map<E, Conclusion> {
  const results = new Map<E, Conclusion>();
  if (delivery.ok) {
    const byId = new Map(jobs.map((job) => [job.id, job]));
    for (const [id, concluded] of delivery.conclusions) {
      const job = byId.get(id);
      if (job) results.set(job, concluded);
    }
  }
  const missing = delivery.ok ? "the pipeline concluded nothing for the job" : delivery.error;
  for (const job of jobs) if (!results.has(job)) results.set(job, conclude(job, defectOutcome(missing)));
  return results;
}

/**
 * Which job each message Solapi accepted was for: its recipient's jobs, narrowed by the key and
 * tenant it carried in customFields. Anything that cannot be attributed to exactly one job is stray.
 */
import { type Job, parseJob } from "../../worker/src/job";
import { solapiJobKey } from "../../worker/src/solapi/messages";
import type { AcceptedMessage } from "../support/fake-solapi";
import type { ChaosJob } from "./jobs";
import { jobId, type RunRecords } from "./run-records";

/** The customFields names as they go over the wire, written out here rather than taken from the worker. */
const JOB_KEY_FIELD = "jobKey";
const TENANT_FIELD = "tenantId";

/** The job a chaos body is, as the worker reads it; undefined for a body it refuses. */
export function parsed(job: ChaosJob): Job | undefined {
  try {
    return parseJob(job.body);
  } catch {
    return undefined;
  }
}

export function attribute(
  records: Pick<RunRecords, "jobs" | "accepted">,
  violation: (text: string) => void,
): { byJob: Map<string, AcceptedMessage[]>; stray: number } {
  const byRecipient = new Map<string, ChaosJob[]>();
  for (const job of records.jobs) {
    const to = parsed(job)?.to;
    if (to) byRecipient.set(to, [...(byRecipient.get(to) ?? []), job]);
  }
  const byJob = new Map<string, AcceptedMessage[]>();
  let stray = 0;
  for (const message of records.accepted) {
    const key = message.customFields?.[JOB_KEY_FIELD];
    const tenant = message.customFields?.[TENANT_FIELD];
    const candidates = byRecipient.get(message.to) ?? [];
    const matches = candidates.filter(
      (job) => solapiJobKey(job.key) === key && (tenant === undefined || String(job.tenantId) === String(tenant)),
    );
    if (key !== undefined && matches.length === 1) {
      const id = jobId(matches[0]!.tenantId, matches[0]!.key);
      byJob.set(id, [...(byJob.get(id) ?? []), message]);
      continue;
    }
    stray += 1;
    const what = `Solapi accepted ${message.type ?? "SMS"} ${message.messageId} to ${message.to}`;
    const jobs = candidates.map((job) => jobId(job.tenantId, job.key)).join(", ") || "none";
    if (key === undefined) violation(`${what} carrying no job key (that recipient's jobs: ${jobs})`);
    else if (matches.length === 0)
      violation(
        `${what} under key ${key}${tenant === undefined ? "" : ` of tenant ${tenant}`}, which is no job of that recipient (its jobs: ${jobs})`,
      );
    else violation(`${what} under key ${key} with no tenant: it could be the job of ${matches.map((job) => job.tenantId).join(" or ")}`);
  }
  return { byJob, stray };
}

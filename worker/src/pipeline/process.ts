import type { Job } from "../job";
import type { Logger } from "../log";
import type { DeliveryResult, OutgoingMessage, SolapiGateway } from "../solapi/client";
import { buildAlimtalkMessage, buildTextMessage } from "../solapi/messages";
import { type Attempt, type JobOutcome, outcomeOfDelivery, planDelivery, type Route, type SendDefaults } from "./decide";

/** A valid job as received: its key is the business idempotency key, else the SQS MessageId. */
export interface ReceivedJob {
  key: string;
  job: Job;
  receiveCount: number;
  /** When the producer enqueued it: no earlier send can belong to it. */
  enqueuedAt: Date;
}

export interface PipelineDeps {
  solapi: SolapiGateway;
  defaults: SendDefaults;
  log: Logger;
}

/** Clock skew allowed between the producer's enqueue time and Solapi's records. */
const LOOKUP_MARGIN_MS = 10 * 60 * 1000;

function messageFor(item: ReceivedJob, attempt: Attempt, route: Route, withSubstitute: boolean): OutgoingMessage {
  const { job, key } = item;
  if (attempt === "text") {
    return { jobKey: key, ...buildTextMessage({ jobKey: key, to: job.to, from: route.from!, text: job.text, subject: job.subject }) };
  }
  const substitute = withSubstitute && route.from ? { from: route.from, text: job.text, subject: job.subject } : undefined;
  return {
    jobKey: key,
    ...buildAlimtalkMessage({ jobKey: key, to: job.to, pfId: route.pfId!, templateId: route.templateId!, variables: job.variables, substitute }),
  };
}

/**
 * A job received again may already have been sent by an attempt whose answer was lost. Without a
 * send log, Solapi's own records are the only witness: look the job's key up before sending again.
 */
async function findEarlierSends(jobs: readonly ReceivedJob[], deps: PipelineDeps): Promise<Map<string, JobOutcome>> {
  const found = new Map<string, JobOutcome>();
  if (deps.solapi.mode === "mock") return found;
  await Promise.all(
    jobs
      .filter((item) => item.receiveCount > 1)
      .map(async (item) => {
        try {
          const since = new Date(item.enqueuedAt.getTime() - LOOKUP_MARGIN_MS);
          const sent = await deps.solapi.findSent({ to: item.job.to, jobKey: item.key, since });
          if (!sent) return;
          const channel = sent.type === "ATA" ? "alimtalk" : sent.type === "LMS" ? "lms" : "sms";
          found.set(item.key, { kind: "sent", channel, groupId: sent.groupId, messageId: sent.messageId, recovered: true });
        } catch (error) {
          const reason = `could not check whether an earlier attempt was sent: ${error instanceof Error ? error.message : String(error)}`;
          found.set(item.key, { kind: "retry", reason, ambiguous: true, minDelaySeconds: 0, alert: false });
        }
      }),
  );
  return found;
}

interface Pending {
  item: ReceivedJob;
  attempts: Attempt[];
  route: Route;
}

/**
 * Delivers a group of jobs (one SQS receive) with one Solapi request per round: the first channel
 * of every job together, then the SMS/LMS fallback of every `both` job whose AlimTalk was refused.
 * Every job keeps its own outcome. Returns outcomes by job key.
 */
export async function deliverGroup(jobs: readonly ReceivedJob[], deps: PipelineDeps, shutdown: AbortSignal): Promise<Map<string, JobOutcome>> {
  const outcomes = new Map<string, JobOutcome>();
  if (shutdown.aborted) {
    for (const item of jobs) outcomes.set(item.key, { kind: "released", reason: "worker is shutting down" });
    return outcomes;
  }

  for (const [key, outcome] of await findEarlierSends(jobs, deps)) outcomes.set(key, outcome);

  let pending: Pending[] = [];
  for (const item of jobs) {
    if (outcomes.has(item.key)) continue;
    const plan = planDelivery(item.job, deps.defaults);
    if (!plan.ok) {
      outcomes.set(item.key, { kind: "failed", reason: plan.reason });
      continue;
    }
    if (plan.note) deps.log.info(plan.note, { job: item.key, tenant_id: item.job.tenantId });
    pending.push({ item, attempts: plan.attempts, route: plan.route });
  }

  const refusals = new Map<string, DeliveryResult>();
  while (pending.length > 0) {
    const round = pending.map(({ item, attempts, route }) => messageFor(item, attempts[0]!, route, attempts.length > 1));
    const results = await deps.solapi.send(round);
    const next: Pending[] = [];
    for (const entry of pending) {
      const result = results.get(entry.item.key)!;
      const outcome = outcomeOfDelivery(result, entry.attempts.length > 1);
      if (outcome === "fall-back") {
        refusals.set(entry.item.key, result);
        deps.log.info(`${result.channel} refused; falling back to SMS/LMS`, {
          job: entry.item.key,
          tenant_id: entry.item.job.tenantId,
          reason: result.status === "refused" ? result.reason : result.status === "failed" ? result.error.message : "",
        });
        next.push({ ...entry, attempts: entry.attempts.slice(1) });
        continue;
      }
      const refused = refusals.get(entry.item.key);
      outcomes.set(entry.item.key, outcome.kind === "sent" && refused ? { ...outcome, fellBackFrom: refused.channel } : outcome);
    }
    pending = next;
  }
  return outcomes;
}

import type { Logger } from "../log";
import type { DeliveryResult, OutgoingMessage, SolapiGateway } from "../solapi/client";
import { buildAlimtalkMessage, buildTextMessage, type Channel, textChannel } from "../solapi/messages";
import {
  type AckAction,
  ackActionFor,
  type Attempt,
  type JobOutcome,
  outcomeOfDelivery,
  planDelivery,
  type RetryPolicy,
  type Route,
} from "./decide";
import { type Admission, findEarlierSend, type Ledger, type ReceivedJob } from "./ledger";
import { errorMessage } from "../error-message";

export interface PipelineDeps {
  solapi: SolapiGateway;
  ledger: Ledger;
  retry: RetryPolicy;
  log: Logger;
}

export interface Finished {
  outcome: JobOutcome;
  action: AckAction;
}

interface Pending {
  item: ReceivedJob;
  attempts: Attempt[];
  route: Route;
  /** The channel whose refusal led here, to refund when charging the next one. */
  replacing?: Channel;
}

function channelOf(attempt: Attempt, item: ReceivedJob): Channel {
  return attempt === "alimtalk" ? "alimtalk" : textChannel(item.job.text);
}

function messageFor({ item, attempts, route }: Pending): OutgoingMessage {
  const { job, key } = item;
  if (attempts[0] === "text") {
    return { jobKey: key, ...buildTextMessage({ jobKey: key, to: job.to, from: route.from!, text: job.text, subject: job.subject }) };
  }
  const withSubstitute = attempts.length > 1 && route.from;
  const substitute = withSubstitute ? { from: route.from!, text: job.text, subject: job.subject } : undefined;
  return {
    jobKey: key,
    ...buildAlimtalkMessage({ jobKey: key, to: job.to, pfId: route.pfId!, templateId: route.templateId!, variables: job.variables, substitute }),
  };
}

/** A step that could not reach the database or Solapi: nothing was sent, so try again later. */
function cannotProceed(step: string, error: unknown): JobOutcome {
  return { kind: "retry", reason: `${step} failed: ${errorMessage(error)}`, ambiguous: false, minDelaySeconds: 0, alert: false };
}

/** Admits every job; those turned away (or failing to be asked) get their outcome at once. */
async function admit(jobs: readonly ReceivedJob[], deps: PipelineDeps, outcomes: Map<string, JobOutcome>): Promise<Pending[]> {
  if (jobs.length === 0) return [];
  let admissions: Map<string, Admission>;
  try {
    admissions = await deps.ledger.admit(jobs);
  } catch (error) {
    for (const item of jobs) outcomes.set(item.key, cannotProceed("admission", error));
    return [];
  }
  const pending: Pending[] = [];
  for (const item of jobs) {
    const admission = admissions.get(item.key) ?? { admitted: false, outcome: cannotProceed("admission", "no answer for this job") };
    if (!admission.admitted) {
      outcomes.set(item.key, admission.outcome);
      continue;
    }
    const plan = planDelivery(item.job, admission.defaults);
    if (!plan.ok) {
      outcomes.set(item.key, { kind: "failed", reason: plan.reason });
      continue;
    }
    if (plan.note) deps.log.info(plan.note, { job: item.key, tenant_id: item.job.tenantId });
    pending.push({ item, attempts: plan.attempts, route: plan.route });
  }
  return pending;
}

/** Charges every pending job for its next channel; the ones that may not go get their outcome. */
async function charge(pending: Pending[], deps: PipelineDeps, outcomes: Map<string, JobOutcome>): Promise<Pending[]> {
  let refusals: Map<string, JobOutcome>;
  try {
    refusals = await deps.ledger.charge(
      pending.map((entry) => ({ item: entry.item, channel: channelOf(entry.attempts[0]!, entry.item), replacing: entry.replacing })),
    );
  } catch (error) {
    for (const entry of pending) outcomes.set(entry.item.key, cannotProceed("charging", error));
    return [];
  }
  for (const [key, refusal] of refusals) outcomes.set(key, refusal);
  return pending.filter((entry) => !refusals.has(entry.item.key));
}

/** One Solapi request for the round; returns the jobs that fall back to their next channel. */
async function sendRound(pending: Pending[], deps: PipelineDeps, outcomes: Map<string, JobOutcome>, fellBack: Map<string, Channel>): Promise<Pending[]> {
  const results = await deps.solapi.send(pending.map(messageFor));
  const next: Pending[] = [];
  for (const entry of pending) {
    const result: DeliveryResult = results.get(entry.item.key)!;
    const outcome = outcomeOfDelivery(result, entry.attempts.length > 1);
    if (outcome === "fall-back") {
      fellBack.set(entry.item.key, result.channel);
      deps.log.info(`${result.channel} refused; falling back to SMS/LMS`, {
        job: entry.item.key,
        tenant_id: entry.item.job.tenantId,
        reason: result.status === "refused" ? result.reason : result.status === "failed" ? result.error.message : "",
      });
      next.push({ ...entry, attempts: entry.attempts.slice(1), replacing: result.channel });
      continue;
    }
    const refusedChannel = fellBack.get(entry.item.key);
    outcomes.set(entry.item.key, outcome.kind === "sent" && refusedChannel ? { ...outcome, fellBackFrom: refusedChannel } : outcome);
  }
  return next;
}

/**
 * A send whose answer was lost (timeout, reset, 5xx, unreadable 200) may have been accepted: ask
 * Solapi at once, so that an accepted message is recorded now instead of on a later receive.
 */
async function resolveLostAnswers(attempted: readonly ReceivedJob[], deps: PipelineDeps, outcomes: Map<string, JobOutcome>): Promise<void> {
  if (deps.solapi.mode === "mock") return;
  await Promise.all(
    attempted.map(async (item) => {
      const outcome = outcomes.get(item.key);
      if (outcome?.kind !== "retry" || !outcome.ambiguous) return;
      const found = await findEarlierSend(deps.solapi, item).catch(() => undefined);
      if (found) outcomes.set(item.key, found);
    }),
  );
}

/** Writes each job's end down and decides what SQS is told. */
async function finish(jobs: readonly ReceivedJob[], deps: PipelineDeps, outcomes: Map<string, JobOutcome>): Promise<Map<string, Finished>> {
  const endings = jobs.map((item) => {
    const outcome = outcomes.get(item.key)!;
    return { item, outcome, action: ackActionFor(outcome, item.receiveCount, deps.retry) };
  });
  let replaced: Map<string, JobOutcome>;
  try {
    replaced = await deps.ledger.finish(endings);
  } catch (error) {
    // Nothing known was written: a job that went out must be looked up again, not sent blindly.
    replaced = new Map(
      endings.map(({ item, outcome }) => {
        const uncertain = outcome.kind === "sent" || (outcome.kind === "retry" && outcome.ambiguous);
        return [item.key, { ...(cannotProceed("recording", error) as Extract<JobOutcome, { kind: "retry" }>), ambiguous: uncertain }];
      }),
    );
  }
  const finished = new Map<string, Finished>();
  for (const { item, outcome, action } of endings) {
    const replacement = replaced.get(item.key);
    if (!replacement) {
      finished.set(item.key, { outcome, action });
      continue;
    }
    deps.log.error("could not write the job's outcome; it will be retried", { job: item.key, tenant_id: item.job.tenantId, outcome: outcome.kind });
    finished.set(item.key, { outcome: replacement, action: ackActionFor(replacement, item.receiveCount, deps.retry) });
  }
  return finished;
}

/**
 * Delivers the jobs of one receive: admit each (claim, tenant, reservation), charge it, then send
 * with one Solapi request per round — the first channel of every job together, then the SMS/LMS
 * fallback of every `both` job whose AlimTalk was refused — and write each job's end down.
 * Jobs not yet charged when shutdown begins are released untouched.
 */
export async function deliverGroup(jobs: readonly ReceivedJob[], deps: PipelineDeps, shutdown: AbortSignal): Promise<Map<string, Finished>> {
  const outcomes = new Map<string, JobOutcome>();
  const released: JobOutcome = { kind: "released", reason: "worker is shutting down" };
  if (shutdown.aborted) {
    for (const item of jobs) outcomes.set(item.key, released);
    return finish(jobs, deps, outcomes);
  }

  let pending = await admit(jobs, deps, outcomes);
  if (shutdown.aborted) {
    for (const entry of pending) outcomes.set(entry.item.key, released);
    pending = [];
  }
  const fellBack = new Map<string, Channel>();
  const attempted = new Set<ReceivedJob>();
  while (pending.length > 0) {
    const cleared = await charge(pending, deps, outcomes);
    for (const entry of cleared) attempted.add(entry.item);
    pending = cleared.length > 0 ? await sendRound(cleared, deps, outcomes, fellBack) : [];
  }
  await resolveLostAnswers([...attempted], deps, outcomes);
  return finish(jobs, deps, outcomes);
}

/**
 * One group's way through the pipeline: admit, charge, send round(s), conclude. Every job of the
 * group leaves with a conclusion: what became of it and what SQS is to do with its message.
 */
import { errorMessage } from "../error-message";
import type { Logger } from "../log";
import type { SolapiGateway } from "../solapi/client";
import { ackActionFor, planDelivery, type RetryPolicy, settleLostAnswer } from "./decide";
import type { Admission, ChargeResult, ConcludedJob, Conclusion, Ledger, ReceivedJob } from "./ledger-port";
import { type JobOutcome, type RetryOutcome, retry } from "./outcome";
import { currentChannel, type PlannedJob } from "./planned-job";
import { sendRound } from "./send-round";
import { findEarlierSend } from "./stateless-ledger";

export interface PipelineDeps {
  solapi: SolapiGateway;
  ledger: Ledger;
  retry: RetryPolicy;
  log: Logger;
}

/** A step that could not reach the database or Solapi: try again later. */
function cannotProceed(step: string, error: unknown, options: { ambiguous?: boolean } = {}): RetryOutcome {
  return retry(`${step} failed: ${errorMessage(error)}`, options);
}

/** Admits every job; those turned away (or failing to be asked) get their outcome at once. */
async function admit(jobs: readonly ReceivedJob[], deps: PipelineDeps, outcomes: Map<string, JobOutcome>): Promise<PlannedJob[]> {
  if (jobs.length === 0) return [];
  let admissions: Map<string, Admission>;
  try {
    admissions = await deps.ledger.admit(jobs);
  } catch (error) {
    for (const item of jobs) outcomes.set(item.id, cannotProceed("admission", error));
    return [];
  }
  const planned: PlannedJob[] = [];
  for (const item of jobs) {
    const admission = admissions.get(item.id) ?? { admitted: false, outcome: cannotProceed("admission", "no answer for this job") };
    if (!admission.admitted) {
      outcomes.set(item.id, admission.outcome);
      continue;
    }
    const plan = planDelivery(item.job, admission.defaults);
    if (!plan.ok) {
      outcomes.set(item.id, { kind: "failed", reason: plan.reason });
      continue;
    }
    if (plan.note) deps.log.info(plan.note, { job: item.key, tenant_id: item.job.tenantId });
    planned.push({ item, attempts: plan.attempts, route: plan.route });
  }
  return planned;
}

/** Charges every planned job for its current channel; the ones that may not go get their outcome. */
async function charge(
  jobs: PlannedJob[],
  deps: PipelineDeps,
  outcomes: Map<string, JobOutcome>,
): Promise<{ cleared: PlannedJob[]; startBy?: number }> {
  let charged: ChargeResult;
  try {
    charged = await deps.ledger.charge(
      jobs.map((job) => ({ item: job.item, channel: currentChannel(job), replacing: job.refusal?.channel })),
    );
  } catch (error) {
    for (const job of jobs) outcomes.set(job.item.id, cannotProceed("charging", error));
    return { cleared: [] };
  }
  for (const [id, refusal] of charged.refusals) outcomes.set(id, refusal);
  return { cleared: jobs.filter((job) => !charged.refusals.has(job.item.id)), startBy: charged.startBy };
}

/**
 * A send whose answer was lost (timeout, reset, 5xx, unreadable 200) may have been accepted: ask
 * Solapi at once, so that an accepted message is recorded now instead of on a later receive.
 */
async function resolveLostAnswers(attempted: readonly ReceivedJob[], deps: PipelineDeps, outcomes: Map<string, JobOutcome>): Promise<void> {
  if (deps.solapi.mode === "mock") return;
  await Promise.all(
    attempted.map(async (item) => {
      const outcome = outcomes.get(item.id);
      if (outcome?.kind !== "retry" || !outcome.ambiguous) return;
      try {
        outcomes.set(item.id, settleLostAnswer(outcome, await findEarlierSend(deps.solapi, item)));
      } catch {
        // Solapi cannot be asked now: the job stays uncertain and is looked up again before any resend.
      }
    }),
  );
}

/** Every job has its outcome by now: admitted, charged or sent, each step sets one for each job it ends. */
function outcomeOf(item: ReceivedJob, outcomes: ReadonlyMap<string, JobOutcome>): JobOutcome {
  const outcome = outcomes.get(item.id);
  if (!outcome) throw new Error(`job ${item.key} reached its conclusion without an outcome`);
  return outcome;
}

/** Decides what SQS is told of each job, and records each job's conclusion. */
async function conclude(
  jobs: readonly ReceivedJob[],
  deps: PipelineDeps,
  outcomes: Map<string, JobOutcome>,
): Promise<Map<string, Conclusion>> {
  const concluded: ConcludedJob[] = jobs.map((item) => {
    const outcome = outcomeOf(item, outcomes);
    return { item, outcome, action: ackActionFor(outcome, item.receiveCount, deps.retry) };
  });
  let replaced: Map<string, JobOutcome>;
  try {
    replaced = await deps.ledger.record(concluded);
  } catch (error) {
    // Nothing known was written: a job that went out must be looked up again, not sent blindly.
    replaced = new Map(
      concluded.map(({ item, outcome }) => {
        const uncertain = outcome.kind === "sent" || (outcome.kind === "retry" && outcome.ambiguous);
        return [item.id, cannotProceed("recording", error, { ambiguous: uncertain })];
      }),
    );
  }
  const conclusions = new Map<string, Conclusion>();
  for (const { item, outcome, action } of concluded) {
    const replacement = replaced.get(item.id);
    if (!replacement) {
      conclusions.set(item.id, { outcome, action });
      continue;
    }
    deps.log.error("could not write the job's outcome; it will be retried", {
      job: item.key,
      tenant_id: item.job.tenantId,
      outcome: outcome.kind,
    });
    conclusions.set(item.id, { outcome: replacement, action: ackActionFor(replacement, item.receiveCount, deps.retry) });
  }
  return conclusions;
}

/**
 * Delivers the jobs of one receive: admit each (claim, tenant, reservation), charge it, then send
 * with one Solapi request per round — the first channel of every job together, then the SMS/LMS
 * fallback of every `both` job whose AlimTalk was refused — and conclude each job.
 * Jobs not yet charged when shutdown begins are released untouched.
 */
export async function deliverGroup(
  jobs: readonly ReceivedJob[],
  deps: PipelineDeps,
  shutdown: AbortSignal,
): Promise<Map<string, Conclusion>> {
  const outcomes = new Map<string, JobOutcome>();
  const released: JobOutcome = { kind: "released", reason: "worker is shutting down" };
  if (shutdown.aborted) {
    for (const item of jobs) outcomes.set(item.id, released);
    return conclude(jobs, deps, outcomes);
  }

  let planned = await admit(jobs, deps, outcomes);
  if (shutdown.aborted) {
    for (const job of planned) outcomes.set(job.item.id, released);
    planned = [];
  }
  const attempted = new Set<ReceivedJob>();
  while (planned.length > 0) {
    const { cleared, startBy } = await charge(planned, deps, outcomes);
    for (const job of cleared) attempted.add(job.item);
    planned = cleared.length > 0 ? await sendRound(cleared, startBy, deps, outcomes) : [];
  }
  await resolveLostAnswers([...attempted], deps, outcomes);
  return conclude(jobs, deps, outcomes);
}

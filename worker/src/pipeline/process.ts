import { errorMessage } from "../error-message";
import type { Logger } from "../log";
import type { DeliveryResult, OutgoingMessage, SolapiGateway } from "../solapi/client";
import { buildAlimtalkMessage, buildTextMessage, type Channel, textChannel } from "../solapi/messages";
import {
  type AckAction,
  type Attempt,
  ackActionFor,
  outcomeOfDelivery,
  planDelivery,
  type RetryPolicy,
  type Route,
  settleLostAnswer,
} from "./decide";
import type { Admission, ChargeResult, ConcludedJob, Conclusion, Ledger, ReceivedJob } from "./ledger-port";
import { type JobOutcome, retry } from "./outcome";
import { findEarlierSend } from "./stateless-ledger";

export interface PipelineDeps {
  solapi: SolapiGateway;
  ledger: Ledger;
  retry: RetryPolicy;
  log: Logger;
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
  const { job, key, id } = item;
  const owner = { jobKey: key, tenantId: job.tenantId };
  if (attempts[0] === "text") {
    return { id, ...owner, ...buildTextMessage({ ...owner, to: job.to, from: route.from!, text: job.text, subject: job.subject }) };
  }
  const withSubstitute = attempts.length > 1 && route.from;
  const substitute = withSubstitute ? { from: route.from!, text: job.text, subject: job.subject } : undefined;
  return {
    id,
    ...owner,
    ...buildAlimtalkMessage({
      ...owner,
      to: job.to,
      pfId: route.pfId!,
      templateId: route.templateId!,
      variables: job.variables,
      substitute,
    }),
  };
}

/**
 * The Solapi requests of a round. Jobs on their first receive travel together (the research's
 * largest CPU lever); a job received again — perhaps because its group's request failed — travels
 * alone, so whatever failed it cannot fail a neighbour twice.
 */
export function requestsFor<T extends { item: Pick<ReceivedJob, "receiveCount"> }>(pending: readonly T[]): T[][] {
  const together = pending.filter((entry) => entry.item.receiveCount <= 1);
  const alone = pending.filter((entry) => entry.item.receiveCount > 1).map((entry) => [entry]);
  return together.length > 0 ? [together, ...alone] : alone;
}

/** A step that could not reach the database or Solapi: nothing was sent, so try again later. */
function cannotProceed(step: string, error: unknown): JobOutcome {
  return retry(`${step} failed: ${errorMessage(error)}`);
}

/** Admits every job; those turned away (or failing to be asked) get their outcome at once. */
async function admit(jobs: readonly ReceivedJob[], deps: PipelineDeps, outcomes: Map<string, JobOutcome>): Promise<Pending[]> {
  if (jobs.length === 0) return [];
  let admissions: Map<string, Admission>;
  try {
    admissions = await deps.ledger.admit(jobs);
  } catch (error) {
    for (const item of jobs) outcomes.set(item.id, cannotProceed("admission", error));
    return [];
  }
  const pending: Pending[] = [];
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
    pending.push({ item, attempts: plan.attempts, route: plan.route });
  }
  return pending;
}

/** Charges every pending job for its next channel; the ones that may not go get their outcome. */
async function charge(
  pending: Pending[],
  deps: PipelineDeps,
  outcomes: Map<string, JobOutcome>,
): Promise<{ cleared: Pending[]; startBy?: number }> {
  let charged: ChargeResult;
  try {
    charged = await deps.ledger.charge(
      pending.map((entry) => ({ item: entry.item, channel: channelOf(entry.attempts[0]!, entry.item), replacing: entry.replacing })),
    );
  } catch (error) {
    for (const entry of pending) outcomes.set(entry.item.id, cannotProceed("charging", error));
    return { cleared: [] };
  }
  for (const [id, refusal] of charged.refusals) outcomes.set(id, refusal);
  return { cleared: pending.filter((entry) => !charged.refusals.has(entry.item.id)), startBy: charged.startBy };
}

interface Refused {
  channel: Channel;
  reason: string;
}

/** The round's Solapi requests (requestsFor), at once; returns the jobs that fall back to their next channel. */
async function sendRound(
  pending: Pending[],
  startBy: number | undefined,
  deps: PipelineDeps,
  outcomes: Map<string, JobOutcome>,
  refused: Map<string, Refused>,
): Promise<Pending[]> {
  const answers = await Promise.all(requestsFor(pending).map((request) => deps.solapi.send(request.map(messageFor), { startBy })));
  const results = new Map(answers.flatMap((answer) => [...answer]));
  const next: Pending[] = [];
  for (const entry of pending) {
    const result: DeliveryResult = results.get(entry.item.id)!;
    const outcome = outcomeOfDelivery(result, entry.attempts.length > 1);
    if ("fallBack" in outcome) {
      refused.set(entry.item.id, { channel: result.channel, reason: outcome.reason });
      deps.log.info(`${result.channel} refused; falling back to SMS/LMS`, {
        job: entry.item.key,
        tenant_id: entry.item.job.tenantId,
        reason: outcome.reason,
      });
      next.push({ ...entry, attempts: entry.attempts.slice(1), replacing: result.channel });
      continue;
    }
    const refusal = refused.get(entry.item.id);
    outcomes.set(
      entry.item.id,
      outcome.kind === "sent" && refusal ? { ...outcome, fellBackFrom: refusal.channel, fallbackReason: refusal.reason } : outcome,
    );
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

/** Decides what SQS is told of each job, and records each job's conclusion. */
async function conclude(
  jobs: readonly ReceivedJob[],
  deps: PipelineDeps,
  outcomes: Map<string, JobOutcome>,
): Promise<Map<string, Conclusion>> {
  const concluded: ConcludedJob[] = jobs.map((item) => {
    const outcome = outcomes.get(item.id)!;
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
        return [item.id, { ...(cannotProceed("recording", error) as Extract<JobOutcome, { kind: "retry" }>), ambiguous: uncertain }];
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
 * fallback of every `both` job whose AlimTalk was refused — and write each job's end down.
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

  let pending = await admit(jobs, deps, outcomes);
  if (shutdown.aborted) {
    for (const entry of pending) outcomes.set(entry.item.id, released);
    pending = [];
  }
  const refused = new Map<string, Refused>();
  const attempted = new Set<ReceivedJob>();
  while (pending.length > 0) {
    const { cleared, startBy } = await charge(pending, deps, outcomes);
    for (const entry of cleared) attempted.add(entry.item);
    pending = cleared.length > 0 ? await sendRound(cleared, startBy, deps, outcomes, refused) : [];
  }
  await resolveLostAnswers([...attempted], deps, outcomes);
  return conclude(jobs, deps, outcomes);
}

/**
 * One send round: every cleared job's current channel sent, a request per requestsFor group, at
 * once. A `both` job whose AlimTalk is refused comes back for the next round on SMS/LMS.
 */
import type { Logger } from "../log";
import type { SolapiGateway } from "../solapi/client";
import { outcomeOfDelivery } from "./decide";
import type { ReceivedJob } from "./ledger-port";
import type { JobOutcome } from "./outcome";
import { outgoingMessage } from "./outgoing-message";
import type { PlannedJob } from "./planned-job";

/**
 * The Solapi requests of a round. Jobs on their first receive travel together (a ten-message
 * request costs about 0.37 ms of CPU a message, a one-message request 3.2 ms: docs/architecture.md);
 * a job received again — perhaps because its group's request failed — travels alone, so whatever
 * failed it cannot fail a neighbour twice.
 */
export function requestsFor<T extends { item: Pick<ReceivedJob, "receiveCount"> }>(jobs: readonly T[]): T[][] {
  const together = jobs.filter((entry) => entry.item.receiveCount <= 1);
  const alone = jobs.filter((entry) => entry.item.receiveCount > 1).map((entry) => [entry]);
  return together.length > 0 ? [together, ...alone] : alone;
}

/**
 * Sends the round and sets each job's outcome in `outcomes`, a sent fallback naming the refusal
 * before it; returns the jobs that fall back to their next channel instead.
 */
export async function sendRound(
  jobs: readonly PlannedJob[],
  startBy: number | undefined,
  { solapi, log }: { solapi: SolapiGateway; log: Logger },
  outcomes: Map<string, JobOutcome>,
): Promise<PlannedJob[]> {
  const answers = await Promise.all(requestsFor(jobs).map((request) => solapi.send(request.map(outgoingMessage), { startBy })));
  const results = new Map(answers.flatMap((answer) => [...answer]));
  const fallingBack: PlannedJob[] = [];
  for (const entry of jobs) {
    const { item, attempts, refusal } = entry;
    const result = results.get(item.id);
    if (!result) throw new Error(`Solapi's answer holds no result for job ${item.key}`);
    const outcome = outcomeOfDelivery(result, attempts.length > 1);
    if ("fallBack" in outcome) {
      log.info(`${result.channel} refused; falling back to SMS/LMS`, {
        job: item.key,
        tenant_id: item.job.tenantId,
        reason: outcome.reason,
      });
      fallingBack.push({ ...entry, attempts: attempts.slice(1), refusal: { channel: result.channel, reason: outcome.reason } });
      continue;
    }
    outcomes.set(
      item.id,
      outcome.kind === "sent" && refusal ? { ...outcome, fellBackFrom: refusal.channel, fallbackReason: refusal.reason } : outcome,
    );
  }
  return fallingBack;
}

/**
 * The Solapi message a planned job sends now: an SMS/LMS, or an AlimTalk that carries the job's
 * text as Solapi's own substitute when the job may fall back to text (`both`).
 */
import type { OutgoingMessage } from "../solapi/client";
import { buildAlimtalkMessage, buildTextMessage } from "../solapi/messages";
import { currentAttempt, type PlannedJob } from "./planned-job";

/** planDelivery plans a channel only with what it needs: a sender for text, a Kakao channel and template for AlimTalk. */
function planned<T>(value: T | undefined, what: string, job: PlannedJob): T {
  if (value === undefined) throw new Error(`job ${job.item.key} was planned without ${what}`);
  return value;
}

export function outgoingMessage(job: PlannedJob): OutgoingMessage {
  const { item, attempts, route } = job;
  const { key, id } = item;
  const owner = { jobKey: key, tenantId: item.job.tenantId };
  const { to, text, subject } = item.job;
  if (currentAttempt(job) === "text") {
    return { id, ...owner, ...buildTextMessage({ ...owner, to, from: planned(route.from, "a sender", job), text, subject }) };
  }
  const substitute = attempts.length > 1 && route.from ? { from: route.from, text, subject } : undefined;
  const alimtalk = buildAlimtalkMessage({
    ...owner,
    to,
    pfId: planned(route.pfId, "a Kakao channel", job),
    templateId: planned(route.templateId, "a template", job),
    variables: item.job.variables,
    substitute,
  });
  return { id, ...owner, ...alimtalk };
}

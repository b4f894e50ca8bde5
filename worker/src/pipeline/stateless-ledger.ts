/**
 * The ledger without a database: Solapi's own records are its only memory.
 */
import { errorMessage } from "../error-message";
import type { SolapiGateway } from "../solapi/client";
import type { Channel } from "../solapi/messages";
import type { SendDefaults } from "./decide";
import type { Admission, Ledger, ReceivedJob } from "./ledger-port";
import { type JobOutcome, retry } from "./outcome";

/** Clock skew allowed between the producer's enqueue time and Solapi's records. */
const LOOKUP_MARGIN_MS = 10 * 60 * 1000;

/**
 * Looks an earlier attempt up in Solapi by the job key it carried. Undefined: Solapi holds no such
 * message. Throws when Solapi cannot be asked.
 */
export async function findEarlierSend(solapi: SolapiGateway, item: ReceivedJob): Promise<JobOutcome | undefined> {
  const since = new Date(item.enqueuedAt.getTime() - LOOKUP_MARGIN_MS);
  const sent = await solapi.findSent({ to: item.job.to, jobKey: item.key, tenantId: item.job.tenantId, since });
  if (!sent) return undefined;
  const channel: Channel = sent.type === "ATA" ? "alimtalk" : sent.type === "LMS" ? "lms" : "sms";
  return { kind: "sent", channel, groupId: sent.groupId, messageId: sent.messageId, recovered: true };
}

/**
 * Without a database: a job received again may have been sent by an attempt whose answer was lost,
 * and Solapi's records are the only witness, so it is looked up before it is sent again.
 */
export function statelessLedger(solapi: SolapiGateway, defaults: SendDefaults): Ledger {
  async function admitOne(item: ReceivedJob): Promise<Admission> {
    if (item.receiveCount <= 1 || solapi.mode === "mock") return { admitted: true, defaults };
    try {
      const earlier = await findEarlierSend(solapi, item);
      return earlier ? { admitted: false, outcome: earlier } : { admitted: true, defaults };
    } catch (error) {
      const reason = `could not check whether an earlier attempt was sent: ${errorMessage(error)}`;
      return { admitted: false, outcome: retry(reason, { ambiguous: true }) };
    }
  }
  return {
    admit: async (items) => new Map(await Promise.all(items.map(async (item) => [item.id, await admitOne(item)] as const))),
    charge: async () => ({ refusals: new Map() }),
    record: async () => new Map(),
    ready: async () => undefined,
    close: async () => undefined,
  };
}

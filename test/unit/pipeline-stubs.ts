/**
 * A Ledger (pipeline/ledger-port.ts) and a SolapiGateway (solapi/client.ts) held in memory for
 * deliverGroup's unit tests: each records what the pipeline asked of it and answers as the test says.
 */
import { parseJob } from "../../worker/src/job";
import type { RetryPolicy } from "../../worker/src/pipeline/decide";
import {
  type Admission,
  type ChargeRequest,
  type ChargeResult,
  type ConcludedJob,
  jobIdentity,
  type Ledger,
  type ReceivedJob,
} from "../../worker/src/pipeline/ledger-port";
import type { JobOutcome } from "../../worker/src/pipeline/outcome";
import type { PipelineDeps } from "../../worker/src/pipeline/process";
import type { DeliveryResult, OutgoingMessage, SendOptions, SentMessage, SolapiGateway } from "../../worker/src/solapi/client";
import { capturingLogger } from "../support/config";

export const TENANT = 7;
export const DEFAULTS = { sender: "0212345678", pfId: "KA01PF-TEST", templateId: "KA01TP-TEST" };
export const RETRY: RetryPolicy = { maxReceives: 5, baseSeconds: 1, maxSeconds: 2 };

export function received(key: string, body: Record<string, unknown> = {}, receiveCount = 1): ReceivedJob {
  const job = parseJob({ tenant_id: TENANT, to: "010-2345-6789", text: `안내 ${key}`, business_idempotency_key: key, ...body });
  const enqueuedAt = new Date("2026-11-30T00:00:00Z");
  return { id: jobIdentity(TENANT, key), key, job, sqsMessageId: `sqs-${key}`, receiveCount, enqueuedAt, leaseMs: 30_000 };
}

export interface LedgerAnswers {
  admit?: (item: ReceivedJob) => Admission;
  /** Called as the pipeline calls charge: may refuse jobs, set startBy, or throw. */
  charge?: (requests: readonly ChargeRequest[]) => ChargeResult;
  record?: (concluded: readonly ConcludedJob[]) => Map<string, JobOutcome>;
}

export interface StubLedger extends Ledger {
  admitted: ReceivedJob[][];
  charged: ChargeRequest[][];
  recorded: ConcludedJob[][];
}

export function stubLedger(answers: LedgerAnswers = {}): StubLedger {
  const ledger: StubLedger = {
    admitted: [],
    charged: [],
    recorded: [],
    admit: async (items) => {
      ledger.admitted.push([...items]);
      const admit = answers.admit ?? (() => ({ admitted: true, defaults: DEFAULTS }));
      return new Map(items.map((item) => [item.id, admit(item)]));
    },
    charge: async (requests) => {
      ledger.charged.push([...requests]);
      return answers.charge ? answers.charge(requests) : { refusals: new Map(), startBy: 1_000 };
    },
    record: async (concluded) => {
      ledger.recorded.push([...concluded]);
      return answers.record ? answers.record(concluded) : new Map();
    },
    ready: async () => undefined,
    close: async () => undefined,
  };
  return ledger;
}

export interface SolapiAnswers {
  mode?: "live" | "mock";
  /** Solapi's answer to one message of a request; accepted unless said. */
  answer?: (message: OutgoingMessage) => DeliveryResult;
  /** What a look-up after a lost answer finds; nothing unless said. */
  findSent?: () => SentMessage | undefined;
}

export interface StubSolapi extends SolapiGateway {
  requests: { messages: readonly OutgoingMessage[]; options?: SendOptions }[];
  lookups: string[];
}

export const accepted = (message: OutgoingMessage): DeliveryResult => ({
  status: "accepted",
  channel: message.channel,
  groupId: "G-1",
  messageId: `M-${message.jobKey}-${message.channel}`,
});

export function stubSolapi(answers: SolapiAnswers = {}): StubSolapi {
  const solapi: StubSolapi = {
    mode: answers.mode ?? "live",
    requests: [],
    lookups: [],
    send: async (messages, options) => {
      solapi.requests.push({ messages, options });
      return new Map(messages.map((message) => [message.id, (answers.answer ?? accepted)(message)]));
    },
    findSent: async (query) => {
      solapi.lookups.push(query.jobKey);
      return answers.findSent?.();
    },
    listMessages: async () => [],
    close: () => undefined,
  };
  return solapi;
}

export function pipeline(ledger: StubLedger, solapi: StubSolapi): PipelineDeps & { lines: () => Record<string, unknown>[] } {
  const { log, lines } = capturingLogger();
  return { ledger, solapi, retry: RETRY, log, lines };
}

/**
 * The Solapi gateway: the one interface through which the pipeline sends, the ledger looks a job's
 * message up after an uncertain send, and the delivery checker lists results. The SDK does the
 * signing; routing, deadlines and mock mode are the transport's (transport.ts).
 */
import { randomUUID } from "node:crypto";
import {
  type GetMessagesRequest,
  type GetMessagesResponse,
  MessageNotReceivedError,
  SolapiMessageService,
  type StoredMessage,
} from "solapi";
import type { SolapiConfig } from "../config";
import { maskPhone } from "../log";
import { classifySolapiError, type FailureKind, SolapiRequestError } from "./errors";
import { type Channel, carriesJob, type MessageOwner, type SolapiMessage } from "./messages";
import { createMockSolapiHandler } from "./mock";
import { redactMockRequest } from "./mock-redaction";
import { failedResults, readResponse } from "./send-response";
import { SendWindows } from "./send-windows";
import { routeSolapiRequests } from "./transport";

export interface OutgoingMessage extends MessageOwner {
  /** The job's identity in this process (tenant and key): results come back under it. */
  id: string;
  channel: Channel;
  message: SolapiMessage;
}

export interface SendOptions {
  /** performance.now() time after which no request may leave (pipeline/send-window.ts). */
  startBy?: number;
}

/** What became of one message of a request. */
export type DeliveryResult =
  | { status: "accepted"; channel: Channel; groupId: string; messageId: string }
  | {
      status: "refused";
      channel: Channel;
      groupId: string;
      statusCode: string;
      reason: string;
      kind: FailureKind;
      minRetrySeconds: number;
      alert: boolean;
      insufficientBalance: boolean;
    }
  | { status: "failed"; channel: Channel; error: SolapiRequestError };

/** A message Solapi already holds for a job (found again after an uncertain send). */
export interface SentMessage {
  groupId: string;
  messageId: string;
  type: string;
  statusCode: string;
}

/** One entry of Solapi's message list: where a message stands now. */
export interface ListedMessage {
  messageId: string;
  groupId?: string;
  /** What the message carried in customFields: its job's key and tenant (messages.ts carriesJob reads them). */
  customFields?: Record<string, string>;
  type?: string;
  /** Absent when Solapi gave none. */
  statusCode?: string;
  replacement: boolean;
}

/** Which messages to list: these ids (one request per page), or every message of one group. */
export type ListQuery = { messageIds: readonly string[] } | { groupId: string };

/** The small interface the pipeline sends through. */
export interface SolapiGateway {
  readonly mode: "live" | "mock";
  /** One request for all messages; answers by message id, never throws for a failed request. */
  send(messages: readonly OutgoingMessage[], options?: SendOptions): Promise<Map<string, DeliveryResult>>;
  /** Looks a job's message up by the tenant and key it carried in customFields. */
  findSent(query: MessageOwner & { to: string; since: Date }): Promise<SentMessage | undefined>;
  /** Messages with their current status, page by page; throws a classified SolapiRequestError. */
  listMessages(query: ListQuery): Promise<ListedMessage[]>;
  close(): void;
}

/** Message ids asked for in one list request: the URL stays a few KB. */
export const LIST_IDS_PER_REQUEST = 100;
const MAX_LIST_PAGES = 20;

export interface GatewayOptions {
  /** Where mock mode shows the requests it did not send. */
  showMock?: (title: string, prettyJson: string) => void;
}

export function createSolapiGateway(config: SolapiConfig, options: GatewayOptions = {}): SolapiGateway {
  const print = options.showMock ?? ((title, prettyJson) => process.stderr.write(`── ${title}\n${maskPhone(prettyJson)}\n`));
  const show = config.mockShowText === false ? (title: string, prettyJson: string) => print(title, redactMockRequest(prettyJson)) : print;
  // In mock mode a per-gateway key keeps two mock gateways in one process from sharing a route.
  const apiKey = config.mode === "mock" ? `${config.apiKey}-${randomUUID()}` : config.apiKey;
  const windows = new SendWindows();
  const unroute = routeSolapiRequests(apiKey, {
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    handler: config.mode === "mock" ? createMockSolapiHandler({ show }) : undefined,
    startBy: (body) => windows.startByFor(body),
  });
  const sdk = new SolapiMessageService(apiKey, config.apiSecret);

  async function sendRequest(messages: readonly OutgoingMessage[]): Promise<Map<string, DeliveryResult>> {
    try {
      const response = await sdk.send(
        messages.map((item) => item.message),
        // Two jobs for one parent (two children) are two messages, not a duplicate (status 1026).
        { allowDuplicates: true, showMessageList: true },
      );
      return readResponse(messages, response.groupInfo.groupId, response.failedMessageList, response.messageList ?? []);
    } catch (error) {
      if (error instanceof MessageNotReceivedError) return readResponse(messages, "", error.failedMessageList, []);
      return failedResults(messages, classifySolapiError(error));
    }
  }

  /**
   * Solapi's message list, page by page, until `visit` says stop or the last page: true then; false
   * when `maxPages` ran out first. Errors are classified.
   */
  async function walkList(request: GetMessagesRequest, maxPages: number, visit: (page: GetMessagesResponse) => boolean): Promise<boolean> {
    let startKey: string | undefined;
    for (let page = 0; page < maxPages; page += 1) {
      const response = await sdk.getMessages({ ...request, ...(startKey ? { startKey } : {}) }).catch((error: unknown) => {
        throw classifySolapiError(error);
      });
      if (visit(response) || !response.nextKey || response.nextKey === startKey) return true;
      startKey = response.nextKey;
    }
    return false;
  }

  return {
    mode: config.mode,

    async send(messages, options = {}) {
      if (messages.length === 0) return new Map();
      const close = windows.open(messages, options.startBy);
      try {
        const results = await sendRequest(messages);
        const first = results.values().next().value;
        const rejectedWhole = first?.status === "failed" && first.error.kind === "permanent" && !first.error.ambiguous;
        if (!rejectedWhole || messages.length === 1) return results;
        // Nothing of a rejected request was taken: send each alone so one bad message cannot fail its neighbours.
        const alone = await Promise.all(messages.map((message) => sendRequest([message])));
        return new Map(alone.flatMap((result) => [...result]));
      } finally {
        close();
      }
    },

    async findSent({ to, jobKey, tenantId, since }) {
      let found: StoredMessage | undefined;
      const complete = await walkList({ to, startDate: since, limit: 100 }, 10, (page) => {
        found = Object.values(page.messageList).find((message) => carriesJob(message.customFields, { jobKey, tenantId }));
        return found !== undefined;
      });
      if (found) {
        return {
          groupId: found.groupId ?? "",
          messageId: found.messageId ?? "",
          type: found.type ?? "",
          statusCode: found.statusCode ?? "",
        };
      }
      if (complete) return undefined;
      throw new SolapiRequestError("transient", "lookup_too_long", `too many messages to ${maskPhone(to)} to search for job ${jobKey}`);
    },

    async listMessages(query) {
      const byIds = "messageIds" in query;
      if (byIds && (query.messageIds.length === 0 || query.messageIds.length > LIST_IDS_PER_REQUEST)) {
        throw new SolapiRequestError(
          "permanent",
          "BadRequest",
          `list messages by 1 to ${LIST_IDS_PER_REQUEST} ids, not ${query.messageIds.length}`,
        );
      }
      // By ids, one page holds them all; a group is paged.
      const filter = byIds
        ? { messageIds: [...query.messageIds], limit: query.messageIds.length }
        : { groupId: query.groupId, limit: LIST_IDS_PER_REQUEST };
      const listed: ListedMessage[] = [];
      const complete = await walkList(filter, MAX_LIST_PAGES, (page) => {
        for (const [id, entry] of Object.entries(page.messageList)) {
          listed.push({
            messageId: entry.messageId ?? id,
            groupId: entry.groupId,
            customFields: entry.customFields ?? undefined,
            type: entry.type ?? undefined,
            statusCode: entry.statusCode ?? undefined,
            replacement: entry.replacement === true,
          });
        }
        return false;
      });
      if (complete) return listed;
      throw new SolapiRequestError("transient", "lookup_too_long", `more than ${MAX_LIST_PAGES} pages of messages to list`);
    },

    close: unroute,
  };
}

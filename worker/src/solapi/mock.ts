import type { SolapiHandler, SolapiHttpRequest } from "./transport";

/**
 * Mock mode (SOLAPI_MOCK=true or DEBUG=true): the real SDK builds and signs the request, then this
 * handler answers in-process instead of Solapi, so what is shown is exactly what would be sent.
 *
 * So that the fallback path can be seen without Solapi, an AlimTalk whose template id starts with
 * MOCK_REFUSED_TEMPLATE_PREFIX is refused the way Solapi refuses an unapproved template.
 */
export const MOCK_REFUSED_TEMPLATE_PREFIX = "MOCK-REFUSED";
const REFUSED_STATUS = { statusCode: "1042", statusMessage: "(mock) 알림톡 템플릿이 검수되지 않았습니다" };
const ACCEPTED_STATUS = { statusCode: "2000", statusMessage: "(mock) 정상 접수" };

interface MockMessage {
  to?: string;
  from?: string;
  type?: string;
  kakaoOptions?: { templateId?: string };
  customFields?: Record<string, string>;
}

export interface MockSolapiOptions {
  /** Receives the pretty JSON of every request that would have been sent. */
  show: (title: string, prettyJson: string) => void;
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
}

function mockId(prefix: string, sequence: number): string {
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  return `${prefix}4V${stamp}MOCK${String(sequence).padStart(6, "0")}`;
}

export function createMockSolapiHandler(options: MockSolapiOptions): SolapiHandler {
  let sequence = 0;

  function answerSend(request: SolapiHttpRequest): Response {
    const payload = JSON.parse(request.body ?? "{}") as { messages?: MockMessage[] };
    options.show(`Solapi mock: ${request.method} ${request.path} (not sent)`, JSON.stringify(payload, null, 2));
    const groupId = mockId("G", ++sequence);
    const messages = payload.messages ?? [];
    const entries = messages.map((message) => {
      const refused = message.type === "ATA" && message.kakaoOptions?.templateId?.startsWith(MOCK_REFUSED_TEMPLATE_PREFIX);
      return {
        refused,
        entry: {
          messageId: mockId("M", ++sequence),
          to: message.to ?? "",
          from: message.from ?? "",
          type: message.type ?? "",
          country: "82",
          accountId: "MOCK",
          customFields: message.customFields,
          ...(refused ? REFUSED_STATUS : ACCEPTED_STATUS),
        },
      };
    });
    const failed = entries.filter((item) => item.refused).map((item) => item.entry);
    return json({
      failedMessageList: failed,
      groupInfo: {
        groupId,
        status: "SENDING",
        count: {
          total: messages.length,
          registeredSuccess: messages.length - failed.length,
          registeredFailed: failed.length,
        },
      },
      messageList: entries.filter((item) => !item.refused).map((item) => item.entry),
    });
  }

  return async (request) => {
    if (request.method === "POST" && request.path.startsWith("/messages/v4/send-many")) return answerSend(request);
    if (request.method === "GET" && request.path.startsWith("/messages/v4/list")) {
      // Nothing was ever sent in mock mode, so nothing is found.
      return json({ startKey: null, nextKey: null, limit: 100, messageList: {} });
    }
    return new Response(JSON.stringify({ errorCode: "NotFound", errorMessage: `mock has no ${request.path}` }), { status: 404 });
  };
}

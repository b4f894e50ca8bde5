/**
 * A Solapi-compatible HTTP server for tests, the chaos suite and the benchmark. It speaks the two
 * endpoints the worker uses (POST /messages/v4/send-many/detail, GET /messages/v4/list), checks the
 * SDK's HMAC signature, keeps a ledger of every message it accepted, and misbehaves on request:
 * error statuses, hangs, connections dropped before or after a send was accepted, per-message
 * refusals and latency. Its list answers each accepted message's delivery result (`report`: 4000
 * at once by default), filtered by groupId, messageId(s), to and startDate, a page at a time, and
 * can answer unreadably or leave messages out (`listFault`).
 */
import { createHmac, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface SentMessage {
  to: string;
  from?: string;
  type?: string;
  text?: string;
  subject?: string;
  kakaoOptions?: { pfId?: string; templateId?: string; variables?: Record<string, string>; disableSms?: boolean };
  replacements?: Record<string, unknown>[];
  customFields?: Record<string, string>;
}

export interface AcceptedMessage extends SentMessage {
  messageId: string;
  groupId: string;
  jobKey?: string;
  acceptedAt: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body?: { messages?: SentMessage[]; allowDuplicates?: boolean; showMessageList?: boolean };
  signatureValid: boolean;
}

/** What the server does with one send request. */
export type Behaviour =
  /** Accept; `latencyMs` overrides the server's latency for this request. */
  | { kind: "ok"; latencyMs?: number }
  | { kind: "status"; status: number; errorCode?: string; errorMessage?: string; html?: boolean }
  | { kind: "hang" }
  /** Closes the connection before reading the request: nothing is accepted. */
  | { kind: "drop-before-read" }
  /** Accepts the messages, then closes the connection without answering: the answer is lost. */
  | { kind: "drop-after-accept" }
  /** Accepts the messages, then resets the connection (ECONNRESET): the SDK would re-send this by itself. */
  | { kind: "reset-after-accept" }
  /** Answers 200 with a body the SDK cannot read, after accepting. */
  | { kind: "garbage-after-accept" }
  /** Accepts the messages and never answers (a worker killed at that moment leaves them unrecorded). */
  | { kind: "accept-then-hang" };

export interface Refusal {
  statusCode: string;
  statusMessage: string;
}

/** A message's delivery result, as the list will show it. */
export interface DeliveryReport {
  /** The final code: 4000 delivered, 3xxx a carrier or Kakao failure… */
  statusCode: string;
  /** Until this long after acceptance the list shows 3000 (with the carrier). */
  afterMs?: number;
  /** The AlimTalk was replaced by Solapi's substitute of this type: `replacement: true`, and this `type`. */
  substitute?: "SMS" | "LMS";
}

/**
 * How the list misbehaves: `unreadable` answers 200 with a body the SDK rejects; `omit` leaves every
 * message out; `no-status` lists them without a status code; `hang` never answers.
 */
export type ListFault = "unreadable" | "omit" | "no-status" | "hang";

export interface FakeSolapiOptions {
  latencyMs?: number;
  /** Refuses single messages at registration (partial failures land in failedMessageList). */
  refuse?: (message: SentMessage) => Refusal | undefined;
  /** Each accepted message's delivery result; default 4000 at once. */
  report?: (message: AcceptedMessage) => DeliveryReport;
}

const JOB_KEY_FIELD = "jobKey";

/** AlimTalk templates whose id starts with this are refused like an unapproved template. */
export const UNAPPROVED_TEMPLATE_PREFIX = "UNAPPROVED";

export function defaultRefusal(message: SentMessage): Refusal | undefined {
  if (message.type === "ATA" && message.kakaoOptions?.templateId?.startsWith(UNAPPROVED_TEMPLATE_PREFIX)) {
    return { statusCode: "1042", statusMessage: "템플릿이 승인되지 않았습니다" };
  }
  return undefined;
}

export class FakeSolapi {
  readonly apiKey = `NCSTEST${randomUUID().replace(/-/g, "").slice(0, 12).toUpperCase()}`;
  readonly apiSecret = `secret-${randomUUID()}`;
  readonly accepted: AcceptedMessage[] = [];
  readonly requests: RecordedRequest[] = [];
  latencyMs: number;
  /** When set, GET /messages/v4/list answers with this HTTP status (the look-up of earlier sends fails). */
  listStatus?: number;
  listFault?: ListFault;
  refuse: (message: SentMessage) => Refusal | undefined;
  /** A request carrying a message this picks out behaves as it says, whatever the script: one job that breaks its group. */
  breaksRequest?: (message: SentMessage) => Behaviour | undefined;
  report: (message: AcceptedMessage) => DeliveryReport;
  private script: Behaviour[] = [];
  private fallback: Behaviour | (() => Behaviour) = { kind: "ok" };
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private sequence = 0;
  private messagesInFlight = 0;
  /** The most messages this server held unanswered at one moment. */
  maxMessagesInFlight = 0;
  url = "";

  constructor(options: FakeSolapiOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.refuse = options.refuse ?? defaultRefusal;
    this.report = options.report ?? (() => ({ statusCode: "4000" }));
    this.server = createServer((request, response) => void this.route(request, response));
    this.server.keepAliveTimeout = 60_000;
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next send requests behave like these, in order; later ones behave like `always`. */
  next(...behaviours: Behaviour[]): void {
    this.script.push(...behaviours);
  }

  /** Every later send request behaves like this; a function chooses per request (chaos). */
  always(behaviour: Behaviour | (() => Behaviour)): void {
    this.fallback = behaviour;
  }

  get sendRequests(): RecordedRequest[] {
    return this.requests.filter((request) => request.path.startsWith("/messages/v4/send-many"));
  }

  get listRequests(): RecordedRequest[] {
    return this.requests.filter((request) => request.path.startsWith("/messages/v4/list"));
  }

  acceptedFor(jobKey: string): AcceptedMessage[] {
    return this.accepted.filter((message) => message.jobKey === jobKey);
  }

  private id(prefix: string): string {
    this.sequence += 1;
    return `${prefix}4V${Date.now()}FAKE${String(this.sequence).padStart(8, "0")}`;
  }

  private signatureValid(header: string | undefined): boolean {
    const fields = Object.fromEntries(
      (header ?? "")
        .replace(/^HMAC-SHA256\s+/, "")
        .split(/,\s*/)
        .map((pair) => pair.split("=") as [string, string]),
    );
    if (fields.apiKey !== this.apiKey || !fields.date || !fields.salt) return false;
    const expected = createHmac("sha256", this.apiSecret)
      .update(fields.date + fields.salt)
      .digest("hex");
    return expected === fields.signature;
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = request.url ?? "/";
    const signatureValid = this.signatureValid(request.headers.authorization);
    if (request.method === "POST" && path.startsWith("/messages/v4/send-many")) {
      const behaviour = this.script.shift() ?? (typeof this.fallback === "function" ? this.fallback() : this.fallback);
      if (behaviour.kind === "drop-before-read") {
        this.requests.push({ method: "POST", path, signatureValid });
        request.socket.destroy();
        return;
      }
      const raw = await readBody(request);
      const body = JSON.parse(raw || "{}") as RecordedRequest["body"];
      this.requests.push({ method: "POST", path, body, signatureValid });
      const broken = body?.messages?.map((message) => this.breaksRequest?.(message)).find(Boolean);
      if (!signatureValid) return json(response, 401, { errorCode: "SignatureDoesNotMatch", errorMessage: "bad signature" });
      const count = body?.messages?.length ?? 0;
      this.messagesInFlight += count;
      this.maxMessagesInFlight = Math.max(this.maxMessagesInFlight, this.messagesInFlight);
      try {
        await this.answerSend(broken ?? behaviour, body?.messages ?? [], response);
      } finally {
        this.messagesInFlight -= count;
      }
      return;
    }
    this.requests.push({ method: request.method ?? "GET", path, signatureValid });
    if (!signatureValid) return json(response, 401, { errorCode: "SignatureDoesNotMatch", errorMessage: "bad signature" });
    if (request.method === "GET" && path.startsWith("/messages/v4/list")) {
      if (this.listStatus) return json(response, this.listStatus, { errorCode: "FakeListFailure", errorMessage: "list unavailable" });
      if (this.listFault === "hang") return;
      if (this.listFault === "unreadable") return json(response, 200, { messageList: [{ statusCode: 4000 }] });
      return this.answerList(new URL(path, this.url), response);
    }
    json(response, 404, { errorCode: "NotFound", errorMessage: path });
  }

  private async answerSend(behaviour: Behaviour, messages: SentMessage[], response: ServerResponse): Promise<void> {
    if (behaviour.kind === "hang") return;
    const latency = behaviour.kind === "ok" && behaviour.latencyMs !== undefined ? behaviour.latencyMs : this.latencyMs;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    if (behaviour.kind === "status") {
      if (behaviour.html) {
        response.writeHead(behaviour.status, { "content-type": "text/html" }).end("<html>bad gateway</html>");
        return;
      }
      return json(response, behaviour.status, {
        errorCode: behaviour.errorCode ?? `Fake${behaviour.status}`,
        errorMessage: behaviour.errorMessage ?? "fake failure",
      });
    }
    const groupId = this.id("G");
    const failed: Record<string, unknown>[] = [];
    const listed: Record<string, unknown>[] = [];
    for (const message of messages) {
      const refusal = this.refuse(message);
      const entry = {
        messageId: this.id("M"),
        to: message.to,
        from: message.from ?? "",
        type: message.type ?? "SMS",
        country: "82",
        accountId: "FAKE",
        customFields: message.customFields,
        statusCode: refusal?.statusCode ?? "2000",
        statusMessage: refusal?.statusMessage ?? "정상 접수(이통사로 접수 예정)",
      };
      if (refusal) {
        failed.push(entry);
        continue;
      }
      listed.push(entry);
      this.accepted.push({
        ...message,
        messageId: entry.messageId,
        groupId,
        jobKey: message.customFields?.[JOB_KEY_FIELD],
        acceptedAt: Date.now(),
      });
    }
    if (behaviour.kind === "drop-after-accept") {
      response.socket?.destroy();
      return;
    }
    if (behaviour.kind === "reset-after-accept") {
      response.socket?.resetAndDestroy();
      return;
    }
    if (behaviour.kind === "accept-then-hang") return;
    if (behaviour.kind === "garbage-after-accept") {
      response.writeHead(200, { "content-type": "application/json" }).end('{"unexpected":true}');
      return;
    }
    json(response, 200, {
      failedMessageList: failed,
      groupInfo: {
        groupId,
        status: "SENDING",
        count: { total: messages.length, registeredSuccess: listed.length, registeredFailed: failed.length },
      },
      messageList: listed,
    });
  }

  /** Where a message stands now, as Solapi's list shows it. */
  private listEntry(message: AcceptedMessage): Record<string, unknown> {
    const report = this.report(message);
    const final = Date.now() - message.acceptedAt >= (report.afterMs ?? 0);
    const replaced = final && report.substitute !== undefined && message.type === "ATA";
    const statusCode = final ? report.statusCode : "3000";
    return {
      messageId: message.messageId,
      groupId: message.groupId,
      to: message.to,
      from: message.from ?? null,
      type: replaced ? report.substitute : (message.type ?? "SMS"),
      status: final ? (statusCode === "4000" ? "COMPLETE" : "FAILED") : "SENDING",
      statusCode: this.listFault === "no-status" ? null : statusCode,
      replacement: replaced,
      customFields: message.customFields ?? null,
      dateCreated: new Date(message.acceptedAt).toISOString(),
    };
  }

  /** Filters as Solapi documents them; pages of `limit` (default 20), continued from `startKey`. */
  private answerList(url: URL, response: ServerResponse): void {
    const query = url.searchParams;
    const ids = new Set([...query.getAll("messageIds"), ...query.getAll("messageId")]);
    const since = query.get("startDate");
    const sinceMs = since ? Date.parse(since) : 0;
    const found = this.accepted.filter(
      (message) =>
        (!query.get("to") || message.to === query.get("to")) &&
        (!query.get("groupId") || message.groupId === query.get("groupId")) &&
        (ids.size === 0 || ids.has(message.messageId)) &&
        message.acceptedAt >= sinceMs - 1000,
    );
    const limit = Math.min(500, Number(query.get("limit") ?? 20) || 20);
    const startKey = query.get("startKey");
    const first = startKey
      ? Math.max(
          0,
          found.findIndex((message) => message.messageId === startKey),
        )
      : 0;
    const page = this.listFault === "omit" ? [] : found.slice(first, first + limit);
    const next = found[first + limit];
    json(response, 200, {
      startKey: startKey ?? null,
      nextKey: this.listFault === "omit" ? null : (next?.messageId ?? null),
      limit,
      messageList: Object.fromEntries(page.map((message) => [message.messageId, this.listEntry(message)])),
    });
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

export async function startFakeSolapi(options: FakeSolapiOptions = {}): Promise<FakeSolapi> {
  return new FakeSolapi(options).start();
}

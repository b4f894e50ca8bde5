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
import { type DeliveryReport, type ListFault, listPage } from "./fake-solapi-list";
import { type AcceptedMessage, defaultRefusal, type Refusal, register, type SentMessage } from "./fake-solapi-messages";

export type { DeliveryReport, ListFault } from "./fake-solapi-list";
export { type AcceptedMessage, type Refusal, type SentMessage, UNAPPROVED_TEMPLATE_PREFIX } from "./fake-solapi-messages";

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

export interface FakeSolapiOptions {
  latencyMs?: number;
  /** Refuses single messages at registration (partial failures land in failedMessageList). */
  refuse?: (message: SentMessage) => Refusal | undefined;
  /** Each accepted message's delivery result; default 4000 at once. */
  report?: (message: AcceptedMessage) => DeliveryReport;
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
      return json(response, 200, listPage(this.accepted, new URL(path, this.url).searchParams, this));
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
    const { failed, listed, accepted } = register(messages, groupId, this.refuse, (prefix) => this.id(prefix));
    this.accepted.push(...accepted);
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

/**
 * Proxies that put faults between the worker and its services, for the chaos suite.
 * - TcpFaultProxy: any TCP service (MySQL): refuse connections for a while, reset them all or some;
 *   `watch` sees what clients send, so that a fault can be timed to a moment of their own traffic.
 * - TcpFaultProxyGroup: one proxy per worker to the same service (the traffic then tells which
 *   worker it came from), faulted together.
 * - SqsFaultProxy: SQS's JSON protocol over HTTP: throttle, fail, drop or refuse by action, and fail
 *   the entries of a DeleteMessageBatch.
 */
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { type AddressInfo, createConnection, createServer, type Server as NetServer, type Socket } from "node:net";

export class TcpFaultProxy {
  private readonly server: NetServer;
  private readonly pairs = new Set<[Socket, Socket]>();
  down = false;
  port = 0;
  /** Sees every chunk a client sends, after it is passed on; `connection` tells the clients apart. */
  watch?: (chunk: Buffer, connection: Socket) => void;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => {
      if (this.down) {
        client.resetAndDestroy();
        return;
      }
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const close = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("data", (chunk: Buffer) => this.watch?.(chunk, client));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Resets a fraction of the open connections (mid-query, mid-transaction): returns how many. */
  reset(fraction = 1): number {
    let count = 0;
    for (const pair of [...this.pairs]) {
      if (Math.random() >= fraction) continue;
      pair[0].resetAndDestroy();
      pair[1].destroy();
      this.pairs.delete(pair);
      count += 1;
    }
    return count;
  }

  async close(): Promise<void> {
    this.reset(1);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export class TcpFaultProxyGroup {
  constructor(readonly proxies: readonly TcpFaultProxy[]) {}

  get down(): boolean {
    return this.proxies.some((proxy) => proxy.down);
  }

  set down(down: boolean) {
    for (const proxy of this.proxies) proxy.down = down;
  }

  /** Resets a fraction of every proxy's open connections: returns how many. */
  reset(fraction = 1): number {
    return this.proxies.reduce((count, proxy) => count + proxy.reset(fraction), 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.proxies.map((proxy) => proxy.close()));
  }
}

export type SqsFault = "pass" | "throttle" | "error" | "drop" | "fail-entries";

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request
      .on("data", (chunk: Buffer) => chunks.push(chunk))
      .on("end", () => resolve(Buffer.concat(chunks)))
      .on("error", reject);
  });
}

export class SqsFaultProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Decides the fault for each request by its action (`ReceiveMessage`, `DeleteMessageBatch`, …). */
  fault: (action: string) => SqsFault = () => "pass";
  /** Refuses every connection while true: the endpoint is down. */
  down = false;
  readonly injected: Record<string, number> = {};
  port = 0;

  constructor(private readonly target: URL) {
    this.server = createHttpServer((request, response) => void this.handle(request, response));
    this.server.on("connection", (socket) => {
      if (this.down) {
        socket.resetAndDestroy();
        return;
      }
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Takes the endpoint down (open connections reset) or brings it back. */
  setDown(down: boolean): void {
    this.down = down;
    if (down) for (const socket of this.sockets) socket.resetAndDestroy();
  }

  private count(fault: string): void {
    this.injected[fault] = (this.injected[fault] ?? 0) + 1;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const action = String(request.headers["x-amz-target"] ?? "").replace("AmazonSQS.", "");
    const fault = this.down ? "drop" : this.fault(action);
    if (fault !== "pass") this.count(`${action}:${fault}`);
    if (fault === "drop") {
      request.socket.resetAndDestroy();
      return;
    }
    if (fault === "throttle" || fault === "error") {
      const status = fault === "throttle" ? 400 : 500;
      const type = fault === "throttle" ? "ThrottlingException" : "InternalError";
      response
        .writeHead(status, {
          "content-type": "application/x-amz-json-1.0",
          "x-amzn-query-error": `${type};${fault === "throttle" ? "Sender" : "Receiver"}`,
        })
        .end(JSON.stringify({ __type: `com.amazonaws.sqs#${type}`, message: `injected ${fault}` }));
      return;
    }
    if (fault === "fail-entries") {
      // Every entry fails without reaching SQS, the way a partial batch failure leaves them undone.
      const entries = (JSON.parse(body.toString("utf8") || "{}") as { Entries?: { Id: string }[] }).Entries ?? [];
      const failed = entries.map((entry) => ({ Id: entry.Id, Code: "InternalError", SenderFault: false, Message: "injected" }));
      response.writeHead(200, { "content-type": "application/x-amz-json-1.0" }).end(JSON.stringify({ Successful: [], Failed: failed }));
      return;
    }
    const upstream = httpRequest(
      { host: this.target.hostname, port: this.target.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on("error", () => request.socket.destroy());
    upstream.end(body);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

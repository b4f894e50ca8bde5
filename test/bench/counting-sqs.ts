/**
 * The SQS emulator behind a counter: every request by action, the moment the first messages went
 * out, and the moment the last of N jobs was deleted, for the benchmark.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequestHandler } from "local-aws-sqs";

export class CountingSqs {
  private server!: Server;
  requests: Record<string, number> = {};
  deleted = 0;
  firstReceiveAt = 0;
  firstMessagesAt = 0;
  lastDeleteAt = 0;
  endpoint = "";

  async start(): Promise<this> {
    let handle: ((request: IncomingMessage, response: never) => Promise<void>) | undefined;
    this.server = createServer((request, response) => {
      const action = String(request.headers["x-amz-target"] ?? "").replace("AmazonSQS.", "");
      this.requests[action] = (this.requests[action] ?? 0) + 1;
      if (action === "ReceiveMessage") this.firstReceiveAt ||= Date.now();
      if (action === "DeleteMessageBatch" || action === "DeleteMessage" || action === "ReceiveMessage") {
        this.observe(action, request, response);
      }
      void handle!(request, response as never);
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const port = (this.server.address() as AddressInfo).port;
    handle = createRequestHandler({ port, hostname: "127.0.0.1", region: "ap-northeast-2", emulateQueueCreationLifecycle: false })
      .requestHandler as never;
    this.endpoint = `http://127.0.0.1:${port}`;
    return this;
  }

  /** Reads deletes from the request and receives from the response, without disturbing either. */
  private observe(action: string, request: IncomingMessage, response: import("node:http").ServerResponse): void {
    if (action !== "ReceiveMessage") {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("finish", () => {
        const entries =
          action === "DeleteMessage"
            ? 1
            : ((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { Entries?: unknown[] }).Entries?.length ?? 0);
        this.deleted += entries;
        this.lastDeleteAt = Date.now();
      });
      return;
    }
    const write = response.end.bind(response);
    response.end = ((body?: unknown, ...rest: unknown[]) => {
      if (!this.firstMessagesAt && typeof body === "string" && body.includes('"Messages":[{')) this.firstMessagesAt = Date.now();
      return write(body as never, ...(rest as []));
    }) as typeof response.end;
  }

  reset(): void {
    this.requests = {};
    this.deleted = 0;
    this.firstReceiveAt = 0;
    this.firstMessagesAt = 0;
    this.lastDeleteAt = 0;
  }

  get total(): number {
    return Object.values(this.requests).reduce((sum, count) => sum + count, 0);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

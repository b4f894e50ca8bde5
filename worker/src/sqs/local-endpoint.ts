/**
 * An SQS-compatible endpoint served by this process: the `local-aws-sqs` emulator (SQS's JSON and
 * Query protocols, visibility, redrive) on a port of its own, with the job queue and its DLQ.
 *
 * Two uses: mock mode with nothing pointing at a real SQS (docs/contract.md §3 MESSAGING_LOCAL_SQS_PORT),
 * where it listens on every interface so that producers outside the process — a container's host,
 * the Django side, `npm run stress -- --endpoint` — can enqueue; and the demo and stress commands,
 * which keep it to 127.0.0.1 on a free port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createRequestHandler } from "local-aws-sqs";
import type { SqsConfig } from "../config";
import type { Logger } from "../log";
import { type CreatedQueues, createQueues } from "./admin";

export interface LocalSqsOptions {
  /** 0: any free port. */
  port: number;
  /** Where to listen: "0.0.0.0" to be reachable from outside, "127.0.0.1" for this process alone. */
  host: string;
  region: string;
  queueName: string;
  dlqName: string;
  /** The queue's ReceiveMessageWaitTimeSeconds; default docs/contract.md §5's 20. */
  waitSeconds?: number;
}

export interface LocalSqs {
  /** What producers set as their endpoint (`endpoint_url`, `--endpoint-url`). */
  endpoint: string;
  port: number;
  /** A client of this endpoint, for the worker in this process. */
  sqs: SQSClient;
  queues: CreatedQueues;
  close(): Promise<void>;
}

export class LocalSqsPortError extends Error {
  constructor(host: string, port: number, cause: NodeJS.ErrnoException) {
    const why = cause.code === "EADDRINUSE" ? "is in use" : `cannot be opened (${cause.code ?? cause.message})`;
    super(
      `the local SQS endpoint's port ${host}:${port} ${why}: set MESSAGING_LOCAL_SQS_PORT to another port, ` +
        "or point the worker at a queue (AWS_ENDPOINT_URL_SQS or MESSAGING_SQS_QUEUE_URL)",
    );
    this.name = "LocalSqsPortError";
  }
}

/**
 * The emulator's handler, kept from taking the process down: it throws on some malformed requests
 * (a JSON body without X-Amz-Target), and a stray request must not stop the worker.
 */
function guarded(handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>) {
  return (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      response.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
      response.end(
        JSON.stringify({ __type: "com.amazonaws.sqs#InvalidRequest", message: `malformed request: ${(error as Error).message}` }),
      );
    });
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(new LocalSqsPortError(host, port, error));
    server.once("error", failed);
    server.listen(port, host, () => {
      server.off("error", failed);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts the emulator and creates the queue and its DLQ with docs/contract.md §5's attributes. */
export async function startLocalSqs(options: LocalSqsOptions): Promise<LocalSqs> {
  // Queue URLs name the host a producer dials; "0.0.0.0" is where to listen, not where to connect.
  const advertisedHost = options.host === "0.0.0.0" ? "localhost" : options.host;
  const { service, requestHandler } = createRequestHandler({
    port: options.port,
    hostname: advertisedHost,
    region: options.region,
    emulateQueueCreationLifecycle: false,
  });
  const server = createServer(guarded(requestHandler));
  const port = await listen(server, options.port, options.host);
  service.PORT = port;
  const sqs = new SQSClient({
    region: options.region,
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const close = async () => {
    sqs.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    const queues = await createQueues(sqs, { queueName: options.queueName, dlqName: options.dlqName, waitSeconds: options.waitSeconds });
    return { endpoint: `http://${advertisedHost}:${port}`, port, sqs, queues, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** How a producer outside this process enqueues a job here: printed when the worker starts on it. */
export function howToEnqueue(local: Pick<LocalSqs, "endpoint" | "queues">, region: string, queueName: string): string {
  const { endpoint, queues } = local;
  return [
    `── Local SQS endpoint: ${endpoint} (mock mode, no AWS account; jobs are lost when the worker stops)`,
    `   queue ${queues.queueUrl}  DLQ ${queues.deadLetterQueueUrl}`,
    "",
    "   AWS CLI (any credentials are accepted):",
    `     AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --endpoint-url ${endpoint} --region ${region} \\`,
    `       sqs send-message --queue-url ${queues.queueUrl} --message-group-id 1 \\`,
    `       --message-body '{"tenant_id": 1, "to": "010-1234-5678", "text": "[local] hello", "sender": null}'`,
    "",
    "   Python / Django (boto3): the same client with one setting changed, endpoint_url",
    `     sqs = boto3.client("sqs", region_name="${region}", endpoint_url="${endpoint}",`,
    `                        aws_access_key_id="local", aws_secret_access_key="local")`,
    `     url = sqs.get_queue_url(QueueName="${queueName}")["QueueUrl"]`,
    `     sqs.send_message(QueueUrl=url, MessageBody=json.dumps(job), MessageGroupId=str(job["tenant_id"]))`,
    `   or, with no code change, AWS_ENDPOINT_URL_SQS=${endpoint} in the producer's environment.`,
    "",
    `   Node: npm run stress -- --endpoint ${endpoint} --count 100`,
    "",
  ].join("\n");
}

/**
 * The worker's own queue in mock mode with no SQS configured: listens on 0.0.0.0 so that a
 * container's published port reaches it, and says first thing how to enqueue.
 */
export async function serveLocalQueue(
  config: Pick<SqsConfig, "region" | "queueName" | "dlqName">,
  port: number,
  log: Logger,
): Promise<LocalSqs> {
  const local = await startLocalSqs({ port, host: "0.0.0.0", region: config.region, queueName: config.queueName, dlqName: config.dlqName });
  log.info("local SQS endpoint ready: mock mode and no SQS configured, so the worker serves its own queue", {
    endpoint: local.endpoint,
    listening: `0.0.0.0:${local.port}`,
    queue_url: local.queues.queueUrl,
    dlq_url: local.queues.deadLetterQueueUrl,
    enqueue: `any SQS client with endpoint ${local.endpoint} and any credentials; examples on stderr`,
  });
  process.stderr.write(howToEnqueue(local, config.region, config.queueName));
  return local;
}

/**
 * Real SQS semantics for tests: LocalStack through testcontainers where a container runtime answers,
 * otherwise the in-process `local-aws-sqs` emulator. Each test gets queues of its own.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import {
  DeleteMessageCommand,
  type Message,
  type QueueAttributeName,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { createSqsServer } from "local-aws-sqs";
import { type CreatedQueues, createQueues } from "../../worker/src/sqs/admin";
import { hasContainerRuntime } from "./containers";
import { type FakeSolapi, startFakeSolapi } from "./fake-solapi";

export interface TestQueues extends CreatedQueues {
  queueName: string;
  dlqName: string;
}

export interface TestSqs {
  kind: "localstack" | "emulator";
  endpoint: string;
  client: SQSClient;
  createQueues(options?: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number }): Promise<TestQueues>;
  close(): Promise<void>;
}

function clientFor(endpoint: string): SQSClient {
  return new SQSClient({ region: "ap-northeast-2", endpoint, credentials: { accessKeyId: "test", secretAccessKey: "test" } });
}

function withQueues(kind: TestSqs["kind"], endpoint: string, close: () => Promise<void>): TestSqs {
  const client = clientFor(endpoint);
  return {
    kind,
    endpoint,
    client,
    async createQueues(options = {}) {
      const queueName = `jobs-${randomUUID().slice(0, 8)}`;
      const dlqName = `${queueName}-dlq`;
      const created = await createQueues(client, { queueName, dlqName, waitSeconds: 1, ...options });
      return { ...created, queueName, dlqName };
    },
    async close() {
      client.destroy();
      await close();
    },
  };
}

async function startEmulator(): Promise<TestSqs> {
  const server = await createSqsServer({ port: 0, hostname: "127.0.0.1", region: "ap-northeast-2", emulateQueueCreationLifecycle: false });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return withQueues("emulator", endpoint, async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

async function startLocalstack(): Promise<TestSqs> {
  const { LocalstackContainer } = await import("@testcontainers/localstack");
  const container = await new LocalstackContainer("localstack/localstack:3").start();
  return withQueues("localstack", container.getConnectionUri(), async () => {
    await container.stop();
  });
}

export async function startTestSqs(): Promise<TestSqs> {
  return (await hasContainerRuntime()) ? startLocalstack() : startEmulator();
}

const SYSTEM = ["ApproximateReceiveCount", "SentTimestamp"];

/** Receives what is visible now (short waits; the emulator holds longer polls for 10 messages). */
export async function receiveAll(client: SQSClient, queueUrl: string, waitSeconds = 1): Promise<Message[]> {
  const { Messages } = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: waitSeconds,
      VisibilityTimeout: 30,
      AttributeNames: SYSTEM as QueueAttributeName[],
      MessageSystemAttributeNames: SYSTEM as never,
      MessageAttributeNames: ["All"],
    }),
  );
  return Messages ?? [];
}

export async function deleteMessage(client: SQSClient, queueUrl: string, message: Message): Promise<void> {
  await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
}

export async function sendBody(client: SQSClient, queueUrl: string, body: unknown): Promise<string> {
  const { MessageId } = await client.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: typeof body === "string" ? body : JSON.stringify(body) }),
  );
  return MessageId!;
}

export async function sendBodies(client: SQSClient, queueUrl: string, bodies: unknown[]): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < bodies.length; start += 10) {
    const entries = bodies.slice(start, start + 10).map((body, index) => ({ Id: String(index), MessageBody: JSON.stringify(body) }));
    const { Successful, Failed } = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if (Failed?.length) throw new Error(`send failed: ${Failed[0]!.Message}`);
    ids.push(...(Successful ?? []).map((entry) => entry.MessageId!));
  }
  return ids;
}

export interface QueueServices {
  sqs: TestSqs;
  fake: FakeSolapi;
  queues: TestQueues;
}

/**
 * Mocha hooks for a suite on SQS and the fake Solapi: one SQS for the suite, a fresh fake and fresh
 * queues for each test, handed to `use` before every test.
 */
export function useQueueServices(use: (services: QueueServices) => void): void {
  let sqs: TestSqs | undefined;
  let fake: FakeSolapi | undefined;
  before(async () => {
    sqs = await startTestSqs();
  });
  after(async () => {
    await sqs?.close();
  });
  beforeEach(async () => {
    const started = await startFakeSolapi();
    fake = started;
    use({ sqs: sqs!, fake: started, queues: await sqs!.createQueues() });
  });
  afterEach(async () => {
    await fake?.close();
  });
}

import type { AddressInfo } from "node:net";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createSqsServer } from "local-aws-sqs";
import { createQueues, type CreatedQueues } from "../sqs/admin";

export interface EmbeddedSqs {
  endpoint: string;
  sqs: SQSClient;
  queues: CreatedQueues;
  close(): Promise<void>;
}

/**
 * An in-process SQS (the `local-aws-sqs` emulator) with the job queue and its DLQ, for commands that
 * must run with no AWS account: the demo and the stress test.
 */
export async function startEmbeddedSqs(names: { queueName: string; dlqName: string }, waitSeconds = 1): Promise<EmbeddedSqs> {
  const server = await createSqsServer({ port: 0, hostname: "127.0.0.1", region: "ap-northeast-2" });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sqs = new SQSClient({ region: "ap-northeast-2", endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  // Short waits: the emulator holds a long poll for the full wait unless 10 messages arrive (sqs.md A.1 7c).
  const queues = await createQueues(sqs, { ...names, waitSeconds });
  return {
    endpoint,
    sqs,
    queues,
    async close() {
      sqs.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

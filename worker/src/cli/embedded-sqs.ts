import { type LocalSqs, startLocalSqs } from "../sqs/local-endpoint";

export type EmbeddedSqs = LocalSqs;

/**
 * An in-process SQS with the job queue and its DLQ on a free port of 127.0.0.1, for commands that
 * must run with no AWS account: the demo and the stress test.
 */
export function startEmbeddedSqs(names: { queueName: string; dlqName: string }, waitSeconds = 1): Promise<EmbeddedSqs> {
  // Short waits: the emulator holds a long poll for the full wait unless 10 messages arrive.
  return startLocalSqs({ port: 0, host: "127.0.0.1", region: "ap-northeast-2", ...names, waitSeconds });
}

import type { SQSClient } from "@aws-sdk/client-sqs";
import { loadConfig } from "../../worker/src/config";
import type { JobReport } from "../../worker/src/consumer/consumer";
import { type RunningWorker, startWorker } from "../../worker/src/worker";
import { capturingLogger, workerEnv } from "./config";
import type { FakeSolapi } from "./fake-solapi";
import type { TestQueues, TestSqs } from "./sqs";

export interface TestWorker {
  worker: RunningWorker;
  reports: JobReport[];
  logLines: () => Record<string, unknown>[];
  /** Resolves when `count` reports match, or rejects after `timeoutMs`. */
  waitForReports(count: number, match?: (report: JobReport) => boolean, timeoutMs?: number): Promise<JobReport[]>;
  stop(): Promise<void>;
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The real worker, in this process, against the fake Solapi and the test SQS. */
export async function startTestWorker(
  fake: FakeSolapi,
  sqs: TestSqs,
  queues: TestQueues,
  env: Record<string, string> = {},
  sqsClient?: SQSClient,
): Promise<TestWorker> {
  const config = loadConfig(workerEnv(fake, sqs.endpoint, queues.queueUrl, env));
  const { log, lines } = capturingLogger(config.secrets);
  const worker = await startWorker(config, log, { sqs: sqsClient ?? sqs.client });
  const reports: JobReport[] = [];
  worker.consumer.on("job", (report) => reports.push(report));
  return {
    worker,
    reports,
    logLines: lines,
    async waitForReports(count, match = () => true, timeoutMs = 20_000) {
      await waitFor(() => reports.filter(match).length >= count, timeoutMs, `${count} job reports`);
      return reports.filter(match);
    },
    stop: () => worker.stop(),
  };
}

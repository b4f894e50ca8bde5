/**
 * The Python producer (academy-backend, apps/support/messaging/sqs_queue.py) as the compatibility
 * suites see it: the bodies it writes, enqueued as it enqueues them, delivered by the real worker
 * (SQS emulator, real solapi SDK against the fake Solapi), and the Solapi messages each became.
 */
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { JobReport } from "../../worker/src/consumer/consumer";
import type { FakeSolapi, SentMessage } from "./fake-solapi";
import { sendBody, type TestQueues, type TestSqs, useQueueServices } from "./sqs";
import { startTestWorker, type TestWorker } from "./worker";

/** `timezone.now().isoformat()`: microseconds and +00:00. */
export const CREATED_AT = "2026-11-30T06:12:45.123456+00:00";
export const PARENT = "01012345678";

/** What sqs_queue.py writes for every job (`sender` stripped or None); each case adds its mode's fields. */
export const pythonBody = (fields: Record<string, unknown>) => ({
  tenant_id: 12,
  to: PARENT,
  sender: null,
  created_at: CREATED_AT,
  ...fields,
});

export interface PythonProducerSuite {
  sqs: TestSqs;
  fake: FakeSolapi;
  queues: TestQueues;
  /** The worker `deliver` started, until it is stopped. */
  worker?: TestWorker;
  /** Enqueues each body as the Python producer does (one send_message each); their SQS MessageIds, in order. */
  enqueue(bodies: unknown[], options?: { messageGroupId?: (body: unknown) => string }): Promise<string[]>;
  /** Runs the worker until every one of `keys` has an outcome. */
  deliver(keys: string[]): Promise<Map<string, JobReport>>;
  /** Every Solapi message sent for a job, in the order of the requests that carried them. */
  messagesFor(key: string): SentMessage[];
  stopWorker(): Promise<void>;
}

/** Registers the hooks in the calling `describe`: services for each test, its worker stopped after it. */
export function usePythonProducerSuite(): PythonProducerSuite {
  const suite = {
    async enqueue(bodies: unknown[], options: { messageGroupId?: (body: unknown) => string } = {}) {
      const ids: string[] = [];
      for (const body of bodies) {
        if (!options.messageGroupId) {
          ids.push(await sendBody(suite.sqs.client, suite.queues.queueUrl, body));
          continue;
        }
        const sent = await suite.sqs.client.send(
          new SendMessageCommand({
            QueueUrl: suite.queues.queueUrl,
            MessageBody: JSON.stringify(body),
            MessageGroupId: options.messageGroupId(body),
          }),
        );
        ids.push(sent.MessageId!);
      }
      return ids;
    },
    async deliver(keys: string[]) {
      suite.worker = await startTestWorker(suite.fake, suite.sqs, suite.queues);
      const reports = await suite.worker.waitForReports(keys.length, (report) => keys.includes(report.key));
      return new Map(reports.map((report) => [report.key, report]));
    },
    messagesFor(key: string) {
      return suite.fake.sendRequests.flatMap((request) =>
        (request.body?.messages ?? []).filter((message) => message.customFields?.jobKey === key),
      );
    },
    async stopWorker() {
      await suite.worker?.stop();
      suite.worker = undefined;
    },
  } as PythonProducerSuite;

  useQueueServices((services) => Object.assign(suite, services));
  afterEach(async () => {
    await suite.stopWorker();
  });
  return suite;
}

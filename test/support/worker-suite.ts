/**
 * The common set-up of the suites that run the real worker in this process: an SQS for the suite, a
 * fake Solapi and queues of their own for each test, every worker a test starts stopped after it;
 * with `useWorkerSuite`, also a database for the suite, which every worker is given.
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import { startTestDatabase, type TestDatabase } from "./database";
import { type FakeSolapi, startFakeSolapi } from "./fake-solapi";
import { startTestSqs, type TestQueues, type TestSqs } from "./sqs";
import { startTestWorker, type TestWorker } from "./worker";

export interface ConsumerSuite {
  sqs: TestSqs;
  fake: FakeSolapi;
  /** This test's queues; a test may replace them (other attributes) before starting a worker. */
  queues: TestQueues;
  /** The real worker, in this process, with these extra variables (and another SQS client, for faults). */
  start(env?: Record<string, string>, sqsClient?: SQSClient): Promise<TestWorker>;
}

export interface WorkerSuite extends ConsumerSuite {
  database: TestDatabase;
}

/** Registers the hooks in the calling `describe`; the fields are filled in before each test. */
function useSuite<S extends ConsumerSuite>(suite: S, baseEnv: () => Record<string, string>): S {
  const workers: TestWorker[] = [];
  suite.start = async (env = {}, sqsClient) => {
    const worker = await startTestWorker(suite.fake, suite.sqs, suite.queues, { ...baseEnv(), ...env }, sqsClient);
    workers.push(worker);
    return worker;
  };
  before(async () => {
    suite.sqs = await startTestSqs();
  });
  after(async () => {
    await suite.sqs?.close();
  });
  beforeEach(async () => {
    suite.fake = await startFakeSolapi();
    suite.queues = await suite.sqs.createQueues();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    await suite.fake.close();
  });
  return suite;
}

/** The worker without a database. */
export function useConsumerSuite(): ConsumerSuite {
  return useSuite({} as ConsumerSuite, () => ({}));
}

/** The worker with DATABASE_URL: a database for the suite, migrated. */
export function useWorkerSuite(): WorkerSuite {
  const suite = {} as WorkerSuite;
  before(async function () {
    suite.database = await startTestDatabase(this);
  });
  after(async () => {
    await suite.database?.close();
  });
  return useSuite(suite, () => ({ DATABASE_URL: suite.database.url }));
}

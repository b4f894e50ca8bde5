/**
 * The common set-up of the suites that run the worker with DATABASE_URL: a database and an SQS for
 * the suite, a fake Solapi and queues of their own for each test, every worker stopped after it.
 */
import { startTestDatabase, type TestDatabase } from "./database";
import { type FakeSolapi, startFakeSolapi } from "./fake-solapi";
import { startTestSqs, type TestQueues, type TestSqs } from "./sqs";
import { startTestWorker, type TestWorker } from "./worker";

export interface WorkerSuite {
  database: TestDatabase;
  sqs: TestSqs;
  fake: FakeSolapi;
  /** This test's queues; a test may replace them (other attributes) before starting a worker. */
  queues: TestQueues;
  /** The real worker, in this process, with the suite's database and these extra variables. */
  start(env?: Record<string, string>): Promise<TestWorker>;
}

/** Registers the hooks in the calling `describe`; the fields are filled in before each test. */
export function useWorkerSuite(): WorkerSuite {
  const workers: TestWorker[] = [];
  const suite = {
    async start(env: Record<string, string> = {}) {
      const worker = await startTestWorker(suite.fake, suite.sqs, suite.queues, { DATABASE_URL: suite.database.url, ...env });
      workers.push(worker);
      return worker;
    },
  } as WorkerSuite;

  before(async function () {
    suite.database = await startTestDatabase(this);
    suite.sqs = await startTestSqs();
  });
  after(async () => {
    await suite.sqs?.close();
    await suite.database?.close();
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

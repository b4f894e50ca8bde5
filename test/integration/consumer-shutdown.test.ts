/** A consumer stopping while SQS still answers a receive: the jobs it was handed are released, not sent. */
import { expect } from "chai";
import { Consumer, type JobReport } from "../../worker/src/consumer/consumer";
import { statelessLedger } from "../../worker/src/pipeline/stateless-ledger";
import { createSolapiGateway } from "../../worker/src/solapi/client";
import { resolveQueues } from "../../worker/src/sqs/client";
import { JobQueue, type ReceivedMessage } from "../../worker/src/sqs/queue";
import { capturingLogger, solapiConfigFor } from "../support/config";
import type { FakeSolapi } from "../support/fake-solapi";
import { jobBody } from "../support/jobs";
import { receiveAll, sendBodies, type TestQueues, type TestSqs, useQueueServices } from "../support/sqs";
import { waitFor } from "../support/worker";

describe("consumer shutdown against SQS", function () {
  this.timeout(60_000);
  let sqs: TestSqs;
  let fake: FakeSolapi;
  let queues: TestQueues;

  useQueueServices((services) => ({ sqs, fake, queues } = services));

  it("releases jobs that arrive after shutdown began: visible again at once, nothing sent", async () => {
    await sendBodies(sqs.client, queues.queueUrl, [jobBody("late-1"), jobBody("late-2")]);
    // The race where SQS answers a long poll just as the worker aborts it: the answer still arrives.
    let receiving = false;
    class AnswersDespiteAbort extends JobQueue {
      override async receive(max: number, waitSeconds: number, visibility: number): Promise<ReceivedMessage[]> {
        receiving = true;
        await new Promise((resolve) => setTimeout(resolve, 300));
        return super.receive(max, waitSeconds, visibility, new AbortController().signal);
      }
    }
    const addresses = await resolveQueues(sqs.client, { queueName: queues.queueName, dlqName: queues.dlqName });
    const { log } = capturingLogger();
    const solapi = createSolapiGateway(solapiConfigFor(fake));
    const consumer = new Consumer({
      queue: new AnswersDespiteAbort(sqs.client, addresses),
      solapi,
      ledger: statelessLedger(solapi, { sender: "0212345678" }),
      concurrency: 10,
      waitSeconds: 1,
      visibilityTimeoutSeconds: 30,
      retry: { baseSeconds: 1, maxSeconds: 2 },
      log,
    });
    const reports: JobReport[] = [];
    consumer.on("job", (report) => reports.push(report));
    consumer.start();
    await waitFor(() => receiving, 5_000, "a receive");
    await consumer.stop();
    solapi.close();
    expect(reports.map((report) => report.outcome.kind)).to.deep.equal(["released", "released"]);
    expect(fake.sendRequests).to.have.length(0);
    const again = await receiveAll(sqs.client, queues.queueUrl);
    expect(again.map((message) => JSON.parse(message.Body!).business_idempotency_key).sort()).to.deep.equal(["late-1", "late-2"]);
  });
});

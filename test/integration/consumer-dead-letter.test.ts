/**
 * The DLQ against real SQS semantics: poison messages moved at once with their reason, and jobs
 * that keep failing moved after the last receive.
 */
import { expect } from "chai";
import { jobBody } from "../support/jobs";
import { receiveAll, sendBody } from "../support/sqs";
import { useConsumerSuite } from "../support/worker-suite";

describe("consumer dead letters against SQS", function () {
  this.timeout(60_000);
  const suite = useConsumerSuite();

  it("moves a poison message to the DLQ at once with its reason, and still sends its neighbours", async () => {
    await sendBody(suite.sqs.client, suite.queues.queueUrl, { tenant_id: "seven", to: "12", text: "" });
    await sendBody(suite.sqs.client, suite.queues.queueUrl, "this is not json");
    await sendBody(suite.sqs.client, suite.queues.queueUrl, jobBody("good"));
    const worker = await suite.start();
    const reports = await worker.waitForReports(3);
    expect(reports.filter((report) => report.action.action === "dead-letter")).to.have.length(2);
    expect(suite.fake.accepted.map((message) => message.jobKey)).to.deep.equal(["good"]);
    const dead = await receiveAll(suite.sqs.client, suite.queues.deadLetterQueueUrl);
    const reasons = dead.map((message) => message.MessageAttributes?.error?.StringValue).sort();
    expect(reasons).to.deep.equal([
      "invalid job: body: is not JSON",
      // Numbers are masked in the attribute as in the logs, the parser's example among them.
      "invalid job: tenant_id: must be an integer; to: must be a Korean mobile number (01X, then 7 or 8 digits); text: must not be empty",
    ]);
    expect(dead.map((message) => message.Body)).to.include("this is not json");
    expect(dead.every((message) => Number(message.Attributes?.ApproximateReceiveCount) === 1)).to.equal(true);
    await worker.stop();
    expect(await receiveAll(suite.sqs.client, suite.queues.queueUrl)).to.have.length(0);
  });

  it("deletes a poison message from the job queue once copied: it does not come back after its visibility timeout", async () => {
    await sendBody(suite.sqs.client, suite.queues.queueUrl, "poison, not json");
    // A short visibility timeout: an original left undeleted would be received again within the test.
    const worker = await suite.start({ MESSAGING_VISIBILITY_TIMEOUT: "2" });
    await worker.waitForReports(1, (report) => report.action.action === "dead-letter");
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect(worker.reports.map((report) => report.action.action)).to.deep.equal(["dead-letter"]);
    await worker.stop();
    expect(await receiveAll(suite.sqs.client, suite.queues.queueUrl, 0)).to.have.length(0);
    expect((await receiveAll(suite.sqs.client, suite.queues.deadLetterQueueUrl, 0)).map((message) => message.Body)).to.deep.equal([
      "poison, not json",
    ]);
  });

  it("retries a transient failure with back-off and moves it to the DLQ after 3 receives, with the reason", async () => {
    suite.fake.always({ kind: "status", status: 503 });
    await sendBody(suite.sqs.client, suite.queues.queueUrl, jobBody("flaky"));
    const worker = await suite.start();
    await worker.waitForReports(1, (report) => report.action.action === "dead-letter", 30_000);
    // local-aws-sqs counts a ChangeMessageVisibility as a receive (docs/testing.md), so there the
    // back-off itself moves the count from 1 to 3; real SQS and LocalStack count 1, 2, 3.
    const expected: [number, string][] =
      suite.sqs.kind === "emulator"
        ? [
            [1, "retry-later"],
            [3, "dead-letter"],
          ]
        : [
            [1, "retry-later"],
            [2, "retry-later"],
            [3, "dead-letter"],
          ];
    expect(worker.reports.map((report) => [report.receiveCount, report.action.action])).to.deep.equal(expected);
    const [dead] = await receiveAll(suite.sqs.client, suite.queues.deadLetterQueueUrl);
    expect(dead!.MessageAttributes!.error!.StringValue).to.match(/^gave up after 3 receives: Solapi RequestFailedAfterRetryError/);
    expect(JSON.parse(dead!.Body!)).to.include({ business_idempotency_key: "flaky" });
    expect(suite.fake.accepted).to.have.length(0);
  });
});

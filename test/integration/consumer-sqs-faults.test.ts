/** The consumer when SQS fails: an unreachable receive, batch entries SQS fails for now. */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import { jobBody } from "../support/jobs";
import { sendBodies, sendBody } from "../support/sqs";
import { useConsumerSuite } from "../support/worker-suite";

describe("consumer against SQS faults", function () {
  this.timeout(60_000);
  const suite = useConsumerSuite();

  function faultyClient(fail: (command: string) => "throw" | "fail-entries" | undefined): SQSClient {
    const client = new SQSClient({
      region: "ap-northeast-2",
      endpoint: suite.sqs.endpoint,
      credentials: { accessKeyId: "t", secretAccessKey: "t" },
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const fault = fail(context.commandName ?? "");
        if (fault === "throw") throw Object.assign(new Error("connect ECONNREFUSED (injected)"), { name: "NetworkingError" });
        const result = await next(args);
        if (fault === "fail-entries") {
          const output = result.output as { Successful?: { Id: string }[]; Failed?: unknown[] };
          output.Failed = (output.Successful ?? []).map((entry) => ({
            Id: entry.Id,
            Code: "InternalError",
            SenderFault: false,
            Message: "injected",
          }));
          output.Successful = [];
        }
        return result;
      },
      { step: "initialize", name: "faults" },
    );
    return client;
  }

  it("survives an unreachable SQS without a busy loop, and carries on when it is back", async () => {
    let down = true;
    let receiveAttempts = 0;
    const client = faultyClient((command) => {
      if (command !== ReceiveMessageCommand.name) return undefined;
      receiveAttempts += 1;
      return down ? "throw" : undefined;
    });
    await sendBody(suite.sqs.client, suite.queues.queueUrl, jobBody("after-outage"));
    const worker = await suite.start({}, client);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(receiveAttempts).to.be.within(2, 6);
    expect(worker.logLines().some((line) => line.message === "SQS receive failed; backing off")).to.equal(true);
    down = false;
    await worker.waitForReports(1, undefined, 20_000);
    expect(suite.fake.acceptedFor("after-outage")).to.have.length(1);
    await worker.stop();
    client.destroy();
  });

  it("retries failed DeleteMessageBatch entries until they are deleted: no redelivery, no second send", async () => {
    let deleteCalls = 0;
    const client = faultyClient((command) => {
      if (command !== DeleteMessageBatchCommand.name) return undefined;
      deleteCalls += 1;
      return deleteCalls <= 2 ? "fail-entries" : undefined;
    });
    await sendBodies(suite.sqs.client, suite.queues.queueUrl, [jobBody("d1"), jobBody("d2")]);
    const worker = await suite.start({ MESSAGING_VISIBILITY_TIMEOUT: "3" }, client);
    const reports = await worker.waitForReports(2);
    expect(reports.every((report) => report.acknowledged)).to.equal(true);
    expect(deleteCalls).to.equal(3);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(worker.reports).to.have.length(2);
    expect(suite.fake.accepted).to.have.length(2);
    await worker.stop();
    client.destroy();
  });
});

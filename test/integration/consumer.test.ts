/**
 * The worker in this process against real SQS semantics (LocalStack or the emulator) and the fake
 * Solapi server, through the real SDK: delivery, concurrency, visibility, copies and look-ups.
 * Dead letters, shutdown and SQS faults have files of their own (consumer-*.test.ts).
 */
import { expect } from "chai";
import { UNAPPROVED_TEMPLATE_PREFIX } from "../support/fake-solapi";
import { jobBody } from "../support/jobs";
import { receiveAll, sendBodies, sendBody } from "../support/sqs";
import { useConsumerSuite } from "../support/worker-suite";

describe("consumer against SQS and the fake Solapi", function () {
  this.timeout(60_000);
  const suite = useConsumerSuite();

  it("delivers every mode, records the ids and deletes each job; one Solapi request carries a whole receive", async () => {
    await sendBodies(suite.sqs.client, suite.queues.queueUrl, [
      jobBody("sms"),
      jobBody("lms", { text: "긴 안내 ".repeat(20) }),
      jobBody("alimtalk", { message_mode: "alimtalk", alimtalk_replacements: [{ key: "#{name}", value: "민준" }] }),
      jobBody("both", { message_mode: "both", template_id: `${UNAPPROVED_TEMPLATE_PREFIX}-T` }),
      jobBody("legacy", { use_alimtalk_first: true }),
    ]);
    const worker = await suite.start();
    const reports = await worker.waitForReports(5);
    const sent = Object.fromEntries(reports.map((report) => [report.key, report.outcome]));
    expect(sent.sms).to.include({ kind: "sent", channel: "sms" });
    expect(sent.lms).to.include({ kind: "sent", channel: "lms" });
    expect(sent.alimtalk).to.include({ kind: "sent", channel: "alimtalk" });
    expect(sent.both).to.include({ kind: "sent", channel: "sms", fellBackFrom: "alimtalk" });
    expect(sent.legacy).to.include({ kind: "sent", channel: "alimtalk" });
    for (const report of reports) {
      const accepted = suite.fake.acceptedFor(report.key);
      expect(accepted, report.key).to.have.length(1);
      expect(report.outcome.kind === "sent" && report.outcome.messageId).to.equal(accepted[0]!.messageId);
      expect(report.acknowledged).to.equal(true);
    }
    expect(suite.fake.accepted.find((message) => message.jobKey === "alimtalk")!.kakaoOptions).to.deep.include({
      pfId: "KA01PF-TEST",
      templateId: "KA01TP-TEST",
      variables: { "#{name}": "민준" },
    });
    // At most one request per receive plus one fallback round: never one request per job.
    expect(suite.fake.sendRequests.length).to.be.at.most(3);
    await worker.stop();
    expect(await receiveAll(suite.sqs.client, suite.queues.queueUrl)).to.have.length(0);
  });

  it("keeps MESSAGING_CONCURRENCY jobs in flight, independent of the batch size of 10", async () => {
    suite.fake.latencyMs = 1_500;
    await sendBodies(
      suite.sqs.client,
      suite.queues.queueUrl,
      Array.from({ length: 60 }, (_, index) => jobBody(`c${index}`)),
    );
    const worker = await suite.start({ MESSAGING_CONCURRENCY: "25" });
    await worker.waitForReports(60, undefined, 40_000);
    expect(suite.fake.maxMessagesInFlight).to.be.within(20, 25);
    expect(suite.fake.accepted).to.have.length(60);
  });

  it("extends the visibility of a send slower than the visibility timeout: no second delivery", async () => {
    suite.fake.latencyMs = 5_000;
    await sendBody(suite.sqs.client, suite.queues.queueUrl, jobBody("slow"));
    const worker = await suite.start({ MESSAGING_VISIBILITY_TIMEOUT: "3", SOLAPI_TIMEOUT_MS: "8000" });
    const [report] = await worker.waitForReports(1);
    expect(report!.outcome.kind).to.equal("sent");
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect(worker.reports).to.have.length(1);
    expect(suite.fake.sendRequests).to.have.length(1);
    expect(suite.fake.acceptedFor("slow")).to.have.length(1);
  });

  it("a send whose answer was lost is looked up in Solapi at once: recorded as sent, never sent again", async () => {
    suite.fake.next({ kind: "drop-after-accept" });
    await sendBody(suite.sqs.client, suite.queues.queueUrl, jobBody("lost-answer"));
    const worker = await suite.start();
    const [report] = await worker.waitForReports(1, undefined, 20_000);
    expect(report!.outcome).to.deep.include({
      kind: "sent",
      recovered: true,
      messageId: suite.fake.acceptedFor("lost-answer")[0]!.messageId,
    });
    expect(report!.action).to.deep.equal({ action: "delete" });
    expect(suite.fake.acceptedFor("lost-answer")).to.have.length(1);
    expect(suite.fake.requests.filter((request) => request.path.startsWith("/messages/v4/list"))).to.have.length(1);
  });

  it("a job received again after an uncertain attempt is looked up before it is sent again", async () => {
    // The answer is lost and the immediate look-up fails too: the job comes back, is looked up, found.
    suite.fake.next({ kind: "drop-after-accept" });
    suite.fake.listStatus = 500;
    await sendBody(suite.sqs.client, suite.queues.queueUrl, jobBody("uncertain"));
    const worker = await suite.start();
    const [first] = await worker.waitForReports(1, undefined, 20_000);
    expect(first!.outcome).to.include({ kind: "retry", ambiguous: true });
    suite.fake.listStatus = undefined;
    const [, second] = await worker.waitForReports(2, undefined, 20_000);
    expect(second!.outcome).to.include({ kind: "sent", recovered: true });
    expect(suite.fake.acceptedFor("uncertain")).to.have.length(1);
  });

  it("sends the same job key once when two copies are in flight together", async () => {
    await sendBodies(suite.sqs.client, suite.queues.queueUrl, [jobBody("twice"), jobBody("twice")]);
    const worker = await suite.start();
    await worker.waitForReports(2, (report) => report.outcome.kind === "sent" || report.action.action === "delete", 20_000);
    expect(suite.fake.acceptedFor("twice")).to.have.length(1);
  });

  it("permanent failures are recorded and deleted, not retried", async () => {
    await sendBody(
      suite.sqs.client,
      suite.queues.queueUrl,
      jobBody("no-template", { message_mode: "alimtalk", template_id: `${UNAPPROVED_TEMPLATE_PREFIX}-X` }),
    );
    const worker = await suite.start();
    const [report] = await worker.waitForReports(1);
    expect(report!.outcome).to.deep.include({ kind: "failed" });
    expect(report!.action).to.deep.equal({ action: "delete" });
    const line = worker.logLines().find((entry) => entry.message === "job failed")!;
    expect(line).to.include({ job: "no-template", tenant_id: 1, to: "010****5678" });
    expect(String(line.reason)).to.contain("1042");
  });
});

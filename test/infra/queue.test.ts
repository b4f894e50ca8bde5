/**
 * The job queue and its DLQ (infra/queue.ts) in the default stack, under Pulumi's mocks.
 */
import { expect } from "chai";
import { type Built, build, settingsFor } from "../support/worker-stack";

describe("infrastructure: the job queue and its DLQ", function () {
  this.timeout(30_000);
  let built: Built;
  before(async () => {
    built = await build(settingsFor());
  });

  it("queue: visibility 60 s, long polling 20 s, SSE, redrive to the DLQ after 3 receives", () => {
    const queue = built.mocks.one("aws:sqs/queue:Queue", "messaging-queue").inputs;
    const dlq = built.mocks.one("aws:sqs/queue:Queue", "messaging-dlq").inputs;
    expect(queue).to.include({
      name: "academy-messaging-jobs",
      visibilityTimeoutSeconds: 60,
      receiveWaitTimeSeconds: 20,
      sqsManagedSseEnabled: true,
    });
    expect(JSON.parse(queue.redrivePolicy!)).to.deep.equal({
      deadLetterTargetArn: "arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs-dlq",
      maxReceiveCount: 3,
    });
    expect(dlq).to.include({ name: "academy-messaging-jobs-dlq", messageRetentionSeconds: 1_209_600, sqsManagedSseEnabled: true });
    const allow = JSON.parse(built.mocks.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy").inputs.redriveAllowPolicy);
    expect(allow).to.deep.equal({
      redrivePermission: "byQueue",
      sourceQueueArns: ["arn:aws:sqs:ap-northeast-2:123456789012:academy-messaging-jobs"],
    });
  });
});

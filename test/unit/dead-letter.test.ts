import { expect } from "chai";
import { deadLetterCopy } from "../../worker/src/consumer/acks";
import type { ReceivedMessage } from "../../worker/src/sqs/queue";

describe("DLQ copy", () => {
  it("masks a phone number in the error attribute, in whatever form the reason holds it; the body stays whole for a redrive", () => {
    const body = JSON.stringify({ tenant_id: 1, to: "+82 10-1234-5678", text: "안내" });
    const message: ReceivedMessage = {
      messageId: "m-1",
      receiptHandle: "r-1",
      body,
      receiveCount: 1,
      sentAt: new Date(),
      attributes: {},
      receivedAt: Date.now(),
    };
    const copy = deadLetterCopy(message, "Solapi refused the sms message: 1062 수신번호 +82 10-1234-5678 (010.1234.5678) 수신거부", {
      key: "m-1",
      tenantId: 1,
    });
    expect(copy.attributes.error!.StringValue).to.equal("Solapi refused the sms message: 1062 수신번호 010****5678 (010****5678) 수신거부");
    expect(copy.body).to.equal(body);
  });

  it("carries the job's identity, so that a redriven copy is the same job (docs/contract.md §5)", () => {
    const message: ReceivedMessage = {
      messageId: "m-2",
      receiptHandle: "r-2",
      body: "{}",
      receiveCount: 3,
      sentAt: new Date(),
      attributes: {
        error: { DataType: "String", StringValue: "an older reason" },
        job_key: { DataType: "String", StringValue: "stale" },
        trace: { DataType: "String", StringValue: "kept" },
      },
      receivedAt: Date.now(),
    };
    const copy = deadLetterCopy(message, "gave up after 3 receives", { key: "first-message-id", tenantId: 12 });
    expect(copy.attributes).to.deep.include({
      error: { DataType: "String", StringValue: "gave up after 3 receives" },
      job_key: { DataType: "String", StringValue: "first-message-id" },
      tenant_id: { DataType: "Number", StringValue: "12" },
      trace: { DataType: "String", StringValue: "kept" },
    });
    expect(deadLetterCopy(message, "not a job", { key: "m-2" }).attributes.tenant_id).to.equal(undefined);
  });
});

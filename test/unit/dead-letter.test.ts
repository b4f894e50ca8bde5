import { expect } from "chai";
import { deadLetterCopy } from "../../worker/src/consumer/acks";
import type { ReceivedMessage } from "../../worker/src/sqs/queue";

describe("DLQ copy", () => {
  it("masks a phone number in the error attribute, in whatever form the reason holds it; the body stays whole for a redrive", () => {
    const body = JSON.stringify({ tenant_id: 1, to: "+82 10-1234-5678", text: "안내" });
    const message: ReceivedMessage = { messageId: "m-1", receiptHandle: "r-1", body, receiveCount: 1, sentAt: new Date(), attributes: {}, receivedAt: Date.now() };
    const copy = deadLetterCopy(message, "Solapi refused the sms message: 1062 수신번호 +82 10-1234-5678 (010.1234.5678) 수신거부");
    expect(copy.attributes.error!.StringValue).to.equal("Solapi refused the sms message: 1062 수신번호 010****5678 (010****5678) 수신거부");
    expect(copy.body).to.equal(body);
  });
});

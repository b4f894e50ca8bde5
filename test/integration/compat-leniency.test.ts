/**
 * Drop-in compatibility, continued: what the Python worker accepted leniently is accepted still
 * (mode padded or in capitals, tenant_id as a string, a `to` no channel can reach failed rather than
 * dead-lettered), and what cannot be a job is poison, to the DLQ at once with every bad field named.
 */
import { expect } from "chai";
import { UNREACHABLE_RECIPIENT } from "../../worker/src/job";
import { CREATED_AT, PARENT, pythonBody, usePythonProducerSuite } from "../support/python-producer";
import { receiveAll } from "../support/sqs";

describe("compatibility: the Python worker's leniency, and what is still poison", function () {
  this.timeout(60_000);
  const suite = usePythonProducerSuite();
  const { enqueue, deliver, messagesFor, stopWorker } = suite;

  describe("lenient where the Python worker was", () => {
    it("message_mode padded or in capitals, or empty (then from use_alimtalk_first); tenant_id as a string", async () => {
      const text = "[한빛학원] 출석 알림";
      const [padded, capitals, emptyWithFlag, emptyAlone, stringTenant] = await enqueue([
        pythonBody({ text, message_mode: " sms " }),
        pythonBody({ text, message_mode: "ALIMTALK" }),
        pythonBody({ text, message_mode: "", use_alimtalk_first: true }),
        pythonBody({ text, message_mode: "" }),
        pythonBody({ text, tenant_id: "34", message_mode: "sms" }),
      ]);
      const reports = await deliver([padded!, capitals!, emptyWithFlag!, emptyAlone!, stringTenant!]);
      const channelOf = (key: string) => messagesFor(key).map((message) => message.type);
      expect(channelOf(padded!)).to.deep.equal(["SMS"]);
      expect(channelOf(capitals!)).to.deep.equal(["ATA"]);
      expect(messagesFor(capitals!)[0]!.kakaoOptions!.disableSms).to.equal(true);
      expect(channelOf(emptyWithFlag!)).to.deep.equal(["ATA"]);
      expect(messagesFor(emptyWithFlag!)[0]!.kakaoOptions!.disableSms).to.equal(false);
      expect(channelOf(emptyAlone!)).to.deep.equal(["SMS"]);
      expect(reports.get(stringTenant!)!).to.include({ tenantId: 34 });
      expect(channelOf(stringTenant!)).to.deep.equal(["SMS"]);
    });

    it("a landline or otherwise unreachable `to`: a permanent failure with its reason, deleted, nothing sent, no DLQ", async () => {
      const text = "[한빛학원] 출석 알림";
      const [landline, representative, good] = await enqueue([
        pythonBody({ text, message_mode: "sms", to: "02-123-4567" }),
        pythonBody({ text, message_mode: "sms", to: "1588-1234" }),
        pythonBody({ text, message_mode: "sms" }),
      ]);
      const reports = await deliver([landline!, representative!, good!]);
      for (const key of [landline!, representative!]) {
        expect(reports.get(key)!.outcome, key).to.deep.equal({ kind: "failed", reason: UNREACHABLE_RECIPIENT });
        expect(reports.get(key)!.action, key).to.deep.equal({ action: "delete" });
        expect(messagesFor(key), key).to.deep.equal([]);
      }
      expect(messagesFor(good!)).to.have.length(1);
      const failed = suite.worker!.logLines().find((line) => line.message === "job failed" && line.job === landline);
      expect(failed).to.include({ reason: UNREACHABLE_RECIPIENT, tenant_id: 12 });
      await stopWorker();
      expect(await receiveAll(suite.sqs.client, suite.queues.queueUrl)).to.deep.equal([]);
      expect(await receiveAll(suite.sqs.client, suite.queues.deadLetterQueueUrl)).to.deep.equal([]);
    });
  });

  describe("still poison: to the DLQ at once with every bad field named", () => {
    it("no text, no to, not JSON, not an object", async () => {
      const poison: [unknown, string][] = [
        [{ tenant_id: 12, to: PARENT, sender: null, created_at: CREATED_AT, message_mode: "sms" }, "invalid job: text: is required"],
        [{ tenant_id: 12, text: "안내", sender: null, message_mode: "sms" }, "invalid job: to: is required"],
        [
          { tenant_id: "twelve", to: "02-123-4567", text: "  ", message_mode: "fax" },
          "invalid job: tenant_id: must be an integer; to: must be a Korean mobile number (01X, then 7 or 8 digits); text: must not be empty; message_mode: must be one of sms, alimtalk, both",
        ],
        ["{'tenant_id': 12, 'to': '01012345678'}", "invalid job: body: is not JSON"],
        [[{ tenant_id: 12, to: PARENT, text: "안내" }], "invalid job: body: must be a JSON object"],
        ["null", "invalid job: body: must be a JSON object"],
      ];
      const keys = await enqueue(poison.map(([body]) => body));
      const reports = await deliver(keys);
      for (const key of keys) expect(reports.get(key)!.action.action, key).to.equal("dead-letter");
      expect(suite.fake.sendRequests).to.deep.equal([]);
      await stopWorker();
      const dead = await receiveAll(suite.sqs.client, suite.queues.deadLetterQueueUrl);
      const reasonById = new Map(dead.map((message) => [message.MessageId ?? "", message.MessageAttributes?.error?.StringValue]));
      const reasonByBody = new Map(dead.map((message) => [message.Body, message.MessageAttributes?.error?.StringValue]));
      expect(dead).to.have.length(poison.length);
      poison.forEach(([body, reason], index) => {
        const found = reasonById.get(keys[index]!) ?? reasonByBody.get(typeof body === "string" ? body : JSON.stringify(body));
        expect(found, JSON.stringify(body)).to.equal(reason);
      });
    });
  });
});

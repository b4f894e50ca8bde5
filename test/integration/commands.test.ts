/**
 * The commands of docs/contract.md §6, run as a user runs them (the built CLI), and the producer API.
 */
import { GetQueueAttributesCommand, GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import { JobValidationError } from "../../worker/src/job";
import { enqueueSms, sendSms } from "../../worker/src/producer";
import { SolapiRequestError } from "../../worker/src/solapi/errors";
import { solapiConfigFor } from "../support/config";
import { startFakeSolapi } from "../support/fake-solapi";
import { runCli } from "../support/process";
import { receiveAll, startTestSqs, type TestSqs } from "../support/sqs";

describe("commands and the producer API", function () {
  this.timeout(90_000);
  let sqs: TestSqs;

  before(async () => {
    sqs = await startTestSqs();
  });
  after(async () => {
    await sqs.close();
  });

  it("npm run demo: one SMS, one LMS, one AlimTalk and one fallback, printed, exit 0, no AWS or database", async () => {
    const demo = runCli(["demo"], { PATH: process.env.PATH, DATABASE_URL: "mysql://nobody:x@127.0.0.1:1/none" });
    const { code } = await demo.exited;
    const output = demo.stdout.join("\n");
    expect(code, demo.stderr.join("")).to.equal(0);
    expect(output).to.match(/✔ sms +sms +G\S+ \/ M\S+/);
    expect(output).to.match(/✔ sms, long text +lms /);
    expect(output).to.match(/✔ alimtalk +alimtalk /);
    expect(output).to.match(/✔ both, template refused +sms \(after alimtalk\) /);
    expect(output).to.contain('"type": "ATA"');
    expect(output).to.contain('"#{clinic_name}": "수학 클리닉"');
    expect(output).to.contain("solapi_mode=mock");
    expect(output).not.to.contain("01012345678");
  });

  it("npm run sqs:create: the queue and DLQ with docs/contract.md §5's attributes, safe to run twice", async () => {
    const name = `created-${Date.now()}`;
    const env = { PATH: process.env.PATH, AWS_ENDPOINT_URL_SQS: sqs.endpoint, MESSAGING_SQS_QUEUE_NAME: name };
    for (let run = 1; run <= 2; run += 1) {
      const command = runCli(["sqs-create", "ap-northeast-2"], env);
      expect((await command.exited).code, `run ${run}: ${command.stderr.join("")}`).to.equal(0);
    }
    const url = async (queueName: string) => (await sqs.client.send(new GetQueueUrlCommand({ QueueName: queueName }))).QueueUrl!;
    const attributes = async (queueName: string) =>
      (await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: await url(queueName), AttributeNames: ["All"] }))).Attributes!;
    const queue = await attributes(name);
    const dlq = await attributes(`${name}-dlq`);
    expect(queue).to.include({ VisibilityTimeout: "60", ReceiveMessageWaitTimeSeconds: "20" });
    expect(JSON.parse(queue.RedrivePolicy!)).to.deep.equal({ deadLetterTargetArn: dlq.QueueArn, maxReceiveCount: 3 });
    expect(dlq).to.include({ MessageRetentionPeriod: "1209600" });
  });

  it("npm run stress -- --count 60 --run-worker: enqueues, drains and reports counts and rate", async () => {
    const stress = runCli(["stress", "--count", "60", "--run-worker", "--mode", "mixed"], { PATH: process.env.PATH });
    const { code } = await stress.exited;
    const output = stress.stdout.join("\n");
    expect(code, stress.stderr.join("")).to.equal(0);
    expect(output).to.match(
      /^60 jobs: 60 sent, 0 failed, 0 dead-lettered, 0 retries, in [\d.]+ s = [\d.]+ jobs\/s \(concurrency 10, Solapi mock\)$/m,
    );
  });

  describe("producer API", () => {
    it("enqueueSms writes a docs/contract.md §1 body, with an idempotency key, that the worker accepts", async () => {
      const queues = await sqs.createQueues();
      const enqueued = await enqueueSms(
        {
          tenantId: 12,
          to: "010-2222-3333",
          text: "보강 안내",
          reservationId: 77,
          messageMode: "both",
          templateId: "KA01TP-1",
          templateContext: { name: "서연", clinic_name: "영어" },
          eventType: "clinic_reminder",
        },
        { sqs: sqs.client, queueUrl: queues.queueUrl },
      );
      const [message] = await receiveAll(sqs.client, queues.queueUrl);
      expect(message!.MessageId).to.equal(enqueued.messageId);
      const body = JSON.parse(message!.Body!);
      expect(body).to.deep.include({
        tenant_id: 12,
        to: "010-2222-3333",
        text: "보강 안내",
        reservation_id: 77,
        message_mode: "both",
        template_id: "KA01TP-1",
        event_type: "clinic_reminder",
        alimtalk_replacements: [
          { key: "#{name}", value: "서연" },
          { key: "#{clinic_name}", value: "영어" },
        ],
      });
      expect(body.business_idempotency_key)
        .to.equal(enqueued.idempotencyKey)
        .and.to.match(/^[0-9a-f-]{36}$/);
      expect(Date.parse(body.created_at)).to.be.closeTo(Date.now(), 60_000);
    });

    it("enqueueSms refuses a bad job before it reaches the queue, naming the field", async () => {
      const queues = await sqs.createQueues();
      let error: unknown;
      try {
        await enqueueSms({ tenantId: 1, to: "not a phone", text: "x" }, { sqs: sqs.client, queueUrl: queues.queueUrl });
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(JobValidationError);
      expect((error as JobValidationError).problems).to.deep.equal(["to: must be a Korean mobile number (01X, then 7 or 8 digits)"]);
      expect(await receiveAll(sqs.client, queues.queueUrl)).to.have.length(0);
    });

    it("sendSms sends now through Solapi and returns the ids; a failure is a typed error", async () => {
      const fake = await startFakeSolapi();
      try {
        const sent = await sendSms({ to: "010-4444-5555", text: "인증번호 123456" }, { solapi: solapiConfigFor(fake) });
        expect(sent).to.deep.equal({ channel: "sms", groupId: fake.accepted[0]!.groupId, messageId: fake.accepted[0]!.messageId });
        expect(fake.accepted[0]).to.include({ to: "01044445555", from: "0212345678", text: "인증번호 123456" });
        fake.next({ kind: "status", status: 400, errorCode: "ValidationError" });
        let error: unknown;
        try {
          await sendSms({ to: "010-4444-5555", text: "x" }, { solapi: solapiConfigFor(fake) });
        } catch (caught) {
          error = caught;
        }
        expect(error).to.be.instanceOf(SolapiRequestError);
        expect(error).to.include({ kind: "permanent", httpStatus: 400 });
      } finally {
        await fake.close();
      }
    });
  });
});

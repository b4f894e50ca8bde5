/**
 * Drop-in compatibility: the bodies the Python producer (academy-backend,
 * apps/support/messaging/sqs_queue.py) writes, sent through the real worker — the consumer on SQS
 * semantics, the real solapi SDK against the fake Solapi — with the exact Solapi message each one
 * produces. Then what the Python worker accepted leniently, and what is still poison.
 *
 * The Python producer writes no business_idempotency_key: a job's key is its SQS MessageId, and
 * that is what its Solapi message carries in customFields.jobKey (with customFields.tenantId, "12").
 */
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import type { JobReport } from "../../worker/src/consumer/consumer";
import { UNREACHABLE_RECIPIENT } from "../../worker/src/job";
import { SENDER } from "../support/config";
import { type FakeSolapi, type SentMessage, UNAPPROVED_TEMPLATE_PREFIX } from "../support/fake-solapi";
import { receiveAll, sendBody, type TestQueues, type TestSqs, useQueueServices } from "../support/sqs";
import { startTestWorker, type TestWorker } from "../support/worker";

/** `timezone.now().isoformat()`: microseconds and +00:00. */
const CREATED_AT = "2026-11-30T06:12:45.123456+00:00";
const PARENT = "01012345678";
const PF_ID = "KA01PF-TEST";
const DEFAULT_TEMPLATE = "KA01TP-TEST";
/** What sqs_queue.py writes for every job (`sender` stripped or None); each case adds its mode's fields. */
const pythonBody = (fields: Record<string, unknown>) => ({ tenant_id: 12, to: PARENT, sender: null, created_at: CREATED_AT, ...fields });

/** A `both` job's first message: the AlimTalk, with its text as Solapi's substitute SMS. */
const alimtalkWithSubstitute = (key: string, text: string, templateId: string, variables: Record<string, string>) => ({
  to: PARENT,
  from: SENDER,
  type: "ATA",
  kakaoOptions: { pfId: PF_ID, templateId, variables, disableSms: false },
  replacements: [{ to: PARENT, from: SENDER, text, type: "SMS" }],
  customFields: { jobKey: key, tenantId: "12" },
});

const LMS_TEXT =
  "[한빛학원] 12월 보강 안내\n12월 24일(수)부터 26일(금)까지 정규 수업이 없습니다. 보충이 필요한 학생은 담임 선생님께 클리닉 예약을 요청해 주세요.";

describe("compatibility: the Python producer's bodies through the worker", function () {
  this.timeout(60_000);
  let sqs: TestSqs;
  let fake: FakeSolapi;
  let queues: TestQueues;
  let worker: TestWorker | undefined;

  useQueueServices((services) => ({ sqs, fake, queues } = services));
  async function stopWorker(): Promise<void> {
    await worker?.stop();
    worker = undefined;
  }
  afterEach(async () => {
    await stopWorker();
  });

  /** Enqueues each body as the Python producer does (one send_message each); their SQS MessageIds, in order. */
  async function enqueue(bodies: unknown[], options: { messageGroupId?: (body: unknown) => string } = {}): Promise<string[]> {
    const ids: string[] = [];
    for (const body of bodies) {
      if (!options.messageGroupId) {
        ids.push(await sendBody(sqs.client, queues.queueUrl, body));
        continue;
      }
      const sent = await sqs.client.send(
        new SendMessageCommand({
          QueueUrl: queues.queueUrl,
          MessageBody: JSON.stringify(body),
          MessageGroupId: options.messageGroupId(body),
        }),
      );
      ids.push(sent.MessageId!);
    }
    return ids;
  }

  /** Runs the worker until every one of `keys` has an outcome. */
  async function deliver(keys: string[]): Promise<Map<string, JobReport>> {
    worker = await startTestWorker(fake, sqs, queues);
    const reports = await worker.waitForReports(keys.length, (report) => keys.includes(report.key));
    return new Map(reports.map((report) => [report.key, report]));
  }

  /** Every Solapi message sent for a job, in the order of the requests that carried them. */
  function messagesFor(key: string): SentMessage[] {
    return fake.sendRequests.flatMap((request) => (request.body?.messages ?? []).filter((message) => message.customFields?.jobKey === key));
  }

  describe("each body the Python producer writes, and the exact Solapi message it becomes", () => {
    it("sms, sender null: an SMS from SOLAPI_SENDER", async () => {
      const [key] = await enqueue([pythonBody({ text: "[한빛학원] 김민준 학생이 15:02에 등원했습니다.", message_mode: "sms" })]);
      const reports = await deliver([key!]);
      expect(reports.get(key!)!.outcome).to.include({ kind: "sent", channel: "sms" });
      expect(messagesFor(key!)).to.deep.equal([
        {
          to: PARENT,
          from: SENDER,
          text: "[한빛학원] 김민준 학생이 15:02에 등원했습니다.",
          type: "SMS",
          customFields: { jobKey: key, tenantId: "12" },
        },
      ]);
      const [request] = fake.sendRequests;
      expect(request!.signatureValid).to.equal(true);
      expect(request!.body).to.deep.include({ allowDuplicates: true, showMessageList: true });
    });

    it("sms, a long text and the academy's own sender: an LMS with the first line as subject", async () => {
      const [key] = await enqueue([pythonBody({ text: LMS_TEXT, sender: "0311234567", message_mode: "sms", reservation_id: 1042 })]);
      const reports = await deliver([key!]);
      expect(reports.get(key!)!.outcome).to.include({ kind: "sent", channel: "lms" });
      expect(messagesFor(key!)).to.deep.equal([
        {
          to: PARENT,
          from: "0311234567",
          text: LMS_TEXT,
          type: "LMS",
          subject: "[한빛학원] 12월 보강 안내",
          customFields: { jobKey: key, tenantId: "12" },
        },
      ]);
    });

    it("alimtalk, with template_id and replacements with bare keys: an AlimTalk with no substitute", async () => {
      const [key] = await enqueue([
        pythonBody({
          text: "[한빛학원] 홍길동 학생 수학 클리닉 예약 안내",
          message_mode: "alimtalk",
          reservation_id: 1042,
          alimtalk_replacements: [
            { key: "name", value: "홍길동" },
            { key: "clinic_name", value: "수학 클리닉" },
          ],
          template_id: "KA01TP-CLINIC-REMINDER",
        }),
      ]);
      const reports = await deliver([key!]);
      expect(reports.get(key!)!.outcome).to.include({ kind: "sent", channel: "alimtalk" });
      expect(messagesFor(key!)).to.deep.equal([
        {
          to: PARENT,
          type: "ATA",
          kakaoOptions: {
            pfId: PF_ID,
            templateId: "KA01TP-CLINIC-REMINDER",
            variables: { "#{name}": "홍길동", "#{clinic_name}": "수학 클리닉" },
            disableSms: true,
          },
          customFields: { jobKey: key, tenantId: "12" },
        },
      ]);
    });

    it("both from use_alimtalk_first, with #{…} keys: an AlimTalk carrying the text as Solapi's substitute SMS", async () => {
      const text = "[한빛학원] 12/1(화) 오후 3:00 수학 클리닉";
      const [key] = await enqueue([
        pythonBody({
          text,
          message_mode: "both",
          use_alimtalk_first: true,
          alimtalk_replacements: [
            { key: "#{name}", value: "홍길동" },
            { key: "#{date}", value: "2026년 12월 1일 (화)" },
          ],
        }),
      ]);
      const reports = await deliver([key!]);
      expect(reports.get(key!)!.outcome).to.include({ kind: "sent", channel: "alimtalk" });
      expect(messagesFor(key!)).to.deep.equal([
        alimtalkWithSubstitute(key!, text, DEFAULT_TEMPLATE, { "#{name}": "홍길동", "#{date}": "2026년 12월 1일 (화)" }),
      ]);
    });

    it("both, AlimTalk refused at registration: the same job as an SMS in a second request", async () => {
      const text = "[한빛학원] 보강 일정이 변경되었습니다.";
      const [key] = await enqueue([
        pythonBody({
          text,
          message_mode: "both",
          use_alimtalk_first: true,
          alimtalk_replacements: [{ key: "name", value: "홍길동" }],
          template_id: `${UNAPPROVED_TEMPLATE_PREFIX}-CLINIC`,
        }),
      ]);
      const reports = await deliver([key!]);
      expect(reports.get(key!)!.outcome).to.include({ kind: "sent", channel: "sms", fellBackFrom: "alimtalk" });
      expect(messagesFor(key!)).to.deep.equal([
        alimtalkWithSubstitute(key!, text, `${UNAPPROVED_TEMPLATE_PREFIX}-CLINIC`, { "#{name}": "홍길동" }),
        { to: PARENT, from: SENDER, text, type: "SMS", customFields: { jobKey: key, tenantId: "12" } },
      ]);
      expect(fake.sendRequests).to.have.length(2);
    });

    it("the Python producer's bodies with MessageGroupId = tenant (fair queues) on a standard queue: each sent once", async () => {
      const bodies = [12, 12, 12, 34].map((tenant, index) =>
        pythonBody({ tenant_id: tenant, text: `[학원 ${tenant}] 알림 ${index}`, message_mode: "sms" }),
      );
      const keys = await enqueue(bodies, { messageGroupId: (body) => String((body as { tenant_id: number }).tenant_id) });
      const reports = await deliver(keys);
      expect([...reports.values()].map((report) => report.outcome.kind)).to.deep.equal(["sent", "sent", "sent", "sent"]);
      for (const key of keys) expect(messagesFor(key), key).to.have.length(1);
    });
  });

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
      const failed = worker!.logLines().find((line) => line.message === "job failed" && line.job === landline);
      expect(failed).to.include({ reason: UNREACHABLE_RECIPIENT, tenant_id: 12 });
      await stopWorker();
      expect(await receiveAll(sqs.client, queues.queueUrl)).to.deep.equal([]);
      expect(await receiveAll(sqs.client, queues.deadLetterQueueUrl)).to.deep.equal([]);
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
      expect(fake.sendRequests).to.deep.equal([]);
      await stopWorker();
      const dead = await receiveAll(sqs.client, queues.deadLetterQueueUrl);
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

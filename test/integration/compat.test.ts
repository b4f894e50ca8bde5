/**
 * Drop-in compatibility: the bodies the Python producer (academy-backend,
 * apps/support/messaging/sqs_queue.py) writes, sent through the real worker — the consumer on SQS
 * semantics, the real solapi SDK against the fake Solapi — with the exact Solapi message each one
 * produces.
 *
 * The Python producer writes no business_idempotency_key: a job's key is its SQS MessageId, and
 * that is what its Solapi message carries in customFields.jobKey (with customFields.tenantId, "12").
 */
import { expect } from "chai";
import { SENDER } from "../support/config";
import { UNAPPROVED_TEMPLATE_PREFIX } from "../support/fake-solapi";
import { PARENT, pythonBody, usePythonProducerSuite } from "../support/python-producer";

const PF_ID = "KA01PF-TEST";
const DEFAULT_TEMPLATE = "KA01TP-TEST";

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
  const suite = usePythonProducerSuite();
  const { enqueue, deliver, messagesFor } = suite;

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
      const [request] = suite.fake.sendRequests;
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
      expect(suite.fake.sendRequests).to.have.length(2);
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
});

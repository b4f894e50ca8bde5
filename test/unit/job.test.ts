import { expect } from "chai";
import {
  JobValidationError,
  normalizePhone,
  parseDeliverableJob,
  parseJob,
  parseJobBody,
  resolveMode,
  UNREACHABLE_RECIPIENT,
} from "../../worker/src/job";
import { planDelivery } from "../../worker/src/pipeline/decide";

const minimal = { tenant_id: 7, to: "010-1234-5678", text: "안녕하세요" };

function problemsOf(body: unknown): string[] {
  try {
    parseJob(body);
  } catch (error) {
    expect(error).to.be.instanceOf(JobValidationError);
    return (error as JobValidationError).problems;
  }
  throw new Error("expected a JobValidationError");
}

describe("job schema (docs/contract.md §1)", () => {
  describe("message mode", () => {
    const cases: [string | undefined, boolean | undefined, string][] = [
      [undefined, undefined, "sms"],
      [undefined, true, "both"],
      [undefined, false, "sms"],
      ["alimtalk", true, "alimtalk"],
      ["sms", true, "sms"],
      ["both", false, "both"],
    ];
    for (const [messageMode, useAlimtalkFirst, expected] of cases) {
      it(`message_mode=${messageMode ?? "absent"}, use_alimtalk_first=${useAlimtalkFirst ?? "absent"} → ${expected}`, () => {
        expect(resolveMode(messageMode as never, useAlimtalkFirst)).to.equal(expected);
        const body = {
          ...minimal,
          ...(messageMode ? { message_mode: messageMode } : {}),
          ...(useAlimtalkFirst !== undefined ? { use_alimtalk_first: useAlimtalkFirst } : {}),
        };
        expect(parseJob(body).mode).to.equal(expected);
      });
    }
  });

  it("normalises phone numbers: hyphens, spaces, dots and +82", () => {
    expect(normalizePhone("010-1234-5678")).to.equal("01012345678");
    expect(normalizePhone(" 010 1234 5678 ")).to.equal("01012345678");
    expect(normalizePhone("010.1234.5678")).to.equal("01012345678");
    expect(normalizePhone("+82 10-1234-5678")).to.equal("01012345678");
    expect(normalizePhone("+82-010-1234-5678")).to.equal("01012345678");
    expect(parseJob({ ...minimal, to: "+82 10 9876 5432", sender: "02-123-4567" })).to.include({ to: "01098765432", sender: "021234567" });
  });

  it("maps every optional field and ignores unknown ones (forward compatible)", () => {
    const job = parseJob({
      ...minimal,
      message_mode: "both",
      reservation_id: 42,
      template_id: "KA01TP-1",
      pf_id: "KA01PF-1",
      alimtalk_replacements: [
        { key: "#{name}", value: "김민준" },
        { key: "clinic_name", value: "수학" },
        { key: "#{seat}", value: 12 },
      ],
      business_idempotency_key: "reminder-42",
      event_type: "clinic_reminder",
      target_name: "김민준",
      created_at: "2026-11-26T09:00:00+09:00",
      some_future_field: { anything: true },
    });
    expect(job).to.deep.include({
      tenantId: 7,
      reservationId: 42,
      templateId: "KA01TP-1",
      pfId: "KA01PF-1",
      businessIdempotencyKey: "reminder-42",
      eventType: "clinic_reminder",
      targetName: "김민준",
      createdAt: "2026-11-26T09:00:00+09:00",
    });
    expect(job.variables).to.deep.equal({ name: "김민준", clinic_name: "수학", seat: "12" });
    expect(job).not.to.have.property("some_future_field");
  });

  it("treats null as absent, as Python producers write None", () => {
    const job = parseJob({ ...minimal, reservation_id: null, template_id: null, message_mode: null, created_at: null });
    expect(job.reservationId).to.equal(undefined);
    expect(job.mode).to.equal("sms");
  });

  it("names each missing field", () => {
    expect(problemsOf({})).to.deep.equal(["tenant_id: is required", "to: is required", "text: is required"]);
  });

  it("names each field of the wrong type or value", () => {
    const problems = problemsOf({
      tenant_id: "seven",
      to: "02-123-4567",
      text: "   ",
      message_mode: "fax",
      use_alimtalk_first: "yes",
      reservation_id: -1,
      alimtalk_replacements: [{ key: "a.b", value: "x" }],
      created_at: "yesterday",
    });
    expect(problems).to.deep.equal([
      "tenant_id: must be an integer",
      "to: must be a Korean mobile number (01X, then 7 or 8 digits)",
      "text: must not be empty",
      "message_mode: must be one of sms, alimtalk, both",
      "use_alimtalk_first: must be true or false",
      "reservation_id: must be positive",
      "alimtalk_replacements.0.key: must be a template variable name such as name or #{name}",
      "created_at: must be an ISO-8601 date-time",
    ]);
  });

  describe("lenient where the Python worker was", () => {
    it("reads message_mode trimmed and in any case; blank means from use_alimtalk_first", () => {
      expect(parseJob({ ...minimal, message_mode: " SMS " }).mode).to.equal("sms");
      expect(parseJob({ ...minimal, message_mode: "AlimTalk" }).mode).to.equal("alimtalk");
      expect(parseJob({ ...minimal, message_mode: "BOTH\n" }).mode).to.equal("both");
      expect(parseJob({ ...minimal, message_mode: "", use_alimtalk_first: true }).mode).to.equal("both");
      expect(parseJob({ ...minimal, message_mode: "  ", use_alimtalk_first: false }).mode).to.equal("sms");
      expect(parseJob({ ...minimal, message_mode: "" }).mode).to.equal("sms");
      expect(problemsOf({ ...minimal, message_mode: " fax " })).to.deep.equal(["message_mode: must be one of sms, alimtalk, both"]);
    });

    it("accepts a tenant_id written as a string holding an integer, as Python's int() did", () => {
      expect(parseJob({ ...minimal, tenant_id: "12" }).tenantId).to.equal(12);
      expect(parseJob({ ...minimal, tenant_id: " 7 " }).tenantId).to.equal(7);
      for (const bad of ["seven", "1.5", "-3", "", "1e3"]) {
        expect(problemsOf({ ...minimal, tenant_id: bad }), bad).to.deep.equal(["tenant_id: must be an integer"]);
      }
      expect(problemsOf({ ...minimal, tenant_id: "0" })).to.deep.equal(["tenant_id: must be positive"]);
    });

    it("treats a blank optional field as absent, as Django writes an empty string for none", () => {
      const job = parseJob({ ...minimal, sender: "", template_id: "  ", pf_id: "", business_idempotency_key: "", created_at: "" });
      expect(job).to.include({
        sender: undefined,
        templateId: undefined,
        pfId: undefined,
        businessIdempotencyKey: undefined,
        createdAt: undefined,
      });
    });

    it("accepts Python's isoformat(): microseconds and +00:00", () => {
      expect(parseJob({ ...minimal, created_at: "2026-11-30T06:12:45.123456+00:00" }).createdAt).to.equal(
        "2026-11-30T06:12:45.123456+00:00",
      );
    });
  });

  describe("a recipient no channel can reach", () => {
    const landline = "to: must be a Korean mobile number (01X, then 7 or 8 digits)";

    it("is a job that fails permanently with its reason, not a poison message", () => {
      for (const to of ["02-123-4567", "031 123 4567", "1588-1234", "not a number", "+1 415 555 0100"]) {
        const job = parseJob({ ...minimal, to });
        expect(job.undeliverable, to).to.equal(UNREACHABLE_RECIPIENT);
        expect(planDelivery(job, { sender: "0212345678" }), to).to.deep.equal({ ok: false, reason: UNREACHABLE_RECIPIENT });
      }
      expect(parseJob(minimal)).not.to.have.property("undeliverable");
    });

    it("is refused at once by producers (parseDeliverableJob), which can tell their caller", () => {
      expect(() => parseDeliverableJob({ ...minimal, to: "02-123-4567" })).to.throw(JobValidationError, landline);
    });

    it("is named with every other problem when the body is poison anyway", () => {
      expect(problemsOf({ tenant_id: 1, to: "02-123-4567", text: "" })).to.deep.equal([landline, "text: must not be empty"]);
    });

    it("stays poison when there is no recipient at all, or not a string, or too long to record", () => {
      expect(problemsOf({ ...minimal, to: " - " })).to.deep.equal(["to: must not be empty"]);
      expect(problemsOf({ ...minimal, to: 1012345678 })).to.deep.equal(["to: must be a string"]);
      expect(problemsOf({ ...minimal, to: "9".repeat(33) })).to.deep.equal(["to: must be at most 32 characters"]);
    });
  });

  it("refuses a text longer than an LMS can carry, counting EUC-KR bytes", () => {
    expect(() => parseJob({ ...minimal, text: "가".repeat(1000) })).not.to.throw();
    expect(problemsOf({ ...minimal, text: "가".repeat(1001) })).to.deep.equal(["text: is 2002 bytes; an LMS holds at most 2000"]);
  });

  it("turns a body that is not a JSON object into a named problem, never a crash", () => {
    for (const body of ["", "not json", "[1,2]", "null", "42", '"text"', '{"tenant_id":']) {
      expect(() => parseJobBody(body), body).to.throw(JobValidationError, /^invalid job: body: /);
    }
  });
});

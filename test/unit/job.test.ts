import { expect } from "chai";
import { JobValidationError, normalizePhone, parseJob, parseJobBody, resolveMode } from "../../worker/src/job";

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

describe("job schema (CONTRACT §1)", () => {
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
        const body = { ...minimal, ...(messageMode ? { message_mode: messageMode } : {}), ...(useAlimtalkFirst !== undefined ? { use_alimtalk_first: useAlimtalkFirst } : {}) };
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
      tenant_id: "7",
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
      "to: must be a Korean mobile number such as 010-1234-5678",
      "text: must not be empty",
      "message_mode: must be one of sms, alimtalk, both",
      "use_alimtalk_first: must be true or false",
      "reservation_id: must be positive",
      "alimtalk_replacements.0.key: must be a template variable name such as name or #{name}",
      "created_at: must be an ISO-8601 date-time",
    ]);
  });

  it("refuses a text longer than an LMS can carry, counting EUC-KR bytes", () => {
    expect(() => parseJob({ ...minimal, text: "가".repeat(1000) })).not.to.throw();
    expect(problemsOf({ ...minimal, text: "가".repeat(1001) })).to.deep.equal(["text: is 2002 bytes; an LMS holds at most 2000"]);
  });

  it("turns a body that is not a JSON object into a named problem, never a crash", () => {
    for (const body of ["", "not json", "[1,2]", "null", "42", '"text"', "{\"tenant_id\":"]) {
      expect(() => parseJobBody(body), body).to.throw(JobValidationError, /^invalid job: body: /);
    }
  });
});

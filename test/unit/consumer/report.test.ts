import { expect } from "chai";
import { readEntry } from "../../../worker/src/consumer/entry";
import { emptyStats, jobReport, outcomeLine, statOf, unacknowledgedLine } from "../../../worker/src/consumer/report";
import type { AckAction } from "../../../worker/src/pipeline/decide";
import type { JobOutcome } from "../../../worker/src/pipeline/outcome";
import { retry } from "../../../worker/src/pipeline/outcome";
import { jobBody, message } from "./fakes";

const entry = readEntry(message(jobBody("order-1", { tenant_id: 3, event_type: "attendance" }), { messageId: "m-9", receiveCount: 2 }));
const poison = readEntry(message("not json", { messageId: "m-p" }));
const DELETE: AckAction = { action: "delete" };
const common = {
  job: "order-1",
  tenant_id: 3,
  sqs_message_id: "m-9",
  receive_count: 2,
  mode: "sms",
  to: "010****5678",
  event_type: "attendance",
};

describe("job reports and their log lines (report.ts)", () => {
  it("a sent job: info, its channel and ids, the recipient masked", () => {
    const outcome: JobOutcome = { kind: "sent", channel: "lms", groupId: "G1", messageId: "M1" };
    expect(outcomeLine(entry, { outcome, action: DELETE })).to.deep.equal({
      level: "info",
      message: "job sent",
      fields: { ...common, action: "delete", channel: "lms", group_id: "G1", message_id: "M1" },
    });
  });

  it("a job sent as SMS after AlimTalk was refused, or found in Solapi after a lost answer, says so", () => {
    const outcome: JobOutcome = {
      kind: "sent",
      channel: "sms",
      groupId: "G",
      messageId: "M",
      fellBackFrom: "alimtalk",
      fallbackReason: "3034 template",
      recovered: true,
    };
    expect(outcomeLine(entry, { outcome, action: DELETE }).fields).to.deep.include({
      fell_back_from: "alimtalk",
      fallback_reason: "3034 template",
      recovered: true,
    });
  });

  it("a failed, skipped or duplicate job: its reason and status", () => {
    expect(outcomeLine(entry, { outcome: { kind: "failed", reason: "1042" }, action: DELETE })).to.deep.equal({
      level: "warn",
      message: "job failed",
      fields: { ...common, action: "delete", reason: "1042" },
    });
    const skipped = outcomeLine(entry, { outcome: { kind: "skipped", status: "SKIPPED_BALANCE", reason: "credits" }, action: DELETE });
    expect([skipped.level, skipped.message, skipped.fields.status]).to.deep.equal(["info", "job skipped", "SKIPPED_BALANCE"]);
    const duplicate = outcomeLine(entry, { outcome: { kind: "duplicate", status: "SENT", reason: "copy" }, action: DELETE });
    expect([duplicate.level, duplicate.message, duplicate.fields.status]).to.deep.equal(["info", "job duplicate", "SENT"]);
  });

  it("a retried job: warn, when it comes back, and an alert when the retry asks for one", () => {
    const line = outcomeLine(entry, {
      outcome: retry("internal error: x", { alert: true }),
      action: { action: "retry-later", delaySeconds: 40 },
    });
    expect(line).to.deep.equal({
      level: "warn",
      message: "job retry",
      fields: { ...common, action: "retry-later", reason: "internal error: x", retry_in_s: 40, alert: true },
    });
    expect(outcomeLine(entry, { outcome: retry("503"), action: { action: "retry-later", delaySeconds: 5 } }).fields).to.not.have.property(
      "alert",
    );
  });

  it("a dead-lettered job is an error, whatever its outcome; a poison message has no job fields", () => {
    const gaveUp = outcomeLine(entry, { outcome: retry("503"), action: { action: "dead-letter", reason: "gave up" } });
    expect([gaveUp.level, gaveUp.message]).to.deep.equal(["error", "job dead-lettered"]);
    expect(
      outcomeLine(poison, {
        outcome: { kind: "poison", reason: "invalid job: body: is not JSON" },
        action: { action: "dead-letter", reason: "x" },
      }),
    ).to.deep.equal({
      level: "error",
      message: "job dead-lettered",
      fields: {
        job: "m-p",
        tenant_id: undefined,
        sqs_message_id: "m-p",
        receive_count: 1,
        mode: undefined,
        to: undefined,
        event_type: undefined,
        action: "dead-letter",
        reason: "invalid job: body: is not JSON",
      },
    });
  });

  it("a released job is info", () => {
    const line = outcomeLine(entry, { outcome: { kind: "released", reason: "worker is shutting down" }, action: { action: "release" } });
    expect([line.level, line.message, line.fields.reason]).to.deep.equal(["info", "job released", "worker is shutting down"]);
  });

  it("an acknowledgement SQS did not take: a warning naming the job and the action", () => {
    expect(unacknowledgedLine(entry, DELETE, { code: "ReceiptHandleIsInvalid", message: "stale handle", senderFault: true })).to.deep.equal(
      {
        level: "warn",
        message: "SQS did not take the acknowledgement; the message may be received again",
        fields: { job: "order-1", tenant_id: 3, sqs_message_id: "m-9", action: "delete", error: "stale handle" },
      },
    );
  });

  it("counts a dead letter by its action and anything else by its outcome", () => {
    const sent: JobOutcome = { kind: "sent", channel: "sms", groupId: "G", messageId: "M" };
    expect(statOf({ outcome: sent, action: DELETE })).to.equal("sent");
    expect(statOf({ outcome: retry("503"), action: { action: "dead-letter", reason: "gave up" } })).to.equal("deadLettered");
    expect(statOf({ outcome: retry("503"), action: { action: "retry-later", delaySeconds: 1 } })).to.equal("retried");
    expect(statOf({ outcome: { kind: "duplicate", status: "SENT", reason: "r" }, action: DELETE })).to.equal("duplicates");
    expect(statOf({ outcome: { kind: "released", reason: "r" }, action: { action: "release" } })).to.equal("released");
    expect(emptyStats()).to.deep.equal({
      received: 0,
      sent: 0,
      failed: 0,
      skipped: 0,
      duplicates: 0,
      retried: 0,
      deadLettered: 0,
      released: 0,
    });
  });

  it("the report to listeners carries the job and whether SQS confirmed the action", () => {
    const outcome: JobOutcome = { kind: "failed", reason: "r" };
    expect(jobReport(entry, { outcome, action: DELETE }, false)).to.deep.equal({
      key: "order-1",
      tenantId: 3,
      job: entry.job,
      sqsMessageId: "m-9",
      receiveCount: 2,
      outcome,
      action: DELETE,
      acknowledged: false,
    });
  });
});

import { expect } from "chai";
import { parseJob } from "../../worker/src/job";
import {
  ackActionFor,
  foreignRoute,
  outcomeForCopy,
  outcomeOfDelivery,
  planDelivery,
  type RetryPolicy,
  retryDelaySeconds,
  settleLostAnswer,
} from "../../worker/src/pipeline/decide";
import type { JobOutcome } from "../../worker/src/pipeline/outcome";
import { requestsFor } from "../../worker/src/pipeline/send-round";
import { sendWindow } from "../../worker/src/pipeline/send-window";
import { SolapiRequestError } from "../../worker/src/solapi/errors";

const job = (extra: Record<string, unknown> = {}) => parseJob({ tenant_id: 1, to: "01012345678", text: "안내", ...extra });
const defaults = { sender: "0212345678", pfId: "PF-ENV", templateId: "TP-ENV" };

describe("pipeline decisions", () => {
  describe("planDelivery: which channels, in which order", () => {
    it("sms needs only a sender", () => {
      expect(planDelivery(job(), defaults)).to.deep.include({ ok: true, attempts: ["text"] });
      expect(planDelivery(job(), {})).to.deep.equal({
        ok: false,
        reason: "no sender number: set the job's sender, the tenant's or SOLAPI_SENDER",
      });
    });

    it("alimtalk needs a Kakao channel and template, and never falls back", () => {
      expect(planDelivery(job({ message_mode: "alimtalk" }), defaults)).to.deep.include({ ok: true, attempts: ["alimtalk"] });
      const plan = planDelivery(job({ message_mode: "alimtalk" }), { sender: "0212345678" });
      expect(plan.ok).to.equal(false);
      expect(plan.ok === false && plan.reason).to.match(/^alimtalk: no Kakao channel or template/);
    });

    it("both tries AlimTalk, then SMS/LMS; without a template it goes straight to SMS", () => {
      expect(planDelivery(job({ message_mode: "both" }), defaults)).to.deep.include({ ok: true, attempts: ["alimtalk", "text"] });
      const textOnly = planDelivery(job({ message_mode: "both" }), { sender: "0212345678" });
      expect(textOnly).to.deep.include({ ok: true, attempts: ["text"] });
      expect(textOnly.ok && textOnly.note).to.match(/^AlimTalk skipped/);
      expect(planDelivery(job({ message_mode: "both" }), { pfId: "PF", templateId: "TP" })).to.deep.include({ attempts: ["alimtalk"] });
    });

    it("the job's sender, channel and template win over the defaults", () => {
      const plan = planDelivery(job({ message_mode: "both", sender: "0311112222", pf_id: "PF-JOB", template_id: "TP-JOB" }), defaults);
      expect(plan.ok && plan.route).to.deep.equal({ from: "0311112222", pfId: "PF-JOB", templateId: "TP-JOB" });
    });
  });

  describe("outcomeOfDelivery: what an answer means", () => {
    const accepted = { status: "accepted", channel: "sms", groupId: "G1", messageId: "M1" } as const;
    const refused = (kind: "permanent" | "transient", statusCode = "1042", insufficientBalance = false) =>
      ({
        status: "refused",
        channel: "alimtalk",
        groupId: "G1",
        statusCode,
        reason: `Solapi refused the alimtalk message: ${statusCode} x`,
        kind,
        minRetrySeconds: 0,
        alert: false,
        insufficientBalance,
      }) as const;

    it("accepted is sent, with the ids to record", () => {
      expect(outcomeOfDelivery(accepted, false)).to.deep.equal({ kind: "sent", channel: "sms", groupId: "G1", messageId: "M1" });
    });

    it("a permanent refusal falls back when a next channel exists, with the refusal as its reason; else fails", () => {
      expect(outcomeOfDelivery(refused("permanent"), true)).to.deep.equal({
        fallBack: true,
        reason: "Solapi refused the alimtalk message: 1042 x",
      });
      expect(outcomeOfDelivery(refused("permanent"), false)).to.deep.equal({
        kind: "failed",
        reason: "Solapi refused the alimtalk message: 1042 x",
      });
    });

    it("both falls back on any refusal, codes the worker does not know included (docs/contract.md §2)", () => {
      for (const code of ["3999", "1024", "2024", "9999", "1042"]) {
        expect(outcomeOfDelivery(refused("transient", code), true), code).to.include({ fallBack: true });
      }
    });

    it("except an insufficient balance: no other channel can help, so the job is retried later", () => {
      expect(outcomeOfDelivery(refused("transient", "1030", true), true)).to.include({ kind: "retry", ambiguous: false });
      expect(outcomeOfDelivery(refused("transient", "3999"), false)).to.include({ kind: "retry", ambiguous: false });
    });

    it("an uncertain request failure retries and is marked ambiguous; it never falls back", () => {
      const lost = new SolapiRequestError("transient", "transport_timeout", "no answer", { ambiguous: true });
      expect(outcomeOfDelivery({ status: "failed", channel: "alimtalk", error: lost }, true)).to.deep.include({
        kind: "retry",
        ambiguous: true,
      });
      const rejected = new SolapiRequestError("permanent", "ValidationError", "bad pfId", { httpStatus: 400 });
      expect(outcomeOfDelivery({ status: "failed", channel: "alimtalk", error: rejected }, true)).to.deep.equal({
        fallBack: true,
        reason: "bad pfId",
      });
      expect(outcomeOfDelivery({ status: "failed", channel: "sms", error: rejected }, false)).to.deep.equal({
        kind: "failed",
        reason: "bad pfId",
      });
    });
  });

  describe("retry back-off", () => {
    const policy: RetryPolicy = { maxReceives: 3, baseSeconds: 10, maxSeconds: 900 };
    it("doubles with each receive, between half and all of the exponential value", () => {
      expect(retryDelaySeconds(1, policy, 0, () => 0)).to.equal(5);
      expect(retryDelaySeconds(1, policy, 0, () => 1)).to.equal(10);
      expect(retryDelaySeconds(2, policy, 0, () => 1)).to.equal(20);
      expect(retryDelaySeconds(3, policy, 0, () => 1)).to.equal(40);
    });
    it("caps the wait before its jitter, so jobs that reached the cap still come back spread out", () => {
      expect(retryDelaySeconds(12, policy, 0, () => 1)).to.equal(900);
      expect(retryDelaySeconds(12, policy, 0, () => 0)).to.equal(450);
    });
    it("respects a per-error minimum and SQS's 12-hour limit", () => {
      expect(retryDelaySeconds(1, policy, 300, () => 0)).to.equal(300);
      expect(retryDelaySeconds(30, { maxReceives: 99, baseSeconds: 3600, maxSeconds: 99_999 }, 0, () => 1)).to.equal(43_200);
    });
  });

  describe("ackActionFor: what SQS is told (docs/contract.md §5)", () => {
    const policy: RetryPolicy = { maxReceives: 3, baseSeconds: 10, maxSeconds: 900 };
    const retry: JobOutcome = { kind: "retry", reason: "Solapi 500", ambiguous: false, minDelaySeconds: 0, alert: false };

    it("sent and permanently failed jobs are deleted", () => {
      expect(ackActionFor({ kind: "sent", channel: "sms", groupId: "G", messageId: "M" }, 1, policy)).to.deep.equal({ action: "delete" });
      expect(ackActionFor({ kind: "failed", reason: "x" }, 1, policy)).to.deep.equal({ action: "delete" });
    });
    it("poison goes to the DLQ at once, with its reason", () => {
      expect(ackActionFor({ kind: "poison", reason: "invalid job: to: is required" }, 1, policy)).to.deep.equal({
        action: "dead-letter",
        reason: "invalid job: to: is required",
      });
    });
    it("a transient failure waits out a back-off, and on the last receive goes to the DLQ with why", () => {
      expect(ackActionFor(retry, 1, policy, () => 1)).to.deep.equal({ action: "retry-later", delaySeconds: 10 });
      expect(ackActionFor(retry, 2, policy, () => 1)).to.deep.equal({ action: "retry-later", delaySeconds: 20 });
      expect(ackActionFor(retry, 3, policy)).to.deep.equal({ action: "dead-letter", reason: "gave up after 3 receives: Solapi 500" });
      const uncertain = ackActionFor({ ...retry, ambiguous: true }, 3, policy);
      expect(uncertain.action === "dead-letter" && uncertain.reason).to.contain("Solapi may have accepted it");
    });
    it("a job released at shutdown becomes visible again at once", () => {
      expect(ackActionFor({ kind: "released", reason: "shutdown" }, 1, policy)).to.deep.equal({ action: "release" });
    });
  });
});

describe("pipeline decisions around the send log", () => {
  it("sendWindow: the fence's lease outlasts the send; a take-over waits until Solapi has registered it", () => {
    const window = sendWindow(10_000);
    expect(window.fenceLeaseMs).to.be.above(window.startBudgetMs + 10_000);
    expect(window.settleMs).to.be.at.least(window.startBudgetMs + 2 * 10_000);
    expect(sendWindow(500).settleMs - sendWindow(500).startBudgetMs - 500).to.be.at.least(5_000);
  });

  it("settleLostAnswer: absent after Solapi answered means not sent; absent after a timeout proves nothing", () => {
    const answered: Extract<JobOutcome, { kind: "retry" }> = {
      kind: "retry",
      reason: "Solapi 500",
      ambiguous: true,
      minDelaySeconds: 0,
      alert: false,
      answered: true,
    };
    const timedOut = { ...answered, reason: "no answer", answered: false };
    const found: JobOutcome = { kind: "sent", channel: "sms", groupId: "G", messageId: "M", recovered: true };
    expect(settleLostAnswer(answered, found)).to.equal(found);
    expect(settleLostAnswer(answered, undefined)).to.deep.include({ kind: "retry", ambiguous: false });
    expect(settleLostAnswer(timedOut, undefined)).to.deep.equal(timedOut);
  });

  it("foreignRoute: a job may name only its own tenant's sender and Kakao channel", () => {
    const own = { senders: new Set(["0212345678", "0311112222"]), pfIds: new Set(["PF-MINE"]) };
    expect(foreignRoute({ tenantId: 7 }, own)).to.equal(undefined);
    expect(foreignRoute({ tenantId: 7, sender: "0311112222", pfId: "PF-MINE" }, own)).to.equal(undefined);
    expect(foreignRoute({ tenantId: 7, sender: "0299998888" }, own)).to.match(/^sender 0299998888 is not a sender number of tenant 7/);
    expect(foreignRoute({ tenantId: 7, pfId: "PF-THEIRS" }, own)).to.match(/^Kakao channel PF-THEIRS is not a channel of tenant 7/);
  });

  it("requestsFor: first receives travel together; a job received again travels alone", () => {
    const entry = (receiveCount: number, name: string) => ({ item: { receiveCount }, name });
    const requests = requestsFor([entry(1, "a"), entry(2, "b"), entry(1, "c"), entry(3, "d")]);
    expect(requests.map((request) => request.map((item) => item.name))).to.deep.equal([["a", "c"], ["b"], ["d"]]);
    expect(requestsFor([entry(2, "x")]).map((request) => request.map((item) => item.name))).to.deep.equal([["x"]]);
  });

  it("outcomeForCopy: a copy of a finished job is deleted; of an unfinished one, looked at again", () => {
    expect(outcomeForCopy({ kind: "sent", channel: "sms", groupId: "G", messageId: "M" })).to.include({
      kind: "duplicate",
      status: "SENT",
    });
    expect(outcomeForCopy({ kind: "skipped", status: "SKIPPED_BALANCE", reason: "r" })).to.include({
      kind: "duplicate",
      status: "SKIPPED_BALANCE",
    });
    expect(outcomeForCopy({ kind: "retry", reason: "r", ambiguous: false, minDelaySeconds: 0, alert: false })).to.include({
      kind: "retry",
      ambiguous: true,
    });
    expect(
      ackActionFor({ kind: "duplicate", status: "SENT", reason: "r" }, 1, { maxReceives: 3, baseSeconds: 1, maxSeconds: 2 }),
    ).to.deep.equal({ action: "delete" });
  });
});

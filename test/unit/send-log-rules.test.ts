import { expect } from "chai";
import type { AckAction } from "../../worker/src/pipeline/decide";
import type { JobOutcome, LogStatus } from "../../worker/src/pipeline/outcome";
import { decideClaim, priceFor, transitionFor } from "../../worker/src/store/send-log-rules";

describe("send-log rules", () => {
  const row = (status: LogStatus, leaseExpired: boolean, sendStarted: boolean, settlesInMs = 0) => ({
    status,
    leaseExpired,
    sendStartedAt: sendStarted ? new Date() : null,
    settlesInMs,
  });

  it("decideClaim: finished rows are never sent again; live claims are busy", () => {
    for (const status of ["SENT", "FAILED", "SKIPPED_CANCELLED", "SKIPPED_BALANCE"] as const) {
      expect(decideClaim(row(status, true, true))).to.deep.equal({ decision: "done", status });
    }
    expect(decideClaim(row("CLAIMED", false, true))).to.deep.equal({ decision: "busy" });
  });

  it("decideClaim: an expired claim is taken over, and asked about first when a send had started", () => {
    expect(decideClaim(row("CLAIMED", true, false))).to.deep.equal({ decision: "take-over", uncertain: false });
    expect(decideClaim(row("CLAIMED", true, true))).to.deep.equal({ decision: "take-over", uncertain: true });
  });

  it("decideClaim: a send that may still be reaching Solapi is waited out before anyone asks", () => {
    expect(decideClaim(row("CLAIMED", true, true, 4_200))).to.deep.equal({ decision: "wait", ms: 4_200 });
    expect(decideClaim(row("UNKNOWN", true, true, 10))).to.deep.equal({ decision: "wait", ms: 10 });
  });

  it("decideClaim: an UNKNOWN job received again (a redrive) is resolved by asking Solapi, never sent blindly", () => {
    expect(decideClaim(row("UNKNOWN", true, true))).to.deep.equal({ decision: "take-over", uncertain: true });
  });

  it("transitionFor: how each end is written down", () => {
    const retryLater: AckAction = { action: "retry-later", delaySeconds: 10 };
    const dead: AckAction = { action: "dead-letter", reason: "gave up after 3 receives: x" };
    const retry = (ambiguous: boolean): JobOutcome => ({ kind: "retry", reason: "x", ambiguous, minDelaySeconds: 0, alert: false });
    expect(transitionFor({ kind: "sent", channel: "sms", groupId: "G", messageId: "M" }, { action: "delete" })).to.deep.equal({
      write: "sent",
    });
    expect(transitionFor({ kind: "failed", reason: "r" }, { action: "delete" })).to.deep.equal({
      write: "close",
      status: "FAILED",
      reason: "r",
    });
    expect(transitionFor({ kind: "skipped", status: "SKIPPED_CANCELLED", reason: "r" }, { action: "delete" })).to.deep.include({
      status: "SKIPPED_CANCELLED",
    });
    expect(transitionFor(retry(false), retryLater)).to.deep.equal({ write: "release", refund: true, reason: "x" });
    expect(transitionFor(retry(true), retryLater)).to.deep.equal({ write: "release", refund: false, reason: "x" });
    expect(transitionFor(retry(false), dead)).to.deep.equal({ write: "release", refund: true, reason: dead.reason });
    expect(transitionFor(retry(true), dead)).to.deep.equal({ write: "unknown", reason: dead.reason });
    expect(transitionFor({ kind: "duplicate", status: "SENT", reason: "r" }, { action: "delete" })).to.deep.equal({ write: "none" });
  });

  it("priceFor: each channel has its own price", () => {
    const prices = { sms: "10.00", lms: "30.00", alimtalk: "8.00" };
    expect((["sms", "lms", "alimtalk"] as const).map((channel) => priceFor(channel, prices))).to.deep.equal(["10.00", "30.00", "8.00"]);
  });
});

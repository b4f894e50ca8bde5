import { expect } from "chai";
import { conclusionsOf, defectOutcome } from "../../../worker/src/consumer/defect";
import type { Conclusion } from "../../../worker/src/pipeline/ledger-port";
import type { JobOutcome } from "../../../worker/src/pipeline/outcome";

const conclude = (_job: { id: string }, outcome: JobOutcome): Conclusion => ({
  outcome,
  action: { action: "retry-later", delaySeconds: 5 },
});
const SENT: Conclusion = { outcome: { kind: "sent", channel: "sms", groupId: "G", messageId: "M" }, action: { action: "delete" } };

describe("a group the pipeline could not conclude (defect.ts)", () => {
  it("a delivery that threw retries every job as uncertain, with an alert and the error as the reason", () => {
    const [a, b] = [{ id: "1\u0000a" }, { id: "1\u0000b" }];
    const results = conclusionsOf([a, b], { ok: false, error: new TypeError("x is undefined") }, conclude);
    expect([...results.keys()]).to.deep.equal([a, b]);
    for (const result of results.values()) {
      expect(result.outcome).to.deep.equal({
        kind: "retry",
        reason: "internal error: x is undefined",
        ambiguous: true,
        minDelaySeconds: 0,
        alert: true,
      });
      expect(result.action).to.deep.equal({ action: "retry-later", delaySeconds: 5 });
    }
  });

  it("keeps the pipeline's conclusions in its order; a job it concluded nothing for is a defect", () => {
    const [a, b, c] = [{ id: "a" }, { id: "b" }, { id: "c" }];
    const results = conclusionsOf(
      [a, b, c],
      {
        ok: true,
        conclusions: new Map([
          ["c", SENT],
          ["a", SENT],
        ]),
      },
      conclude,
    );
    expect([...results.keys()]).to.deep.equal([c, a, b]);
    expect(results.get(b)?.outcome).to.include({
      kind: "retry",
      reason: "internal error: the pipeline concluded nothing for the job",
      alert: true,
    });
  });

  it("names what was thrown, an Error or not", () => {
    expect(defectOutcome("plain").reason).to.equal("internal error: plain");
  });
});

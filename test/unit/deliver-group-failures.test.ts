/**
 * deliverGroup (pipeline/process.ts) when the ledger or Solapi fails: a job that may have gone out is
 * retried as uncertain — looked up before any later send — and never sent again blindly. No I/O.
 */
import { setImmediate as tick } from "node:timers/promises";
import { expect } from "chai";
import { retry } from "../../worker/src/pipeline/outcome";
import { deliverGroup } from "../../worker/src/pipeline/process";
import type { DeliveryResult } from "../../worker/src/solapi/client";
import { SolapiRequestError } from "../../worker/src/solapi/errors";
import { pipeline, received, stubLedger, stubSolapi } from "./pipeline-stubs";

const running = () => new AbortController().signal;
const failed = (error: SolapiRequestError) => (): DeliveryResult => ({ status: "failed", channel: "sms", error });
const timeout = () =>
  new SolapiRequestError("transient", "timeout", "solapi transport timeout: no answer within 2000 ms", { ambiguous: true });
const serverError = () => new SolapiRequestError("transient", "InternalError", "Solapi 502", { ambiguous: true, httpStatus: 502 });
const unreachable = () => new SolapiRequestError("transient", "unreachable", "solapi transport unreachable: ECONNREFUSED");

describe("deliverGroup when the ledger or Solapi fails (stubbed ledger and Solapi)", () => {
  it("the ledger failing to record a sent job: retried as uncertain (looked up, never resent blindly), not deleted", async () => {
    const ledger = stubLedger({
      record: () => {
        throw new Error("connection lost");
      },
    });
    const solapi = stubSolapi();
    const deps = pipeline(ledger, solapi);
    const conclusions = await deliverGroup([received("sent")], deps, running());

    expect(solapi.requests).to.have.length(1);
    const conclusion = conclusions.get(received("sent").id);
    expect(conclusion?.outcome).to.deep.equal(retry("recording failed: connection lost", { ambiguous: true }));
    expect(conclusion?.action.action).to.equal("retry-later");
    await tick();
    const line = deps.lines().find((entry) => entry.message === "could not write the job's outcome; it will be retried");
    expect(line).to.deep.include({ job: "sent", tenant_id: 7, outcome: "sent", level: "error" });
  });

  it("the ledger failing to record a job nothing was sent for: retried as certain", async () => {
    const ledger = stubLedger({
      admit: () => ({ admitted: false, outcome: { kind: "failed", reason: "no sender" } }),
      record: () => {
        throw new Error("deadlock");
      },
    });
    const conclusions = await deliverGroup([received("unsent")], pipeline(ledger, stubSolapi()), running());
    expect(conclusions.get(received("unsent").id)?.outcome).to.deep.equal(retry("recording failed: deadlock", { ambiguous: false }));
  });

  it("a job whose conclusion the ledger could not record takes the ledger's replacement; the others keep theirs", async () => {
    const lostClaim = retry("the claim was taken over", { ambiguous: true });
    const ledger = stubLedger({ record: () => new Map([[received("lost").id, lostClaim]]) });
    const conclusions = await deliverGroup([received("lost"), received("kept")], pipeline(ledger, stubSolapi()), running());

    expect(conclusions.get(received("lost").id)?.outcome).to.deep.equal(lostClaim);
    expect(conclusions.get(received("lost").id)?.action.action).to.equal("retry-later");
    expect(conclusions.get(received("kept").id)?.outcome.kind).to.equal("sent");
    expect(conclusions.get(received("kept").id)?.action).to.deep.equal({ action: "delete" });
  });

  it("admission or charging failing: retried as certain, nothing sent", async () => {
    const unreachableDb = () => {
      throw new Error("ECONNREFUSED");
    };
    for (const ledger of [stubLedger({ admit: unreachableDb }), stubLedger({ charge: unreachableDb })]) {
      const solapi = stubSolapi();
      const conclusion = (await deliverGroup([received("a")], pipeline(ledger, solapi), running())).get(received("a").id);
      expect(solapi.requests).to.deep.equal([]);
      const step = ledger.charged.length > 0 ? "charging" : "admission";
      expect(conclusion?.outcome).to.deep.equal(retry(`${step} failed: ECONNREFUSED`));
    }
  });

  it("Solapi's request timing out: looked up at once; not found, retried as uncertain (it may still be registering)", async () => {
    const solapi = stubSolapi({ answer: failed(timeout()) });
    const conclusion = (await deliverGroup([received("slow")], pipeline(stubLedger(), solapi), running())).get(received("slow").id);

    expect(solapi.lookups).to.deep.equal(["slow"]);
    expect(conclusion?.outcome).to.deep.include({ kind: "retry", ambiguous: true, reason: timeout().message });
    expect(conclusion?.action.action).to.equal("retry-later");
  });

  it("Solapi answering 5xx: looked up at once; found, the job is sent; not found, retried as certain", async () => {
    const found = { groupId: "G-9", messageId: "M-9", type: "SMS", statusCode: "2000" };
    const taken = stubSolapi({ answer: failed(serverError()), findSent: () => found });
    const sent = (await deliverGroup([received("taken")], pipeline(stubLedger(), taken), running())).get(received("taken").id);
    expect(sent?.outcome).to.deep.equal({ kind: "sent", channel: "sms", groupId: "G-9", messageId: "M-9", recovered: true });
    expect(sent?.action).to.deep.equal({ action: "delete" });

    const lost = stubSolapi({ answer: failed(serverError()) });
    const retried = (await deliverGroup([received("lost")], pipeline(stubLedger(), lost), running())).get(received("lost").id);
    expect(retried?.outcome).to.deep.include({
      kind: "retry",
      ambiguous: false,
      reason: "Solapi 502 (Solapi holds no such message: not sent)",
    });
  });

  it("Solapi unreachable: retried as certain, with no look-up", async () => {
    const solapi = stubSolapi({ answer: failed(unreachable()) });
    const conclusion = (await deliverGroup([received("down")], pipeline(stubLedger(), solapi), running())).get(received("down").id);

    expect(solapi.lookups).to.deep.equal([]);
    expect(conclusion?.outcome).to.deep.include({ kind: "retry", ambiguous: false, reason: unreachable().message });
  });

  it("a look-up that fails leaves the job uncertain; mock mode looks nothing up", async () => {
    const solapi = stubSolapi({
      answer: failed(timeout()),
      findSent: () => {
        throw new Error("Solapi down");
      },
    });
    const unsure = (await deliverGroup([received("a")], pipeline(stubLedger(), solapi), running())).get(received("a").id);
    expect(unsure?.outcome).to.deep.include({ kind: "retry", ambiguous: true });

    const mock = stubSolapi({ mode: "mock", answer: failed(timeout()) });
    const mocked = (await deliverGroup([received("b")], pipeline(stubLedger(), mock), running())).get(received("b").id);
    expect(mock.lookups).to.deep.equal([]);
    expect(mocked?.outcome).to.deep.include({ kind: "retry", ambiguous: true });
  });
});

/**
 * deliverGroup (pipeline/process.ts) against a stubbed Ledger and Solapi gateway: what each job of a
 * group is charged, sent and concluded with, and what the ledger is asked to record. No I/O.
 */
import { setImmediate as tick } from "node:timers/promises";
import { expect } from "chai";
import { deliverGroup } from "../../worker/src/pipeline/process";
import { accepted, DEFAULTS, pipeline, received, stubLedger, stubSolapi } from "./pipeline-stubs";

const running = () => new AbortController().signal;
const refusal = (reason: string, insufficientBalance = false) =>
  ({
    status: "refused",
    channel: "alimtalk",
    groupId: "G-1",
    statusCode: insufficientBalance ? "2230" : "3105",
    reason,
    kind: insufficientBalance ? "transient" : "permanent",
    minRetrySeconds: insufficientBalance ? 300 : 0,
    alert: insufficientBalance,
    insufficientBalance,
  }) as const;

describe("deliverGroup: one group through admit, charge, send and conclude (stubbed ledger and Solapi)", () => {
  it("charges an admitted SMS job once, sends it once, and concludes it sent and deleted", async () => {
    const ledger = stubLedger();
    const solapi = stubSolapi();
    const item = received("a");
    const conclusions = await deliverGroup([item], pipeline(ledger, solapi), running());

    expect(ledger.charged).to.have.length(1);
    expect(ledger.charged[0]?.map(({ channel, replacing }) => ({ channel, replacing }))).to.deep.equal([
      { channel: "sms", replacing: undefined },
    ]);
    expect(solapi.requests).to.have.length(1);
    const [message] = solapi.requests[0]?.messages ?? [];
    expect(message).to.deep.include({ id: item.id, jobKey: "a", tenantId: 7, channel: "sms" });
    expect(message?.message).to.deep.include({ type: "SMS", from: DEFAULTS.sender, to: item.job.to, text: "안내 a" });
    expect(solapi.requests[0]?.options).to.deep.equal({ startBy: 1_000 });
    const sent = { kind: "sent", channel: "sms", groupId: "G-1", messageId: "M-a-sms" };
    expect(conclusions.get(item.id)).to.deep.equal({ outcome: sent, action: { action: "delete" } });
    expect(ledger.recorded).to.have.length(1);
    expect(ledger.recorded[0]).to.deep.equal([{ item, outcome: sent, action: { action: "delete" } }]);
  });

  it("never charges or sends a job the ledger does not admit; its outcome is the ledger's", async () => {
    const cancelled = { kind: "skipped", status: "SKIPPED_CANCELLED", reason: "reservation 12 is cancelled" } as const;
    const ledger = stubLedger({
      admit: (item) => (item.key === "no" ? { admitted: false, outcome: cancelled } : { admitted: true, defaults: DEFAULTS }),
    });
    const solapi = stubSolapi();
    const conclusions = await deliverGroup([received("no"), received("yes")], pipeline(ledger, solapi), running());

    expect(ledger.charged.flat().map((request) => request.item.key)).to.deep.equal(["yes"]);
    expect(solapi.requests.flatMap((request) => request.messages.map((message) => message.jobKey))).to.deep.equal(["yes"]);
    expect(conclusions.get(received("no").id)).to.deep.equal({ outcome: cancelled, action: { action: "delete" } });
    expect(conclusions.get(received("yes").id)?.outcome.kind).to.equal("sent");
  });

  it("never sends a job its charge refused (credits short); its neighbour goes", async () => {
    const short = { kind: "skipped", status: "SKIPPED_BALANCE", reason: "credits 5.00 do not cover 10.00" } as const;
    const poor = received("poor");
    const ledger = stubLedger({ charge: () => ({ refusals: new Map([[poor.id, short]]), startBy: 2_000 }) });
    const solapi = stubSolapi();
    const conclusions = await deliverGroup([poor, received("rich")], pipeline(ledger, solapi), running());

    expect(solapi.requests).to.have.length(1);
    expect(solapi.requests[0]?.messages.map((message) => message.jobKey)).to.deep.equal(["rich"]);
    expect(conclusions.get(poor.id)).to.deep.equal({ outcome: short, action: { action: "delete" } });
    expect(conclusions.get(received("rich").id)?.outcome.kind).to.equal("sent");
  });

  it("`both`: an AlimTalk refused is charged again as SMS replacing the AlimTalk, sent as SMS, the refusal kept", async () => {
    const ledger = stubLedger();
    const solapi = stubSolapi({
      answer: (message) => (message.channel === "alimtalk" ? refusal("3105 template not registered") : accepted(message)),
    });
    const deps = pipeline(ledger, solapi);
    const item = received("both", { message_mode: "both" });
    const conclusions = await deliverGroup([item], deps, running());

    expect(ledger.charged.map((round) => round.map(({ channel, replacing }) => ({ channel, replacing })))).to.deep.equal([
      [{ channel: "alimtalk", replacing: undefined }],
      [{ channel: "sms", replacing: "alimtalk" }],
    ]);
    const [alimtalk, sms] = solapi.requests.map((request) => request.messages[0]?.message);
    // Solapi's own substitute rides along, for an AlimTalk accepted but undeliverable later.
    expect(alimtalk).to.deep.include({ type: "ATA" });
    expect(alimtalk?.kakaoOptions).to.deep.include({ pfId: DEFAULTS.pfId, templateId: DEFAULTS.templateId, disableSms: false });
    expect(sms).to.deep.include({ type: "SMS", from: DEFAULTS.sender });
    expect(conclusions.get(item.id)?.outcome).to.deep.equal({
      kind: "sent",
      channel: "sms",
      groupId: "G-1",
      messageId: "M-both-sms",
      fellBackFrom: "alimtalk",
      fallbackReason: "3105 template not registered",
    });
    await tick();
    expect(deps.lines().map((line) => line.message)).to.include("alimtalk refused; falling back to SMS/LMS");
  });

  it("`both`: our Solapi balance running short is no reason to fall back: the job waits, nothing sent as SMS", async () => {
    const ledger = stubLedger();
    const solapi = stubSolapi({ answer: () => refusal("2230 balance too low", true) });
    const item = received("broke", { message_mode: "both" });
    const conclusion = (await deliverGroup([item], pipeline(ledger, solapi), running())).get(item.id);

    expect(ledger.charged).to.have.length(1);
    expect(solapi.requests).to.have.length(1);
    expect(conclusion?.outcome).to.deep.include({ kind: "retry", ambiguous: false, minDelaySeconds: 300, alert: true });
    expect(conclusion?.action.action).to.equal("retry-later");
  });

  it("shutdown before the group starts: every job released untouched, nothing admitted, charged or sent", async () => {
    const ledger = stubLedger();
    const solapi = stubSolapi();
    const jobs = [received("a"), received("b")];
    const conclusions = await deliverGroup(jobs, pipeline(ledger, solapi), AbortSignal.abort());

    expect(ledger.admitted).to.deep.equal([]);
    expect(ledger.charged).to.deep.equal([]);
    expect(solapi.requests).to.deep.equal([]);
    for (const item of jobs) {
      expect(conclusions.get(item.id)).to.deep.equal({
        outcome: { kind: "released", reason: "worker is shutting down" },
        action: { action: "release" },
      });
    }
    expect(ledger.recorded[0]?.map((concluded) => concluded.outcome.kind)).to.deep.equal(["released", "released"]);
  });

  it("shutdown while admitting: the admitted jobs are released before any charge; a refused one keeps its outcome", async () => {
    const shutdown = new AbortController();
    const failed = { kind: "failed", reason: "sender 0399999999 is not a sender number of tenant 7" } as const;
    const ledger = stubLedger({
      admit: (item) => {
        shutdown.abort();
        return item.key === "foreign" ? { admitted: false, outcome: failed } : { admitted: true, defaults: DEFAULTS };
      },
    });
    const solapi = stubSolapi();
    const conclusions = await deliverGroup([received("a"), received("foreign")], pipeline(ledger, solapi), shutdown.signal);

    expect(ledger.charged).to.deep.equal([]);
    expect(solapi.requests).to.deep.equal([]);
    expect(conclusions.get(received("a").id)?.outcome).to.deep.equal({ kind: "released", reason: "worker is shutting down" });
    expect(conclusions.get(received("foreign").id)?.outcome).to.deep.equal(failed);
  });

  it("sends the jobs of a group on their first receive in one Solapi request per round; a job received again alone", async () => {
    const ledger = stubLedger();
    const solapi = stubSolapi();
    const jobs = [received("a"), received("b"), received("again", {}, 2), received("c")];
    const conclusions = await deliverGroup(jobs, pipeline(ledger, solapi), running());

    expect(ledger.charged).to.have.length(1);
    expect(solapi.requests.map((request) => request.messages.map((message) => message.jobKey))).to.deep.equal([["a", "b", "c"], ["again"]]);
    expect([...conclusions.values()].map((conclusion) => conclusion.outcome.kind)).to.deep.equal(["sent", "sent", "sent", "sent"]);
  });

  it("sends a round's SMS fallbacks together, in one request after the first round's", async () => {
    const ledger = stubLedger();
    const solapi = stubSolapi({
      answer: (message) => (message.channel === "alimtalk" ? refusal("3105 template not registered") : accepted(message)),
    });
    const jobs = [received("x", { message_mode: "both" }), received("y", { message_mode: "both" }), received("z")];
    await deliverGroup(jobs, pipeline(ledger, solapi), running());

    expect(solapi.requests.map((request) => request.messages.map((message) => `${message.jobKey} ${message.channel}`))).to.deep.equal([
      ["x alimtalk", "y alimtalk", "z sms"],
      ["x sms", "y sms"],
    ]);
  });
});

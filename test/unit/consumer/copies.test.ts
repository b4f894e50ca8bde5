import { expect } from "chai";
import { JobsInFlight } from "../../../worker/src/consumer/copies";
import { type JobEntry, readEntry } from "../../../worker/src/consumer/entry";
import type { JobOutcome } from "../../../worker/src/pipeline/outcome";
import { jobBody, message } from "./fakes";

function jobEntry(key: string, tenantId = 1): JobEntry {
  const entry = readEntry(message(jobBody(key, { tenant_id: tenantId })));
  if (entry.job === undefined) throw new Error(`not a job: ${entry.poisonReason}`);
  return entry;
}

const SENT: JobOutcome = { kind: "sent", channel: "sms", groupId: "G", messageId: "M" };

describe("JobsInFlight (copies of one job received while it is in flight)", () => {
  it("the first message of a job owns it; a second in the same receive is a copy", () => {
    const jobs = new JobsInFlight();
    const [first, second, other] = [jobEntry("twice"), jobEntry("twice"), jobEntry("once")];
    const { owned, copies } = jobs.admit([first, second, other]);
    expect(owned).to.deep.equal([first, other]);
    expect(copies.map((copy) => copy.entry)).to.deep.equal([second]);
  });

  it("a copy in a later receive mirrors its owner: a sent job's copy is a duplicate, deleted", async () => {
    const jobs = new JobsInFlight();
    const owner = jobEntry("k");
    jobs.admit([owner]);
    const [copy] = jobs.admit([jobEntry("k")]).copies;
    jobs.settle(owner, SENT);
    expect(await copy?.outcome).to.deep.include({ kind: "duplicate", status: "SENT" });
  });

  it("a copy of a job that is to be retried is retried too, as uncertain", async () => {
    const jobs = new JobsInFlight();
    const owner = jobEntry("k");
    const { copies } = jobs.admit([owner, jobEntry("k")]);
    jobs.settle(owner, { kind: "retry", reason: "503", ambiguous: false, minDelaySeconds: 0, alert: false });
    expect(await copies[0]?.outcome).to.include({ kind: "retry", ambiguous: true });
  });

  it("the same key of two tenants is two jobs", () => {
    const { owned, copies } = new JobsInFlight().admit([jobEntry("reminder-7", 1), jobEntry("reminder-7", 2)]);
    expect([owned.length, copies.length]).to.deep.equal([2, 0]);
  });

  it("once the owner is acknowledged, the next message of the job owns it afresh; a copy's release frees nothing", () => {
    const jobs = new JobsInFlight();
    const owner = jobEntry("k");
    const { copies } = jobs.admit([owner, jobEntry("k")]);
    const copy = copies[0]?.entry;
    if (copy) jobs.release(copy);
    expect(jobs.admit([jobEntry("k")]).owned, "still in flight").to.have.length(0);
    jobs.release(owner);
    expect(jobs.size).to.equal(0);
    expect(jobs.admit([jobEntry("k")]).owned).to.have.length(1);
  });

  it("a copy does not settle its owner's copies", async () => {
    const jobs = new JobsInFlight();
    const owner = jobEntry("k");
    const { copies } = jobs.admit([owner, jobEntry("k")]);
    const first = copies[0];
    if (first) jobs.settle(first.entry, SENT);
    const settled = await Promise.race([first?.outcome, new Promise((resolve) => setImmediate(() => resolve("waiting")))]);
    expect(settled).to.equal("waiting");
  });
});

import { expect } from "chai";
import { readEntry, receivedJob, sortEntries } from "../../../worker/src/consumer/entry";
import { jobBody, message } from "./fakes";

describe("reading a receive (entry.ts)", () => {
  it("sorts out the messages that are not jobs, keeping each side's order", () => {
    const entries = [message(jobBody("a")), message("not json"), message(jobBody("b")), message({ tenant_id: 1 })].map(readEntry);
    const { jobs, poison } = sortEntries(entries);
    expect(jobs.map((entry) => entry.key)).to.deep.equal(["a", "b"]);
    expect(poison.map((entry) => entry.poisonReason?.split(":")[0])).to.deep.equal(["invalid job", "invalid job"]);
  });

  it("hands the pipeline a job whose claim lasts as long as its message stays hidden", () => {
    const [entry] = sortEntries([readEntry(message(jobBody("a"), { receivedAt: 1_000_000, receiveCount: 2 }))]).jobs;
    if (!entry) throw new Error("not a job");
    expect(receivedJob(entry, 30, 1_010_000)).to.deep.include({ key: "a", receiveCount: 2, leaseMs: 20_000 });
    expect(receivedJob(entry, 30, 1_040_000).leaseMs, "never below nothing").to.equal(0);
  });
});

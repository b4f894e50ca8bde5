import { expect } from "chai";
import { parseSince } from "../../worker/src/cli/trace";

describe("trace --since", () => {
  const now = new Date("2026-11-26T12:00:00Z");
  it("reads minutes, hours and days before now, or a date", () => {
    expect(parseSince("30m", now).toISOString()).to.equal("2026-11-26T11:30:00.000Z");
    expect(parseSince("24h", now).toISOString()).to.equal("2026-11-25T12:00:00.000Z");
    expect(parseSince("7d", now).toISOString()).to.equal("2026-11-19T12:00:00.000Z");
    expect(parseSince("2026-11-01", now).toISOString()).to.equal("2026-11-01T00:00:00.000Z");
  });
  it("names what it cannot read", () => {
    expect(() => parseSince("last week", now)).to.throw(/--since: "last week"/);
  });
});

import { expect } from "chai";
import { parseSince, printable } from "../../worker/src/cli/trace";

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

describe("trace output", () => {
  it("drops terminal escapes and other control characters from a field, keeping its words", () => {
    expect(printable("clinic\u001b[2J\u001b[31m_reminder")).to.equal("clinic[2J[31m_reminder");
    expect(printable("line one\nline two\ttab\r")).to.equal("line one line two tab ");
    expect(printable("a\u0007b\u007fc\u009bd")).to.equal("abcd");
    expect(printable("김민준\u202e정상\u2066")).to.equal("김민준정상");
    expect(printable("SKIPPED_BALANCE: 잔액 부족 (10.00 < 30.00)")).to.equal("SKIPPED_BALANCE: 잔액 부족 (10.00 < 30.00)");
  });
});

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect } from "chai";
import { describeDelivery } from "../../worker/src/cli/trace";
import { describeStatusCode, STATUS_CODE_MEANINGS } from "../../worker/src/delivery/codes";
import { checkPolicy, nextCheckDelayMs, RESULT_BOUND_MS, readReport, settle } from "../../worker/src/delivery/decide";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe("delivery decisions", () => {
  describe("reading Solapi's list entry", () => {
    it("4000 is DELIVERED on the channel that was sent", () => {
      expect(readReport({ statusCode: "4000", type: "SMS", replacement: false }, "sms")).to.deep.equal({
        kind: "final",
        status: "DELIVERED",
        code: "4000",
        channel: "sms",
        replaced: false,
      });
    });

    it("any other four-digit code but 2000 and 3000 is a final failure", () => {
      for (const code of ["3104", "3043", "2060", "3999", "1062"]) {
        expect(readReport({ statusCode: code, replacement: false }, "lms"), code).to.deep.include({
          kind: "final",
          status: "UNDELIVERED",
          code,
        });
      }
    });

    it("2000 and 3000 are still on their way", () => {
      expect(readReport({ statusCode: "2000", replacement: false }, "sms")).to.deep.include({ kind: "pending" });
      expect(readReport({ statusCode: "3000", replacement: false }, "sms")).to.deep.equal({
        kind: "pending",
        note: "3000 with the carrier or Kakao, waiting for its report",
      });
    });

    it("a missing entry or an unreadable code proves nothing", () => {
      expect(readReport(undefined, "sms")).to.deep.equal({ kind: "pending", note: "not in Solapi's answer" });
      for (const statusCode of [undefined, "", "OK", "40000", "4OOO", " "]) {
        expect(readReport({ statusCode, replacement: false }, "sms").kind, String(statusCode)).to.equal("pending");
      }
    });

    it("an AlimTalk replaced by Solapi's substitute reached the phone as the substitute's type", () => {
      expect(readReport({ statusCode: "4000", type: "SMS", replacement: true }, "alimtalk")).to.deep.include({
        status: "DELIVERED",
        channel: "sms",
        replaced: true,
      });
      expect(readReport({ statusCode: "4000", type: "LMS", replacement: true }, "alimtalk")).to.deep.include({
        channel: "lms",
        replaced: true,
      });
      expect(readReport({ statusCode: "3043", type: "SMS", replacement: true }, "alimtalk")).to.deep.include({
        status: "UNDELIVERED",
        channel: "sms",
      });
      // Only an AlimTalk has a substitute.
      expect(readReport({ statusCode: "4000", type: "LMS", replacement: true }, "sms")).to.deep.include({
        channel: "sms",
        replaced: false,
      });
    });
  });

  describe("when to look again", () => {
    const policy = checkPolicy(300);

    it("doubles from the first delay, up to six hours apart", () => {
      expect(nextCheckDelayMs(1, 5 * MINUTE, policy)).to.equal(10 * MINUTE);
      expect(nextCheckDelayMs(2, 15 * MINUTE, policy)).to.equal(20 * MINUTE);
      expect(nextCheckDelayMs(3, 35 * MINUTE, policy)).to.equal(40 * MINUTE);
      expect(nextCheckDelayMs(7, 11 * HOUR, policy)).to.equal(6 * HOUR);
      expect(nextCheckDelayMs(12, 40 * HOUR, policy)).to.equal(6 * HOUR);
    });

    it("looks a last time at the bound, 73 hours after acceptance, then gives up", () => {
      expect(RESULT_BOUND_MS).to.equal(73 * HOUR);
      expect(nextCheckDelayMs(15, 70 * HOUR, policy)).to.equal(3 * HOUR);
      expect(nextCheckDelayMs(16, 73 * HOUR, policy)).to.equal(undefined);
      expect(nextCheckDelayMs(16, 80 * HOUR, policy)).to.equal(undefined);
    });

    it("takes at most 18 looks from acceptance to the bound at the default delay", () => {
      let looks = 1;
      let age = 5 * MINUTE;
      for (let delay = nextCheckDelayMs(looks, age, policy); delay !== undefined; delay = nextCheckDelayMs(looks, age, policy)) {
        age += delay;
        looks += 1;
      }
      expect(looks).to.equal(18);
      expect(age).to.equal(73 * HOUR);
    });
  });

  describe("what the academy pays", () => {
    const prices = { sms: "10.00", lms: "30.00" };

    it("an UNDELIVERED message's whole charge goes back", () => {
      expect(
        settle({ kind: "final", status: "UNDELIVERED", code: "3104", channel: "alimtalk", replaced: false }, "8.00", prices),
      ).to.deep.equal({ charge: "0.00", deltaCents: -800 });
      expect(settle({ kind: "final", status: "UNDELIVERED", code: "3043", channel: "sms", replaced: true }, "8.00", prices)).to.deep.equal({
        charge: "0.00",
        deltaCents: -800,
      });
    });

    it("a DELIVERED message keeps its charge", () => {
      expect(settle({ kind: "final", status: "DELIVERED", code: "4000", channel: "lms", replaced: false }, "30.00", prices)).to.deep.equal({
        charge: "30.00",
        deltaCents: 0,
      });
    });

    it("a substitute that was delivered costs the tenant's price for its type", () => {
      expect(settle({ kind: "final", status: "DELIVERED", code: "4000", channel: "sms", replaced: true }, "8.00", prices)).to.deep.equal({
        charge: "10.00",
        deltaCents: 200,
      });
      expect(settle({ kind: "final", status: "DELIVERED", code: "4000", channel: "lms", replaced: true }, "8.00", prices)).to.deep.equal({
        charge: "30.00",
        deltaCents: 2200,
      });
      expect(settle({ kind: "final", status: "DELIVERED", code: "4000", channel: "sms", replaced: true }, "15.00", prices)).to.deep.equal({
        charge: "10.00",
        deltaCents: -500,
      });
    });
  });

  describe("what trace shows", () => {
    const none = { status: null, code: null, channel: null, note: null, checks: 0, nextCheckAt: null };

    it("a result with its code's meaning, and a substitute's channel", () => {
      expect(
        describeDelivery("SENT", { ...none, status: "UNDELIVERED", code: "3104", channel: "alimtalk", checks: 1 }, "alimtalk"),
      ).to.equal("UNDELIVERED 3104 not a KakaoTalk user");
      expect(describeDelivery("SENT", { ...none, status: "DELIVERED", code: "4000", channel: "sms", checks: 1 }, "alimtalk")).to.equal(
        "DELIVERED 4000 delivered (as sms: Solapi's substitute)",
      );
    });

    it("where a check stands when there is no result yet", () => {
      expect(describeDelivery("SENT", none, "sms")).to.equal("not looked up yet");
      const next = new Date("2026-11-26T03:04:05Z");
      expect(
        describeDelivery(
          "SENT",
          { ...none, checks: 1, note: "3000 with the carrier or Kakao, waiting for its report", nextCheckAt: next },
          "sms",
        ),
      ).to.match(/^pending: 3000 with the carrier or Kakao, waiting for its report; next look 2026-11-26 .+ KST$/);
      expect(describeDelivery("SENT", { ...none, checks: 18, note: "no final result within 73 h; last: 3000 …" }, "sms")).to.equal(
        "unknown: no final result within 73 h; last: 3000 …",
      );
      expect(describeDelivery("FAILED", none, "sms")).to.equal("");
    });
  });

  it("names codes missing from the table by their range", () => {
    expect(describeStatusCode("3104")).to.equal("not a KakaoTalk user");
    expect(describeStatusCode("3999")).to.equal("carrier or Kakao failure (code not in Solapi's list)");
    expect(describeStatusCode("TEST")).to.equal("unknown code");
  });
});

describe("the status code table in docs/operations.md", () => {
  it("says what the code says, code for code", () => {
    const documented = readFileSync(resolve(__dirname, "../../docs/operations.md"), "utf8")
      .split("\n")
      .flatMap((line) => {
        const match = /^\| (\d{4}) \| (.+) \|$/.exec(line);
        return match ? [[match[1]!, match[2]!] as const] : [];
      });
    expect(Object.fromEntries(documented)).to.deep.equal(STATUS_CODE_MEANINGS);
  });
});

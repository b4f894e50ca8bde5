import { expect } from "chai";
import {
  buildAlimtalkMessage,
  buildTextMessage,
  lmsSubject,
  measureText,
  solapiJobKey,
  textChannel,
} from "../../worker/src/solapi/messages";

describe("Solapi message building", () => {
  describe("EUC-KR byte count and SMS/LMS choice (90 bytes)", () => {
    it("counts ASCII as 1 byte and Hangul as 2", () => {
      expect(measureText("hello")).to.deep.equal({ bytes: 5, smsCompatible: true });
      expect(measureText("안녕하세요")).to.deep.equal({ bytes: 10, smsCompatible: true });
      expect(measureText("[학원] 3시 수업")).to.deep.equal({ bytes: 15, smsCompatible: true });
    });

    it("keeps 90 ASCII characters or 45 Hangul in one SMS and moves one more byte to LMS", () => {
      expect(textChannel("a".repeat(90))).to.equal("sms");
      expect(textChannel("a".repeat(91))).to.equal("lms");
      expect(textChannel("가".repeat(45))).to.equal("sms");
      expect(textChannel(`${"가".repeat(44)}ab`)).to.equal("sms");
      expect(textChannel(`${"가".repeat(45)}a`)).to.equal("lms");
    });

    it("sends text with emoji or characters outside KS X 1001 as LMS, which SMS would refuse (1029)", () => {
      expect(measureText("수업 😀")).to.deep.equal({ bytes: 9, smsCompatible: false });
      expect(textChannel("수업 😀")).to.equal("lms");
      expect(textChannel("똠방각하")).to.equal("lms");
      expect(textChannel("가격 €5 · ①")).to.equal("sms");
    });

    it("sends a syllable that only CP949 has (lead byte in KS X 1001's range, trail byte below it) as LMS", () => {
      // 좥 is A1 41 and 힣 is C6 52 in CP949: the lead byte alone would pass them for KS X 1001.
      expect(measureText("좥")).to.deep.equal({ bytes: 2, smsCompatible: false });
      expect(textChannel("수업 좥")).to.equal("lms");
      expect(textChannel("힣")).to.equal("lms");
      expect(
        buildTextMessage({ jobKey: "cp949", tenantId: 1, to: "01012345678", from: "0212345678", text: "좥 안내" }).message.type,
      ).to.equal("LMS");
      expect(lmsSubject("좥 안내")).to.equal("안내");
    });
  });

  it("derives an LMS subject from the first line, cut at 40 bytes on a character boundary", () => {
    expect(lmsSubject("\n[한빛학원] 12월 수업 일정 안내\n본문")).to.equal("[한빛학원] 12월 수업 일정 안내");
    const subject = lmsSubject("가".repeat(30));
    expect(subject).to.equal("가".repeat(20));
    expect(measureText(lmsSubject(`a${"가".repeat(30)}`)).bytes).to.equal(39);
    expect(lmsSubject("본문", "😀 공지 😀")).to.equal("공지");
  });

  it("builds SMS and LMS messages with the job's key and tenant in customFields", () => {
    const sms = buildTextMessage({ jobKey: "job-1", tenantId: 1, to: "01012345678", from: "0212345678", text: "짧은 안내" });
    expect(sms).to.deep.equal({
      channel: "sms",
      message: { to: "01012345678", from: "0212345678", text: "짧은 안내", type: "SMS", customFields: { jobKey: "job-1", tenantId: "1" } },
    });
    const lms = buildTextMessage({ jobKey: "job-2", tenantId: 1, to: "01012345678", from: "0212345678", text: "가".repeat(60) });
    expect(lms.channel).to.equal("lms");
    expect(lms.message).to.include({ type: "LMS", subject: "가".repeat(20) });
  });

  it("builds AlimTalk with kakaoOptions; with a substitute, Solapi's own SMS replacement is on", () => {
    const only = buildAlimtalkMessage({
      jobKey: "k",
      tenantId: 1,
      to: "01012345678",
      pfId: "PF",
      templateId: "TP",
      variables: { name: "민준" },
    });
    expect(only.message).to.deep.equal({
      to: "01012345678",
      type: "ATA",
      kakaoOptions: { pfId: "PF", templateId: "TP", variables: { "#{name}": "민준" }, disableSms: true },
      customFields: { jobKey: "k", tenantId: "1" },
    });
    const withSubstitute = buildAlimtalkMessage({
      jobKey: "k",
      tenantId: 1,
      to: "01012345678",
      pfId: "PF",
      templateId: "TP",
      variables: {},
      substitute: { from: "0212345678", text: "대체 문자" },
    });
    expect(withSubstitute.message.kakaoOptions?.disableSms).to.equal(false);
    expect(withSubstitute.message.replacements).to.deep.equal([{ to: "01012345678", from: "0212345678", text: "대체 문자", type: "SMS" }]);
  });

  it("keeps custom field values within Solapi's 100 characters", () => {
    expect(solapiJobKey("short")).to.equal("short");
    const long = solapiJobKey("x".repeat(101));
    expect(long).to.match(/^sha256:[0-9a-f]{64}$/);
    expect(long.length).to.be.at.most(100);
  });
});

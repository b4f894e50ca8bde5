import { expect } from "chai";
import { maskPhone } from "../../worker/src/log";
import { buildAlimtalkMessage, buildTextMessage } from "../../worker/src/solapi/messages";
import { redactMockRequest } from "../../worker/src/solapi/mock-redaction";

const STUDENT = "김민준";
const request = {
  messages: [
    buildTextMessage({
      jobKey: "sms-1",
      tenantId: 1,
      to: "01012345678",
      from: "0212345678",
      text: `[한빛학원] ${STUDENT} 학생 클리닉 안내`,
    }).message,
    buildTextMessage({
      jobKey: "lms-1",
      tenantId: 1,
      to: "01012345678",
      from: "0212345678",
      text: `[한빛학원] ${STUDENT} 학생\n${"긴 안내 ".repeat(30)}`,
      subject: `${STUDENT} 안내`,
    }).message,
    buildAlimtalkMessage({
      jobKey: "ata-1",
      tenantId: 1,
      to: "01012345678",
      pfId: "KA01PF-HANBIT",
      templateId: "KA01TP-CLINIC",
      variables: { 학생명: STUDENT, 시간: "11월 27일 오후 4시" },
      substitute: { from: "0212345678", text: `${STUDENT} 학생 클리닉은 11월 27일입니다` },
    }).message,
  ],
  allowDuplicates: true,
  agent: { sdkVersion: "js/6.0.1", osPlatform: "linux" },
};

describe("mock mode print with SOLAPI_MOCK_SHOW_TEXT=false", () => {
  const printed = maskPhone(redactMockRequest(JSON.stringify(request, null, 2)));
  const shown = JSON.parse(printed);

  it("holds no message text, subject, variable value or substitute text", () => {
    expect(printed).not.to.contain(STUDENT);
    expect(printed).not.to.contain("클리닉");
    expect(printed).not.to.contain("11월 27일");
    expect(printed).not.to.contain("01012345678");
  });

  it("keeps the structure: types, sender, masked recipient, channel, template, variable names, job keys", () => {
    expect(shown.messages.map((message: { type: string }) => message.type)).to.deep.equal(["SMS", "LMS", "ATA"]);
    expect(shown.messages[0]).to.deep.include({
      to: "010****5678",
      from: "0212345678",
      text: `[redacted: ${[...request.messages[0]!.text!].length} characters]`,
    });
    expect(shown.messages[0].customFields).to.deep.equal(request.messages[0]!.customFields);
    expect(shown.messages[1].subject).to.match(/^\[redacted: \d+ characters\]$/);
    expect(shown.messages[2].kakaoOptions).to.deep.equal({
      pfId: "KA01PF-HANBIT",
      templateId: "KA01TP-CLINIC",
      variables: { "#{학생명}": "[redacted]", "#{시간}": "[redacted]" },
      disableSms: false,
    });
    expect(shown.messages[2].replacements[0]).to.deep.include({ to: "010****5678", from: "0212345678", type: "SMS" });
    expect(shown.messages[2].replacements[0].text).to.match(/^\[redacted: \d+ characters\]$/);
    expect(shown).to.deep.include({ allowDuplicates: true, agent: request.agent });
  });

  it("redacts a request of any other shape whole rather than print it", () => {
    expect(redactMockRequest(JSON.stringify({ text: `${STUDENT} 안내` }))).not.to.contain(STUDENT);
    expect(redactMockRequest(`{"text": "${STUDENT}`)).to.equal("[redacted: not JSON]");
  });
});

import { expect } from "chai";
import { parseJob } from "../../worker/src/job";
import { toJobBody } from "../../worker/src/producer";
import { buildReplacements, TEMPLATE_VARIABLES, TemplateVariable, templateContextFromReservation } from "../../worker/src/templates";

describe("AlimTalk templates", () => {
  it("names the standard variables", () => {
    expect(TEMPLATE_VARIABLES).to.deep.equal(["name", "date", "time", "clinic_name", "place", "link", "title"]);
    expect(TemplateVariable.CLINIC_NAME).to.equal("clinic_name");
  });

  it("builds alimtalk_replacements in the Python producer's shape, leaving out empty values", () => {
    expect(buildReplacements({ name: "김민준", place: "", title: null, link: undefined, seat: 12 })).to.deep.equal([
      { key: "#{name}", value: "김민준" },
      { key: "#{seat}", value: "12" },
    ]);
    expect(() => buildReplacements({ "a.b": "x" })).to.throw(TypeError, /a\.b/);
  });

  it("formats a reservation in Seoul time, whatever the machine's time zone", () => {
    const context = templateContextFromReservation({
      studentName: "김민준",
      startsAt: "2026-12-01T06:00:00Z",
      clinicName: "수학 클리닉",
      place: "본관 301호",
      link: "https://academy.example/r/1",
      title: "보충 수업",
    });
    expect(context).to.deep.equal({
      name: "김민준",
      date: "2026년 12월 1일 (화)",
      time: "오후 3:00",
      clinic_name: "수학 클리닉",
      place: "본관 301호",
      link: "https://academy.example/r/1",
      title: "보충 수업",
    });
    expect(templateContextFromReservation({ startsAt: new Date("2026-11-30T15:30:00Z") })).to.include({
      date: "2026년 12월 1일 (화)",
      time: "오전 12:30",
    });
    expect(() => templateContextFromReservation({ startsAt: "someday" })).to.throw(TypeError, /startsAt/);
  });

  it("round-trips: a context enqueued by the producer arrives as the job's variables", () => {
    const body = toJobBody({
      tenantId: 1,
      to: "010-1234-5678",
      text: "안내",
      messageMode: "alimtalk",
      templateContext: templateContextFromReservation({ studentName: "민준", startsAt: "2026-12-01T06:00:00Z" }),
    });
    expect(parseJob(body).variables).to.deep.equal({ name: "민준", date: "2026년 12월 1일 (화)", time: "오후 3:00" });
  });
});

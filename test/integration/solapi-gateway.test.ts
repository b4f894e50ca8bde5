/**
 * The real `solapi` SDK, through the worker's transport, against a fake Solapi HTTP server.
 */
import { expect } from "chai";
import { createSolapiGateway, type OutgoingMessage, type SolapiGateway } from "../../worker/src/solapi/client";
import { buildAlimtalkMessage, buildTextMessage } from "../../worker/src/solapi/messages";
import { solapiConfigFor } from "../support/config";
import { type FakeSolapi, startFakeSolapi, UNAPPROVED_TEMPLATE_PREFIX } from "../support/fake-solapi";

const to = "01012345678";
const tenantId = 1;
const sms = (jobKey: string, text = "수업 안내"): OutgoingMessage => ({
  id: jobKey,
  jobKey,
  tenantId,
  ...buildTextMessage({ jobKey, tenantId, to, from: "0212345678", text }),
});
const ata = (jobKey: string, templateId = "KA01TP-OK"): OutgoingMessage => ({
  id: jobKey,
  jobKey,
  tenantId,
  ...buildAlimtalkMessage({ jobKey, tenantId, to, pfId: "PF", templateId, variables: { name: "민준" } }),
});

describe("Solapi gateway (real SDK → fake Solapi)", () => {
  let fake: FakeSolapi;
  let gateway: SolapiGateway;

  beforeEach(async () => {
    fake = await startFakeSolapi();
    gateway = createSolapiGateway(solapiConfigFor(fake, { timeoutMs: 800 }));
  });

  afterEach(async () => {
    gateway.close();
    await fake.close();
  });

  it("sends a group in one signed request and returns each message's ids", async () => {
    const results = await gateway.send([sms("a"), sms("b", "가".repeat(60)), ata("c")]);
    expect(fake.sendRequests).to.have.length(1);
    expect(fake.sendRequests[0]!.signatureValid).to.equal(true);
    expect(fake.sendRequests[0]!.body).to.include({ allowDuplicates: true, showMessageList: true });
    expect(fake.accepted.map((message) => [message.jobKey, message.type])).to.deep.equal([
      ["a", "SMS"],
      ["b", "LMS"],
      ["c", "ATA"],
    ]);
    for (const key of ["a", "b", "c"]) {
      const result = results.get(key)!;
      expect(result.status, key).to.equal("accepted");
      expect(result.status === "accepted" && result.messageId).to.equal(fake.acceptedFor(key)[0]!.messageId);
      expect(result.status === "accepted" && result.groupId).to.equal(fake.acceptedFor(key)[0]!.groupId);
    }
  });

  it("reads partial failures from failedMessageList: the rest are still accepted", async () => {
    const results = await gateway.send([sms("ok"), ata("refused", `${UNAPPROVED_TEMPLATE_PREFIX}-T`)]);
    expect(results.get("ok")!.status).to.equal("accepted");
    expect(results.get("refused")).to.deep.include({ status: "refused", statusCode: "1042", kind: "permanent" });
  });

  it("reads a request where every message was refused (MessageNotReceivedError) per message", async () => {
    const results = await gateway.send([ata("x", `${UNAPPROVED_TEMPLATE_PREFIX}-1`), ata("y", `${UNAPPROVED_TEMPLATE_PREFIX}-2`)]);
    expect([...results.values()].map((result) => result.status)).to.deep.equal(["refused", "refused"]);
  });

  const statuses: [string, Parameters<FakeSolapi["next"]>[0], Record<string, unknown>][] = [
    ["400", { kind: "status", status: 400, errorCode: "ValidationError" }, { kind: "permanent", ambiguous: false }],
    ["429", { kind: "status", status: 429, errorCode: "TooManyRequests" }, { kind: "transient", ambiguous: false, minRetrySeconds: 30 }],
    ["500", { kind: "status", status: 500, errorCode: "InternalError" }, { kind: "transient", ambiguous: true }],
    ["502 (HTML)", { kind: "status", status: 502, html: true }, { kind: "transient", ambiguous: true, httpStatus: 502 }],
  ];
  for (const [name, behaviour, expected] of statuses) {
    it(`classifies HTTP ${name} and makes exactly one request`, async () => {
      fake.next(behaviour);
      const result = (await gateway.send([sms("k")])).get("k")!;
      expect(result.status).to.equal("failed");
      expect(result.status === "failed" && result.error).to.include(expected);
      expect(fake.sendRequests).to.have.length(1);
    });
  }

  it("503: the SDK's own retries are harmless (nothing was taken); a later 200 is accepted once", async () => {
    fake.next({ kind: "status", status: 503 }, { kind: "status", status: 503 });
    const result = (await gateway.send([sms("k")])).get("k")!;
    expect(result.status).to.equal("accepted");
    expect(fake.sendRequests).to.have.length(3);
    expect(fake.acceptedFor("k")).to.have.length(1);
  });

  it("503 that persists ends as a transient failure, not ambiguous", async () => {
    fake.always({ kind: "status", status: 503 });
    const result = (await gateway.send([sms("k")])).get("k")!;
    expect(result.status === "failed" && result.error).to.include({ kind: "transient", ambiguous: false });
    expect(fake.accepted).to.have.length(0);
  });

  it("a hang past SOLAPI_TIMEOUT_MS fails after one request and is never re-sent by the SDK", async () => {
    fake.always({ kind: "hang" });
    const started = Date.now();
    const result = (await gateway.send([sms("k")])).get("k")!;
    expect(Date.now() - started).to.be.within(700, 2_000);
    expect(result.status === "failed" && result.error).to.include({ kind: "transient", ambiguous: true, code: "transport_timeout" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.sendRequests).to.have.length(1);
  });

  it("a connection dropped after Solapi accepted is one request, ambiguous, and the message exists once", async () => {
    fake.next({ kind: "drop-after-accept" });
    const result = (await gateway.send([sms("k")])).get("k")!;
    expect(result.status === "failed" && result.error).to.include({ kind: "transient", ambiguous: true });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fake.sendRequests).to.have.length(1);
    expect(fake.acceptedFor("k")).to.have.length(1);
  });

  it("a connection reset after Solapi accepted is not re-sent by the SDK (bare, it sends 4 times)", async () => {
    fake.always({ kind: "reset-after-accept" });
    const result = (await gateway.send([sms("k")])).get("k")!;
    expect(result.status === "failed" && result.error).to.include({ kind: "transient", ambiguous: true, code: "transport_dropped" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fake.sendRequests).to.have.length(1);
    expect(fake.acceptedFor("k")).to.have.length(1);
  });

  it("a connection dropped before the request was read is one request and nothing accepted", async () => {
    fake.next({ kind: "drop-before-read" });
    const result = (await gateway.send([sms("k")])).get("k")!;
    expect(result.status).to.equal("failed");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fake.sendRequests).to.have.length(1);
    expect(fake.accepted).to.have.length(0);
  });

  it("an unreachable Solapi is a transient failure that is safe to retry", async () => {
    const closed = await startFakeSolapi();
    const url = closed.url;
    await closed.close();
    const unreachable = createSolapiGateway(solapiConfigFor(fake, { baseUrl: url, apiKey: `${fake.apiKey}-B` }));
    try {
      const result = (await unreachable.send([sms("k")])).get("k")!;
      expect(result.status === "failed" && result.error).to.include({ kind: "transient", ambiguous: false, code: "transport_unreachable" });
    } finally {
      unreachable.close();
    }
  });

  it("an unreadable 200 answer is ambiguous (Solapi said yes)", async () => {
    fake.next({ kind: "garbage-after-accept" });
    const result = (await gateway.send([sms("k")])).get("k")!;
    expect(result.status === "failed" && result.error).to.include({ ambiguous: true });
    expect(fake.acceptedFor("k")).to.have.length(1);
  });

  it("a request rejected as a whole is split so one bad message cannot fail its neighbours", async () => {
    fake.next({ kind: "status", status: 400, errorCode: "ValidationError" });
    const results = await gateway.send([sms("a"), sms("b"), sms("c")]);
    expect([...results.values()].map((result) => result.status)).to.deep.equal(["accepted", "accepted", "accepted"]);
    expect(fake.sendRequests).to.have.length(4);
    expect(fake.accepted).to.have.length(3);
  });

  it("finds an earlier send by the tenant and job key it carried", async () => {
    await gateway.send([sms("earlier-job")]);
    const since = new Date(Date.now() - 60_000);
    const found = await gateway.findSent({ to, jobKey: "earlier-job", tenantId, since });
    expect(found).to.deep.include({ messageId: fake.acceptedFor("earlier-job")[0]!.messageId, type: "SMS" });
    expect(await gateway.findSent({ to, jobKey: "never-sent", tenantId, since })).to.equal(undefined);
    expect(await gateway.findSent({ to, jobKey: "earlier-job", tenantId: 2, since }), "another tenant's job of that key").to.equal(
      undefined,
    );
    expect(await gateway.findSent({ to, jobKey: "EARLIER-JOB", tenantId, since }), "a key differing in case").to.equal(undefined);
  });

  it("two tenants' jobs with one key travel in one request and each gets its own answer", async () => {
    const mine = { ...sms("reminder-7"), id: "1:reminder-7" };
    const theirs: OutgoingMessage = {
      id: "2:reminder-7",
      jobKey: "reminder-7",
      tenantId: 2,
      ...buildTextMessage({ jobKey: "reminder-7", tenantId: 2, to, from: "0212345678", text: "다른 학원" }),
    };
    const results = await gateway.send([mine, theirs]);
    const ids = fake.accepted.map((message) => message.messageId);
    expect(results.get("1:reminder-7")).to.deep.include({ status: "accepted", messageId: ids[0] });
    expect(results.get("2:reminder-7")).to.deep.include({ status: "accepted", messageId: ids[1] });
    expect(ids[0]).to.not.equal(ids[1]);
  });

  it("a send whose window closed before the request could leave is not sent at all", async () => {
    const results = await gateway.send([sms("too-late")], { startBy: performance.now() - 1 });
    const result = results.get("too-late")!;
    expect(result.status).to.equal("failed");
    expect(result.status === "failed" && result.error).to.include({ kind: "transient", ambiguous: false, code: "transport_late" });
    expect(fake.sendRequests).to.have.length(0);
  });

  it("does not touch requests to other origins or other API keys", async () => {
    const response = await fetch(`${fake.url}/messages/v4/list`);
    expect(response.status).to.equal(401);
  });
});

/**
 * `listMessages`: the real `solapi` SDK's getMessages, through the worker's transport, against the
 * fake Solapi's list — by message ids in one request, by group a page at a time, errors classified.
 */
import { expect } from "chai";
import { createSolapiGateway, LIST_IDS_PER_REQUEST, type SolapiGateway } from "../../worker/src/solapi/client";
import { SolapiRequestError } from "../../worker/src/solapi/errors";
import { buildTextMessage } from "../../worker/src/solapi/messages";
import { SENDER, solapiConfigFor } from "../support/config";
import { type FakeSolapi, startFakeSolapi } from "../support/fake-solapi";

describe("Solapi message list (real SDK → fake Solapi)", () => {
  let fake: FakeSolapi;
  let gateway: SolapiGateway;
  let messageIds: string[];
  let groupId: string;

  beforeEach(async () => {
    fake = await startFakeSolapi({ report: (message) => (message.jobKey === "list-7" ? { statusCode: "3104" } : { statusCode: "4000" }) });
    gateway = createSolapiGateway(solapiConfigFor(fake, { timeoutMs: 800 }));
    const keys = Array.from({ length: 130 }, (_, index) => `list-${index}`);
    const results = await gateway.send(
      keys.map((jobKey) => ({
        id: jobKey,
        jobKey,
        tenantId: 1,
        ...buildTextMessage({ jobKey, tenantId: 1, to: "01012345678", from: SENDER, text: "안내" }),
      })),
    );
    messageIds = keys.map((key) => {
      const result = results.get(key)!;
      if (result.status !== "accepted") throw new Error(`${key} was not accepted`);
      groupId = result.groupId;
      return result.messageId;
    });
  });

  afterEach(async () => {
    gateway.close();
    await fake.close();
  });

  it("asks for up to 100 message ids in one signed request and reads each one's status", async () => {
    const listed = await gateway.listMessages({ messageIds: messageIds.slice(0, LIST_IDS_PER_REQUEST) });
    expect(fake.listRequests).to.have.length(1);
    expect(fake.listRequests[0]!.signatureValid).to.equal(true);
    expect(new URL(fake.listRequests[0]!.path, fake.url).searchParams.getAll("messageIds")).to.deep.equal(messageIds.slice(0, 100));
    expect(listed.map((entry) => entry.messageId)).to.have.members(messageIds.slice(0, 100));
    expect(listed.find((entry) => entry.messageId === messageIds[7])).to.deep.include({
      statusCode: "3104",
      customFields: { jobKey: "list-7", tenantId: "1" },
      type: "SMS",
      replacement: false,
    });
    expect(listed.find((entry) => entry.messageId === messageIds[8])).to.deep.include({ statusCode: "4000", groupId });
  });

  it("refuses more ids than one request carries, before asking", async () => {
    const error = await gateway.listMessages({ messageIds }).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(SolapiRequestError).and.to.include({ kind: "permanent" });
    expect(fake.listRequests).to.have.length(0);
  });

  it("lists a whole group a page at a time, following nextKey", async () => {
    const listed = await gateway.listMessages({ groupId });
    expect(listed.map((entry) => entry.messageId)).to.deep.equal(messageIds);
    expect(fake.listRequests.map((request) => new URL(request.path, fake.url).searchParams.get("startKey"))).to.deep.equal([
      null,
      messageIds[100],
    ]);
  });

  it("an unreadable answer, a failing list and a hung one are classified transient errors, never a result", async () => {
    fake.listFault = "unreadable";
    const unreadable = await gateway.listMessages({ messageIds: messageIds.slice(0, 3) }).catch((caught: unknown) => caught);
    expect(unreadable).to.be.instanceOf(SolapiRequestError).and.to.include({ kind: "transient", code: "ResponseSchemaMismatch" });
    expect((unreadable as Error).message).to.match(/^unreadable Solapi answer: /);
    fake.listFault = "hang";
    const hung = await gateway.listMessages({ messageIds: messageIds.slice(0, 3) }).catch((caught: unknown) => caught);
    expect(hung).to.be.instanceOf(SolapiRequestError).and.to.include({ kind: "transient", code: "transport_timeout" });
    fake.listFault = undefined;
    fake.listStatus = 429;
    const limited = await gateway.listMessages({ messageIds: messageIds.slice(0, 3) }).catch((caught: unknown) => caught);
    expect(limited).to.be.instanceOf(SolapiRequestError).and.to.include({ kind: "transient", httpStatus: 429 });
  });
});

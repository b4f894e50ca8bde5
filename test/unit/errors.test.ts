import { expect } from "chai";
import { BadRequestError, ClientError, DefaultError, NetworkError, ServerError } from "solapi";
import { classifyMessageStatus, classifySolapiError } from "../../worker/src/solapi/errors";

const client = (httpStatus: number, errorCode = "Code") => new ClientError({ errorCode, errorMessage: "message", httpStatus });

describe("Solapi error classification", () => {
  it("validation errors are permanent and keep only the short list, not the 50 KB message", () => {
    const error = classifySolapiError(new BadRequestError({ message: "x".repeat(50_000), validationErrors: ["to: 전화번호 형식"] }));
    expect(error).to.include({ kind: "permanent", ambiguous: false });
    expect(error.message).to.equal("invalid Solapi request: to: 전화번호 형식");
  });

  it("400 and 404 are permanent; nothing was taken", () => {
    expect(classifySolapiError(client(400, "ValidationError"))).to.include({ kind: "permanent", ambiguous: false, httpStatus: 400 });
    expect(classifySolapiError(client(404))).to.include({ kind: "permanent" });
  });

  it("429 is transient with a pause; 401/403 and 402 are transient and raise an alert", () => {
    expect(classifySolapiError(client(429, "TooManyRequests"))).to.include({ kind: "transient", ambiguous: false, minRetrySeconds: 30 });
    expect(classifySolapiError(client(401, "InvalidAPIKey"))).to.include({ kind: "transient", alert: true });
    expect(classifySolapiError(client(403, "RequestTimeTooSkewed"))).to.include({ kind: "transient", alert: true });
    expect(classifySolapiError(client(402, "NotEnoughBalance"))).to.include({ kind: "transient", alert: true, minRetrySeconds: 300 });
  });

  it("5xx is transient and ambiguous: a gateway may have passed the send on", () => {
    const error = classifySolapiError(new ServerError({ errorCode: "InternalError", errorMessage: "boom", httpStatus: 500 }));
    expect(error).to.include({ kind: "transient", ambiguous: true, httpStatus: 500 });
  });

  it("503 after the SDK's retries is transient and not ambiguous", () => {
    const error = classifySolapiError(new DefaultError({ errorCode: "RequestFailedAfterRetryError", errorMessage: "x" }));
    expect(error).to.include({ kind: "transient", ambiguous: false, httpStatus: 503 });
  });

  it("reads the transport's phase: unreachable is safe to retry, a lost answer is ambiguous", () => {
    const network = (cause: string) => classifySolapiError(new NetworkError({ url: "u", method: "POST", cause }));
    expect(network("solapi transport unreachable: could not open a connection")).to.include({
      kind: "transient",
      ambiguous: false,
      code: "transport_unreachable",
    });
    expect(network("solapi transport timeout: no complete answer within 10000 ms")).to.include({
      kind: "transient",
      ambiguous: true,
      code: "transport_timeout",
    });
    expect(network("fetch failed")).to.include({ kind: "transient", ambiguous: true });
  });

  it("an unreadable 2xx answer is ambiguous: Solapi said yes, and it did answer", () => {
    expect(classifySolapiError(new TypeError("Cannot destructure property 'count'"))).to.include({
      kind: "transient",
      ambiguous: true,
      answered: true,
    });
    expect(classifySolapiError(new DefaultError({ errorCode: "ParseError", errorMessage: "bad json" }))).to.include({ ambiguous: true });
  });

  it("per-message statuses: format, template and sender problems are permanent; balance waits; unknown retries", () => {
    for (const code of ["1010", "1042", "1043", "1062", "1031", "1060"])
      expect(classifyMessageStatus(code).kind, code).to.equal("permanent");
    expect(classifyMessageStatus("1062").alert).to.equal(true);
    expect(classifyMessageStatus("1030")).to.deep.equal({
      kind: "transient",
      minRetrySeconds: 300,
      alert: true,
      insufficientBalance: true,
    });
    expect(classifyMessageStatus("2230")).to.include({ kind: "transient", insufficientBalance: true });
    expect(classifyMessageStatus("1042").insufficientBalance).to.equal(false);
    expect(classifyMessageStatus("1024").kind).to.equal("transient");
    expect(classifyMessageStatus("9999").kind).to.equal("transient");
  });
});

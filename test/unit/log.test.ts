import { PassThrough } from "node:stream";
import { expect } from "chai";
import { createLogger, maskPhone } from "../../worker/src/log";

function capture(format: "json" | "pretty", secrets: string[]) {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString("utf8").split("\n").filter(Boolean)));
  return { log: createLogger({ level: "debug", format, secrets, stream }), lines };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("logging (docs/contract.md §7)", () => {
  it("masks mobile numbers, bare or hyphenated, and leaves other digits alone", () => {
    expect(maskPhone("01012345678")).to.equal("010****5678");
    expect(maskPhone("to 010-1234-5678 and 0111234567")).to.equal("to 010****5678 and 011***4567");
    expect(maskPhone("group G4V20261126031703 sender 0212345678")).to.equal("group G4V20261126031703 sender 0212345678");
    expect(maskPhone("id 9901012345678")).to.equal("id 9901012345678");
  });

  it("writes one JSON object a line, with job and tenant_id, numbers masked in every field", async () => {
    const { log, lines } = capture("json", []);
    log.info("job sent", { job: "k-1", tenant_id: 3, to: "01012345678", nested: { list: ["010-9999-8888"] } });
    await flush();
    expect(lines).to.have.length(1);
    const line = JSON.parse(lines[0]!);
    expect(line).to.include({ message: "job sent", job: "k-1", tenant_id: 3, to: "010****5678", level: "info" });
    expect(line.nested.list[0]).to.equal("010****8888");
  });

  it("never writes a secret value, wherever it appears", async () => {
    const secrets = ["s3cr3t-api-secret", "db-pa55word"];
    for (const format of ["json", "pretty"] as const) {
      const { log, lines } = capture(format, secrets);
      log.error("request failed: signature s3cr3t-api-secret", { url: "mysql://u:db-pa55word@h/db", error: new Error("auth db-pa55word") });
      await flush();
      const text = lines.join("\n");
      expect(text, format).not.to.contain("s3cr3t-api-secret");
      expect(text, format).not.to.contain("db-pa55word");
      expect(text, format).to.contain("[redacted]");
    }
  });

  it("pretty format is one readable line with masked fields", async () => {
    const { log, lines } = capture("pretty", []);
    log.info("job sent", { job: "k-1", to: "01012345678", reason: "two words" });
    await flush();
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/ info job sent job=k-1 to=010\*\*\*\*5678 reason="two words"$/);
  });
});

/**
 * The worker's secrets (infra/secrets.ts) in the default stack, under Pulumi's mocks: SSM
 * SecureStrings, the generated recipient hash key, and no plaintext anywhere else.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { GENERATED_PASSWORD, outputValue } from "../support/pulumi-mocks";
import { type Built, build, containerOf, SOLAPI_KEY, SOLAPI_SECRET, settingsFor } from "../support/worker-stack";

describe("infrastructure: the worker's secrets", function () {
  this.timeout(30_000);
  let built: Built;
  before(async () => {
    built = await build(settingsFor());
  });

  it("secrets: SSM SecureStrings that stay Pulumi secrets, passed with valueFrom; no plaintext anywhere else", async () => {
    const parameters = built.mocks.ofType("aws:ssm/parameter:Parameter");
    expect(parameters.map((parameter) => [parameter.inputs.name, parameter.inputs.type])).to.deep.equal([
      ["/academy-messaging/dev/solapi-api-key", "SecureString"],
      ["/academy-messaging/dev/solapi-api-secret", "SecureString"],
      ["/academy-messaging/dev/database-url", "SecureString"],
      ["/academy-messaging/dev/recipient-hash-secret", "SecureString"],
    ]);
    for (const secret of built.stack.secrets.parameters)
      expect(await pulumi.isSecret(secret.parameter.value), secret.variable).to.equal(true);
    expect(containerOf(built.mocks).secrets).to.deep.equal([
      { name: "SOLAPI_API_KEY", valueFrom: "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/solapi-api-key" },
      { name: "SOLAPI_API_SECRET", valueFrom: "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/solapi-api-secret" },
      { name: "DATABASE_URL", valueFrom: "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/database-url" },
      {
        name: "MESSAGING_RECIPIENT_HASH_SECRET",
        valueFrom: "arn:aws:ssm:ap-northeast-2:123456789012:/academy-messaging/dev/recipient-hash-secret",
      },
    ]);
    const elsewhere = JSON.stringify(
      built.mocks.resources.filter(
        (resource) => !["aws:ssm/parameter:Parameter", "random:index/randomPassword:RandomPassword"].includes(resource.type),
      ),
    );
    for (const plaintext of [SOLAPI_KEY, SOLAPI_SECRET, "plaintext-db-pass", GENERATED_PASSWORD])
      expect(elsewhere).not.to.contain(plaintext);
  });

  it("the recipient hash key is generated once by the stack (48 letters and digits) and stored like the others", async () => {
    const generated = built.mocks.one("random:index/randomPassword:RandomPassword").inputs;
    expect(generated).to.deep.include({ length: 48, special: false });
    const parameter = built.stack.secrets.parameters.find((secret) => secret.variable === "MESSAGING_RECIPIENT_HASH_SECRET")!.parameter;
    expect(await outputValue(parameter.value)).to.equal(GENERATED_PASSWORD);
  });
});

import { expect } from "chai";
import { loadDatabaseConfig } from "../../worker/src/cli/database-config";
import { ConfigError, loadConfig } from "../../worker/src/config";

const live = { SOLAPI_API_KEY: "NCSKEY", SOLAPI_API_SECRET: "very-secret-value", SOLAPI_SENDER: "0212345678" };

function problemsOf(env: NodeJS.ProcessEnv, load: (env: NodeJS.ProcessEnv) => unknown = loadConfig): string[] {
  try {
    load(env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("configuration (docs/contract.md §3)", () => {
  it("applies every documented default", () => {
    const config = loadConfig(live);
    expect(config.sqs).to.include({
      region: "ap-northeast-2",
      queueName: "academy-messaging-jobs",
      dlqName: "academy-messaging-jobs-dlq",
      waitSeconds: 20,
      visibilityTimeoutSeconds: 60,
    });
    expect(config.consumer).to.include({ concurrency: 10, shutdownTimeoutMs: 100_000 });
    expect(config.solapi).to.include({ mode: "live", baseUrl: "https://api.solapi.com", timeoutMs: 10_000 });
    expect(config.log).to.deep.equal({ level: "info", format: "json" });
    expect(config.databaseUrl).to.equal(undefined);
  });

  it("reads MESSAGING_DELIVERY_CHECK_SECONDS: 300 by default, 0 disables, anything else is named", () => {
    expect(loadConfig(live).delivery).to.deep.equal({ checkSeconds: 300 });
    expect(loadConfig({ ...live, MESSAGING_DELIVERY_CHECK_SECONDS: "0" }).delivery).to.deep.equal({ checkSeconds: 0 });
    expect(loadConfig({ ...live, MESSAGING_DELIVERY_CHECK_SECONDS: "60" }).delivery).to.deep.equal({ checkSeconds: 60 });
    expect(problemsOf({ ...live, MESSAGING_DELIVERY_CHECK_SECONDS: "soon" })).to.deep.equal([
      'MESSAGING_DELIVERY_CHECK_SECONDS must be a whole number from 0 to 86400 (got "soon")',
    ]);
  });

  it("names every bad variable in one error, whatever else is wrong", () => {
    const problems = problemsOf({
      MESSAGING_SQS_WAIT_SECONDS: "25",
      MESSAGING_CONCURRENCY: "lots",
      SOLAPI_TIMEOUT_MS: "-1",
      LOG_FORMAT: "xml",
      SOLAPI_MOCK: "maybe",
    });
    const named = problems.map((problem) => problem.split(" ")[0]);
    expect(named).to.have.members([
      "SOLAPI_API_KEY",
      "SOLAPI_API_SECRET",
      "SOLAPI_SENDER",
      "MESSAGING_SQS_WAIT_SECONDS",
      "MESSAGING_CONCURRENCY",
      "SOLAPI_TIMEOUT_MS",
      "LOG_FORMAT",
      "SOLAPI_MOCK",
    ]);
    expect(problems.join("\n")).to.contain('must be a whole number from 0 to 20 (got "25")');
  });

  it("never echoes a bad DATABASE_URL, which may hold a password", () => {
    const problems = problemsOf({
      ...live,
      DATABASE_URL: "postgres://app:hunter2-pass@db/app",
      MESSAGING_RECIPIENT_HASH_SECRET: "recipient-key-0123456789",
    });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^DATABASE_URL /);
    expect(problems[0]).not.to.contain("hunter2");
  });

  it("does not need Solapi credentials in mock mode, and DEBUG implies mock mode", () => {
    expect(loadConfig({ SOLAPI_MOCK: "true" }).solapi).to.include({ mode: "mock", mockReason: "SOLAPI_MOCK" });
    expect(loadConfig({ DEBUG: "true" }).solapi).to.include({ mode: "mock", mockReason: "DEBUG" });
    expect(loadConfig({ ...live, SOLAPI_MOCK: "false" }).solapi.mode).to.equal("live");
  });

  it("derives the DLQ name from the queue name and reads overrides", () => {
    const config = loadConfig({
      ...live,
      MESSAGING_SQS_QUEUE_NAME: "jobs-stg",
      MESSAGING_SQS_WAIT_SECONDS: "0",
      MESSAGING_CONCURRENCY: "200",
      AWS_ENDPOINT_URL_SQS: "http://localhost:4566",
      SOLAPI_BASE_URL: "http://127.0.0.1:9999/",
      LOG_FORMAT: "pretty",
    });
    expect(config.sqs).to.include({ queueName: "jobs-stg", dlqName: "jobs-stg-dlq", waitSeconds: 0, endpoint: "http://localhost:4566" });
    expect(config.consumer.concurrency).to.equal(200);
    expect(config.solapi.baseUrl).to.equal("http://127.0.0.1:9999");
    expect(config.log.format).to.equal("pretty");
  });

  it("lists the secret values the logger must hide, including the database password", () => {
    const config = loadConfig({
      ...live,
      DATABASE_URL: "mysql://worker:p%40ss-word@db:3306/app",
      MESSAGING_RECIPIENT_HASH_SECRET: "recipient-key-0123456789",
    });
    expect(config.secrets).to.include.members([
      "very-secret-value",
      "NCSKEY",
      "p@ss-word",
      "mysql://worker:p%40ss-word@db:3306/app",
      "recipient-key-0123456789",
    ]);
  });
});

const DATABASE_URL = "mysql://worker:Db-Passw0rd@db:3306/academy";
const SECRET = "recipient-key-0123456789abcdef";

describe("configuration: privacy and credits", () => {
  it("refuses mock mode with DATABASE_URL in one problem naming both variables and why, whichever variable turned mock on", () => {
    for (const mock of ["SOLAPI_MOCK", "DEBUG"]) {
      const problems = problemsOf({ [mock]: "true", DATABASE_URL, MESSAGING_RECIPIENT_HASH_SECRET: SECRET });
      expect(problems, mock).to.have.length(1);
      expect(problems[0]).to.match(new RegExp(`^${mock}=true .*DATABASE_URL is refused: .*charge tenants' credits`));
      expect(problems[0]).not.to.contain("Db-Passw0rd");
    }
    expect(loadConfig({ SOLAPI_MOCK: "true" }).solapi.mode).to.equal("mock");
    expect(loadConfig({ ...live, DATABASE_URL, MESSAGING_RECIPIENT_HASH_SECRET: SECRET }).databaseUrl).to.equal(DATABASE_URL);
  });

  it("keys recipient digests with MESSAGING_RECIPIENT_HASH_SECRET, long enough, never echoed, and hidden from logs", () => {
    // docs/contract.md §3's variables alone still start a worker: the key is then derived from SOLAPI_API_SECRET.
    const derived = loadConfig({ ...live, DATABASE_URL });
    expect(derived.recipientHashKeySource).to.equal("SOLAPI_API_SECRET");
    expect(derived.recipientHashSecret).to.match(/^[0-9a-f]{64}$/);
    expect(derived.recipientHashSecret).not.to.contain(live.SOLAPI_API_SECRET);
    expect(derived.secrets).to.include(derived.recipientHashSecret);
    expect(
      loadDatabaseConfig({ DATABASE_URL, SOLAPI_API_SECRET: live.SOLAPI_API_SECRET }).recipientHashSecret,
      "trace finds the same key",
    ).to.equal(derived.recipientHashSecret);
    const short = problemsOf({ ...live, DATABASE_URL, MESSAGING_RECIPIENT_HASH_SECRET: "short-key" });
    expect(short).to.have.length(1);
    expect(short[0]).to.match(/^MESSAGING_RECIPIENT_HASH_SECRET must be at least 16 characters/);
    expect(short[0]).not.to.contain("short-key");

    const config = loadConfig({ ...live, DATABASE_URL, MESSAGING_RECIPIENT_HASH_SECRET: SECRET });
    expect(config.recipientHashSecret).to.equal(SECRET);
    expect(config.recipientHashKeySource).to.equal("MESSAGING_RECIPIENT_HASH_SECRET");
    expect(config.secrets).to.include(SECRET);
    // Without a database the key is not needed, and not kept.
    expect(loadConfig({ ...live, MESSAGING_RECIPIENT_HASH_SECRET: SECRET }).recipientHashSecret).to.equal(undefined);
  });

  it("SOLAPI_MOCK_SHOW_TEXT is true unless set false", () => {
    expect(loadConfig({ SOLAPI_MOCK: "true" }).solapi.mockShowText).to.equal(true);
    expect(loadConfig({ SOLAPI_MOCK: "true", SOLAPI_MOCK_SHOW_TEXT: "false" }).solapi.mockShowText).to.equal(false);
    expect(problemsOf({ SOLAPI_MOCK: "true", SOLAPI_MOCK_SHOW_TEXT: "hidden" })[0]).to.match(
      /^SOLAPI_MOCK_SHOW_TEXT must be true or false/,
    );
  });

  it("names a bad TLS option of DATABASE_URL without echoing the password", () => {
    const bad = {
      "ssl-mode=PREFERRED": /PREFERRED would fall back to plain text/,
      "ssl-mode=on": /ssl-mode must be DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY/,
      "ssl-mode=REQUIRED&ssl-ca=rds": /with it, ssl-mode must be VERIFY_CA or VERIFY_IDENTITY/,
      "ssl=true": /use ssl-mode=… and ssl-ca=…/,
      "ssl-ca=/nonexistent/ca.pem": /ssl-ca: no file at \/nonexistent\/ca.pem/,
    };
    for (const [query, message] of Object.entries(bad)) {
      const problems = problemsOf({ ...live, DATABASE_URL: `${DATABASE_URL}?${query}`, MESSAGING_RECIPIENT_HASH_SECRET: SECRET });
      expect(problems, query).to.have.length(1);
      expect(problems[0], query)
        .to.match(/^DATABASE_URL /)
        .and.to.match(message);
      expect(problems[0], query).not.to.contain("Db-Passw0rd");
    }
    expect(
      loadConfig({ ...live, DATABASE_URL: `${DATABASE_URL}?ssl-mode=VERIFY_IDENTITY&ssl-ca=rds`, MESSAGING_RECIPIENT_HASH_SECRET: SECRET })
        .databaseUrl,
    ).to.contain("ssl-ca=rds");
  });

  it("the database commands read only DATABASE_URL and the recipient key: no Solapi credentials, no mock switch", () => {
    expect(loadDatabaseConfig({ DATABASE_URL, MESSAGING_RECIPIENT_HASH_SECRET: SECRET, SOLAPI_MOCK: "true" })).to.deep.equal({
      databaseUrl: DATABASE_URL,
      recipientHashSecret: SECRET,
      recipientHashKeySource: "MESSAGING_RECIPIENT_HASH_SECRET",
    });
    expect(loadDatabaseConfig({})).to.deep.equal({ databaseUrl: undefined });
    const problems = problemsOf(
      { DATABASE_URL: `${DATABASE_URL}?ssl-mode=sometimes`, MESSAGING_RECIPIENT_HASH_SECRET: "x" },
      loadDatabaseConfig,
    );
    expect(problems.map((problem) => problem.split(" ")[0])).to.have.members(["DATABASE_URL", "MESSAGING_RECIPIENT_HASH_SECRET"]);
    expect(problems.join("\n")).not.to.contain("Db-Passw0rd");
  });
});

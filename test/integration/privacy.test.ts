/**
 * Privacy and credits, through the built worker as ECS runs it: mock mode refused with a database,
 * a plain-text database connection to another machine warned of, mock prints without message text,
 * logs without message text or names.
 */
import { expect } from "chai";
import { workerEnv } from "../support/config";
import type { FakeSolapi } from "../support/fake-solapi";
import { runCli } from "../support/process";
import { sendBodies, type TestQueues, type TestSqs, useQueueServices } from "../support/sqs";

const STUDENT = "김민준";
const DATABASE_URL = "mysql://worker:Db-Passw0rd@127.0.0.1:1/academy";

describe("privacy: mock mode and logs (worker process)", function () {
  this.timeout(90_000);
  let sqs: TestSqs;
  let fake: FakeSolapi;
  let queues: TestQueues;

  useQueueServices((services) => ({ sqs, fake, queues } = services));

  it("refuses mock mode with DATABASE_URL: exit 2 and one line naming both, before touching the database", async () => {
    for (const mock of [{ SOLAPI_MOCK: "true" }, { DEBUG: "1" }]) {
      const worker = runCli(["worker"], { ...workerEnv(fake, sqs.endpoint, queues.queueUrl, { DATABASE_URL }), ...mock });
      const { code } = await worker.exited;
      const variable = Object.keys(mock)[0]!;
      expect(code, variable).to.equal(2);
      const lines = worker.stderr.join("").trim().split("\n");
      expect(lines, variable).to.have.length(1);
      expect(lines[0]).to.match(
        new RegExp(`${variable}=true \\(mock mode\\) together with DATABASE_URL is refused: .*charge tenants' credits`),
      );
      expect(lines[0]).not.to.contain("Db-Passw0rd");
      expect(worker.stdout).to.deep.equal([]);
    }
    expect(fake.requests).to.have.length(0);
  });

  it("with a database and no MESSAGING_RECIPIENT_HASH_SECRET, refuses a key too short, and otherwise keys digests from SOLAPI_API_SECRET", async () => {
    const short = runCli(
      ["worker"],
      workerEnv(fake, sqs.endpoint, queues.queueUrl, { DATABASE_URL, MESSAGING_RECIPIENT_HASH_SECRET: "too-short" }),
    );
    expect((await short.exited).code).to.equal(2);
    expect(short.stderr.join("")).to.contain("MESSAGING_RECIPIENT_HASH_SECRET must be at least 16 characters");
    expect(short.stderr.join("")).not.to.contain("too-short");
  });

  it("warns at start-up when the database connection to another machine is not encrypted", async () => {
    // 192.0.2.1 is a documentation address (RFC 5737): nothing answers there.
    const worker = runCli(
      ["worker"],
      workerEnv(fake, sqs.endpoint, queues.queueUrl, { DATABASE_URL: "mysql://worker:Db-Passw0rd@192.0.2.1:3306/academy" }),
    );
    const warning = await worker.waitForLine((line) => String(line.message).startsWith("the database connection is not encrypted"));
    expect(warning).to.include({ level: "warn", database_host: "192.0.2.1" });
    expect(warning.message).to.contain("?ssl-mode=VERIFY_IDENTITY&ssl-ca=rds");
    worker.child.kill("SIGKILL");
    await worker.exited;
    expect(worker.stdout.join("\n")).not.to.contain("Db-Passw0rd");
  });

  it("SOLAPI_MOCK_SHOW_TEXT=false prints each request's shape without its text; no log line carries a text or a name", async () => {
    const jobs = [
      {
        tenant_id: 1,
        to: "010-1234-5678",
        text: `[한빛학원] ${STUDENT} 학생 클리닉 안내`,
        business_idempotency_key: "mock-sms",
        target_name: STUDENT,
        event_type: "clinic_reminder",
      },
      {
        tenant_id: 1,
        to: "+82 10-1234-5678",
        text: `${STUDENT} 학생의 클리닉은 내일입니다`,
        message_mode: "both",
        alimtalk_replacements: [{ key: "#{학생명}", value: STUDENT }],
        business_idempotency_key: "mock-ata",
        target_name: STUDENT,
      },
    ];
    const run = async (extra: Record<string, string>) => {
      // A queue each: the emulator lets a stopped worker's last long poll take messages sent after it.
      const { queueUrl } = await sqs.createQueues();
      await sendBodies(sqs.client, queueUrl, jobs);
      const worker = runCli(["worker"], workerEnv(fake, sqs.endpoint, queueUrl, { SOLAPI_MOCK: "true", LOG_LEVEL: "debug", ...extra }));
      const polling = await worker.waitForLine((line) => line.message === "worker polling");
      for (const key of ["mock-sms", "mock-ata"])
        await worker.waitForLine((line) => line.message === "job sent" && line.job === key, 30_000);
      worker.child.kill("SIGTERM");
      expect((await worker.exited).code).to.equal(0);
      return { logs: worker.stdout.join("\n"), printed: worker.stderr.join(""), note: String(polling.note) };
    };

    const redacted = await run({ SOLAPI_MOCK_SHOW_TEXT: "false" });
    expect(redacted.printed).to.contain('"type": "SMS"').and.to.contain('"type": "ATA"').and.to.contain('"#{학생명}": "[redacted]"');
    expect(redacted.printed)
      .to.contain('"to": "010****5678"')
      .and.to.match(/"text": "\[redacted: \d+ characters\]"/);
    expect(redacted.note).to.equal("nothing is sent to Solapi; requests are printed without their text (SOLAPI_MOCK_SHOW_TEXT=false)");
    expect(redacted.printed).not.to.contain(STUDENT);
    expect(redacted.printed).not.to.contain("클리닉");
    for (const output of [redacted.logs, redacted.printed]) {
      expect(output).not.to.contain("01012345678");
      expect(output).not.to.contain("1234-5678");
    }
    expect(redacted.logs).not.to.contain(STUDENT);
    expect(redacted.logs).not.to.contain("클리닉");

    // The operator's choice by default: the whole request, recipient masked.
    const shown = await run({});
    expect(shown.printed).to.contain(STUDENT);
    expect(shown.printed).not.to.contain("01012345678");
    expect(shown.logs).not.to.contain(STUDENT);
    expect(fake.requests).to.have.length(0);
  });
});

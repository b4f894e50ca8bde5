/**
 * The chaos suite (issue: proof under faults). Each scenario runs two or more worker processes
 * against the SQS emulator, MySQL and the fake Solapi, injects one family of faults many times, and
 * reconciles the ledgers: nothing lost, nothing sent twice, nothing Solapi accepted that is no job's,
 * nothing charged but what Solapi accepted, to its own tenant, nothing sent to a cancelled
 * reservation or from another tenant's sender. `npm run test:chaos` is the long form; `npm test`
 * runs the short one.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import type { Behaviour } from "../support/fake-solapi";
import { type ChaosReport, ChaosRun, LONG, pause, scale } from "./harness";
import type { ChaosJob } from "./jobs";
import { planMultiTenant } from "./multi-tenant";
import { pauseWorkers } from "./pauses";

function expectClean(report: ChaosReport): void {
  const summary = `${report.scenario} (seed ${report.seed}), ${report.violations.length} violations: ${report.violations.slice(0, 10).join("; ")}`;
  expect(report.lost, summary).to.equal(0);
  expect(report.duplicated, summary).to.equal(0);
  expect(report.stray, summary).to.equal(0);
  expect(report.wronglyCharged, summary).to.equal(0);
  expect(report.sentToCancelled, summary).to.equal(0);
  expect(report.violations, summary).to.deep.equal([]);
  expect(report.crashes, summary).to.equal(0);
  expect(report.sent, summary).to.be.above(0);
}

async function runScenario(
  context: Mocha.Context,
  options: Parameters<typeof ChaosRun.start>[1],
  chaos: (run: ChaosRun) => Promise<void>,
): Promise<ChaosReport> {
  const run = await ChaosRun.start(context, options);
  try {
    await run.begin();
    await chaos(run);
    await run.waitUntilSettled();
    return await run.finish();
  } finally {
    await run.close();
  }
}

/** Injects faults until `enough` says so, then lets the run settle. */
async function until(enough: () => boolean, inject: () => Promise<void>): Promise<void> {
  while (!enough()) await inject();
}

describe(`chaos (${LONG ? "long" : "short"} form)`, function () {
  this.timeout(scale(150_000, 420_000));

  it("kill -9 at random moments, restarted each time", async function () {
    const kills = scale(6, 24);
    // Slow enough sends and few slots, so that kills land on jobs in flight.
    const options = { scenario: "kill-9", jobs: scale(80, 300), solapiLatencyMs: 300, env: { MESSAGING_CONCURRENCY: "5" } };
    const report = await runScenario(this, options, async (run) => {
      await until(
        () => run.workers.kills >= kills,
        async () => {
          await pause(run, 150, 450);
          await run.workers.kill(Math.floor(run.random() * run.workers.size));
        },
      );
    });
    expectClean(report);
    expect(report.kills).to.be.at.least(kills);
    expect(report.takenOver, "jobs whose claim a restarted worker took over").to.be.above(0);
  });

  it("SIGTERM mid-batch with slow sends in flight: each exit clean and within the budget", async function () {
    const latency = 1_500;
    const terms = scale(3, 8);
    let run!: ChaosRun;
    const report = await runScenario(this, { scenario: "sigterm", jobs: scale(60, 200), solapiLatencyMs: latency }, async (started) => {
      run = started;
      await until(
        () => run.workers.terminations.length >= terms,
        async () => {
          await pause(run, 1_000, 2_500);
          await run.workers.terminate(Math.floor(run.random() * run.workers.size));
        },
      );
    });
    expectClean(report);
    expect(run.workers.terminations.length).to.be.at.least(terms);
    for (const termination of run.workers.terminations) {
      expect(termination.code).to.equal(0);
      // The slowest in-flight send, plus a second for the last acknowledgements and the exit.
      expect(termination.tookMs).to.be.at.most(latency + 1_000 + 500);
    }
  });

  it("Solapi faults: 5xx, 429, hangs, resets before and after the request, lost answers, partial refusals, slow answers", async function () {
    const behaviours: [number, Behaviour, string][] = [
      [0.62, { kind: "ok" }, "ok"],
      [0.03, { kind: "status", status: 500 }, "500"],
      [0.03, { kind: "status", status: 502, html: true }, "502"],
      [0.03, { kind: "status", status: 503 }, "503"],
      [0.03, { kind: "status", status: 429 }, "429"],
      [0.02, { kind: "hang" }, "hang past the timeout"],
      [0.04, { kind: "drop-before-read" }, "reset before the body"],
      [0.04, { kind: "reset-after-accept" }, "reset after accepting"],
      [0.05, { kind: "drop-after-accept" }, "accepted, answer lost"],
      [0.03, { kind: "garbage-after-accept" }, "accepted, answer unreadable"],
      [0.08, { kind: "ok", latencyMs: 5_000 }, "slower than the visibility timeout"],
    ];
    const report = await runScenario(
      this,
      { scenario: "solapi-faults", jobs: scale(80, 300), env: { SOLAPI_TIMEOUT_MS: "6000", MESSAGING_SHUTDOWN_TIMEOUT: "20" } },
      async (run) => {
        run.fake.always(() => {
          let roll = run.random();
          for (const [weight, behaviour, name] of behaviours) {
            roll -= weight;
            if (roll <= 0) {
              if (name !== "ok") run.count(`solapi ${name}`);
              return behaviour;
            }
          }
          return { kind: "ok" };
        });
        const permanent = run.fake.refuse;
        run.fake.refuse = (message) => {
          const refused = permanent(message);
          if (refused) {
            run.count("solapi AlimTalk refused (fallback or FAILED)");
            return refused;
          }
          if (run.random() < 0.04) {
            run.count("solapi partial failedMessageList (1024, transient)");
            return { statusCode: "1024", statusMessage: "일시적 오류" };
          }
          return undefined;
        };
      },
    );
    expectClean(report);
  });

  it("SQS faults: throttling, failed DeleteMessageBatch entries, receive errors, the endpoint down and back", async function () {
    const report = await runScenario(this, { scenario: "sqs-faults", jobs: scale(80, 300) }, async (run) => {
      run.sqsProxy.fault = (action) => {
        const roll = run.random();
        if (action === "ReceiveMessage") return roll < 0.1 ? "error" : roll < 0.18 ? "throttle" : "pass";
        if (action === "DeleteMessageBatch") return roll < 0.25 ? "fail-entries" : roll < 0.3 ? "throttle" : "pass";
        if (action === "ChangeMessageVisibilityBatch") return roll < 0.1 ? "error" : "pass";
        if (action === "SendMessageBatch") return roll < 0.1 ? "error" : "pass";
        return "pass";
      };
      for (let outage = 0; outage < scale(2, 4); outage += 1) {
        await pause(run, 1_000, 3_000);
        run.sqsProxy.setDown(true);
        run.count("sqs endpoint down for 3 s");
        await pause(run, 3_000, 3_000);
        run.sqsProxy.setDown(false);
      }
    });
    expectClean(report);
  });

  it("MySQL faults: the server unreachable for a while, connections killed mid-transaction, lock waits timing out", async function () {
    const report = await runScenario(this, { scenario: "mysql-faults", jobs: scale(80, 300) }, async (run) => {
      for (let round = 0; round < scale(2, 4); round += 1) {
        await pause(run, 500, 1_500);
        run.mysqlProxy.down = true;
        run.count("mysql connections reset", run.mysqlProxy.reset(1));
        run.count("mysql unreachable for 2.5 s");
        await pause(run, 2_500, 2_500);
        run.mysqlProxy.down = false;
        for (let kill = 0; kill < 5; kill += 1) {
          await pause(run, 150, 400);
          run.count("mysql connections reset", run.mysqlProxy.reset(0.3));
        }
        // Hold the tenants' rows past the worker's 5 s lock wait.
        const holder = await run.database.db.getConnection();
        await holder.beginTransaction();
        await holder.query("SELECT id FROM tenants WHERE id IN (?) FOR UPDATE", [run.tenants.map((tenant) => tenant.id)]);
        run.count("mysql rows locked for 6 s");
        await pause(run, 6_000, 6_000);
        await holder.rollback();
        holder.release();
      }
    });
    expectClean(report);
  });

  it("process pauses (SIGSTOP/SIGCONT) mid-claim and mid-send, every job enqueued twice", async function () {
    // The reproduction, sharpened: slow Solapi answers and half the pauses placed just after
    // the fence, so that a paused worker's lease lapses while it holds a send it has not made yet.
    const visibilityMs = 4_000;
    const pauses = scale(3, 30);
    // Few slots per worker, so that jobs last as long as the pauses do.
    const options = {
      scenario: "pauses",
      jobs: scale(30, 100),
      workers: scale(4, 5),
      copies: 2,
      solapiLatencyMs: 1_500,
      env: { MESSAGING_CONCURRENCY: "4" },
    };
    const report = await runScenario(this, options, (run) => pauseWorkers(run, pauses, visibilityMs));
    expectClean(report);
    expect(report.pauses).to.be.at.least(pauses);
    const afterFence = report.faults["pause just after a fence, longer than the visibility timeout"] ?? 0;
    expect(afterFence, "pauses just after the fence, outlasting the lease").to.be.at.least(scale(2, 10));
  });

  it("tenants sharing keys and case variants, own and borrowed senders and channels: each job its tenant's alone", async function () {
    const keys = scale(8, 40);
    const options = {
      scenario: "multi-tenant",
      jobs: 0,
      copies: 2,
      solapiLatencyMs: 300,
      env: { MESSAGING_CONCURRENCY: "5" },
      plan: (db: Parameters<typeof planMultiTenant>[0], name: string, base: number, random: () => number) =>
        planMultiTenant(db, name, base, random, keys),
    };
    const report = await runScenario(this, options, async (run) => {
      // Retries, lost answers and kills make jobs of one key meet claims left by another tenant's.
      run.fake.always(() => {
        const roll = run.random();
        if (roll >= 0.1) return { kind: "ok" };
        run.count(roll < 0.05 ? "solapi 503" : "solapi accepted, answer lost");
        return roll < 0.05 ? { kind: "status", status: 503 } : { kind: "drop-after-accept" };
      });
      for (let kill = 0; kill < scale(1, 5); kill += 1) {
        await pause(run, 500, 1_500);
        await run.workers.kill(Math.floor(run.random() * run.workers.size));
      }
    });
    expectClean(report);
    expect(report.failed, "jobs naming another tenant's sender or channel").to.be.at.least(5);
  });

  it("delivery results looked up while workers are killed: each refunded once if undelivered, nothing refunded twice", async function () {
    const kills = scale(5, 16);
    // Solapi's final results, fixed per job key: delivered at once, delivered after seconds with the
    // carrier (3000 meanwhile), undelivered at once (3104 not a KakaoTalk user), undelivered later.
    const report = await runScenario(
      this,
      {
        scenario: "delivery",
        jobs: scale(60, 240),
        solapiLatencyMs: 100,
        deliveryResults: true,
        env: { MESSAGING_DELIVERY_CHECK_SECONDS: "1", MESSAGING_CONCURRENCY: "5" },
      },
      async (run) => {
        run.fake.report = (message) => {
          const bucket = [...String(message.jobKey)].reduce((sum, character) => sum + character.charCodeAt(0), 0) % 4;
          return [
            { statusCode: "4000" },
            { statusCode: "4000", afterMs: 2_500 },
            { statusCode: "3104" },
            { statusCode: "3022", afterMs: 1_500 },
          ][bucket]!;
        };
        const killOne = async () => {
          await pause(run, 300, 900);
          await run.workers.kill(Math.floor(run.random() * run.workers.size));
        };
        await until(() => run.workers.kills >= kills, killOne);
        // Kills go on while results are still being looked up, so that they land mid-check too.
        while ((await run.resultsPending()) > 0 && run.workers.kills < 2 * kills) await killOne();
      },
    );
    expectClean(report);
    expect(report.delivered, "delivered messages").to.be.above(0);
    expect(report.undelivered, "undelivered messages, refunded").to.be.above(0);
  });

  it("bad input (fast-check): every body ends in the DLQ with a reason or is sent correctly; no crash, no stall", async function () {
    const count = scale(50, 200);
    const nonce = () => `chaos-poison-${randomUUID()}`;
    const validJob = { tenant_id: 1, to: "010-3333-4444", text: "정상 안내", message_mode: "sms" };
    const field = fc.constantFrom(
      "tenant_id",
      "to",
      "text",
      "message_mode",
      "use_alimtalk_first",
      "reservation_id",
      "alimtalk_replacements",
      "created_at",
      "sender",
    );
    const wrongValue = fc.oneof(
      fc.constant(null),
      fc.integer({ min: -1_000, max: 0 }),
      fc.string({ maxLength: 20 }),
      fc.stringMatching(/^\d{1,6}$/),
      fc.constantFrom("fax", "SMS", "", "   ", "😀".repeat(600), "가".repeat(1_200), "\ud800\udc00\ud83d", "x".repeat(3_000)),
      fc.boolean(),
      fc.array(fc.jsonValue(), { maxLength: 3 }),
    );
    const samples = fc.sample(
      fc.oneof(
        fc.record({ kind: fc.constant("mutated" as const), field, value: wrongValue }),
        fc.record({ kind: fc.constant("json" as const), value: fc.jsonValue({ maxDepth: 2 }) }),
        fc.record({ kind: fc.constant("text" as const), value: fc.string({ unit: "grapheme", maxLength: 200 }) }),
      ),
      { numRuns: count, seed: 20261126 },
    );
    const poison: { nonce: string; body: string }[] = [];
    const mutated: ChaosJob[] = [];
    samples.forEach((sample, index) => {
      const id = nonce();
      if (sample.kind === "mutated") {
        const key = `chaos-bad-${id.slice(13, 21)}-${index}`;
        const body: Record<string, unknown> = { nonce: id, ...validJob, business_idempotency_key: key, [sample.field]: sample.value };
        mutated.push({ key, tenantId: 1, body, cancelled: false, disabled: false, refused: false });
      } else if (sample.kind === "json") {
        poison.push({ nonce: id, body: JSON.stringify([id, sample.value]) });
      } else {
        poison.push({ nonce: id, body: `${id} ${sample.value}` });
      }
    });
    // The largest body SQS takes: 256 KiB, a valid-looking job whose text is far too long.
    const huge = nonce();
    poison.push({ nonce: huge, body: JSON.stringify({ nonce: huge, ...validJob, text: "x".repeat(256 * 1024 - 200) }) });

    const report = await runScenario(this, { scenario: "bad-input", jobs: scale(30, 100), poison }, async (run) => {
      // The mutated jobs join the planned ones, on a tenant of this run.
      for (const job of mutated) {
        job.body.tenant_id = typeof job.body.tenant_id === "number" && job.body.tenant_id === 1 ? run.tenants[0]!.id : job.body.tenant_id;
        // A tenant_id mutated into another whole number (or a string of one, which the worker accepts) is that tenant's job.
        const written = job.body.tenant_id;
        const whole = typeof written === "string" && /^\s*\d+\s*$/.test(written) ? Number(written) : written;
        job.tenantId = typeof whole === "number" && Number.isInteger(whole) && whole > 0 ? whole : run.tenants[0]!.id;
      }
      run.jobs.push(...mutated);
      await run.enqueueExtra(mutated.map((job) => JSON.stringify(job.body)));
    });
    expectClean(report);
    expect(report.poison).to.be.at.least(poison.length);
  });
});

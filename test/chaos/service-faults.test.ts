/**
 * The services failing under the workers: Solapi's answers, SQS's calls, MySQL's connections
 * and locks.
 */
import type { Behaviour } from "../support/fake-solapi";
import { pause, scale } from "./harness";
import { expectClean, runScenario, SCENARIO_TIMEOUT_MS, suite } from "./scenario";

describe(suite("Solapi, SQS and MySQL failing"), function () {
  this.timeout(SCENARIO_TIMEOUT_MS);

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
});

/**
 * Delivery results looked up by checkers that are killed mid-check: each undelivered message
 * refunded once.
 */
import { expect } from "chai";
import { pause, scale } from "./harness";
import { expectClean, runScenario, SCENARIO_TIMEOUT_MS, suite, until } from "./scenario";

describe(suite("delivery results"), function () {
  this.timeout(SCENARIO_TIMEOUT_MS);

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
});

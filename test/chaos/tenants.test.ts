/**
 * Academies sharing job keys and recipients, naming their own senders and channels and others':
 * each job is its own tenant's alone (the plan: multi-tenant.ts).
 */
import { expect } from "chai";
import { pause, scale } from "./harness";
import { planMultiTenant } from "./multi-tenant";
import { expectClean, runScenario, SCENARIO_TIMEOUT_MS, suite } from "./scenario";

describe(suite("tenants kept apart"), function () {
  this.timeout(SCENARIO_TIMEOUT_MS);

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
});

/**
 * Worker processes killed (kill -9), terminated (SIGTERM, a Spot interruption) and paused
 * (SIGSTOP/SIGCONT) while they hold jobs: whatever they held is taken over, once.
 */
import { expect } from "chai";
import { type ChaosRun, pause, scale } from "./harness";
import { pauseWorkers } from "./pauses";
import { expectClean, runScenario, SCENARIO_TIMEOUT_MS, suite, until } from "./scenario";

describe(suite("worker processes killed, terminated and paused"), function () {
  this.timeout(SCENARIO_TIMEOUT_MS);

  it("kill -9 at random moments, restarted each time", async function () {
    const kills = scale(6, 24);
    // Slow enough sends and few slots, so that kills land on jobs in flight.
    const options = { scenario: "kill-9", jobs: scale(80, 300), solapiLatencyMs: 300, env: { MESSAGING_CONCURRENCY: "5" } };
    const report = await runScenario(this, options, async (run) => {
      await until(
        () => run.workers.kills >= kills,
        async () => {
          const index = Math.floor(run.random() * run.workers.size);
          await run.workers.whenWorking(index, 10_000);
          await pause(run, 150, 450);
          await run.workers.kill(index);
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
});

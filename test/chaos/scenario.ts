/**
 * What every chaos scenario shares (the scenarios are the *.test.ts files here). Each runs two or
 * more worker processes against the SQS emulator, MySQL and the fake Solapi, injects one family of
 * faults many times, and reconciles the run's records: nothing lost, nothing sent twice, nothing
 * Solapi accepted that is no job's, nothing charged but what Solapi accepted, to its own tenant,
 * nothing sent to a cancelled reservation or from another tenant's sender. `npm run test:chaos` is
 * the long form; `npm test` runs the short one.
 */
import { expect } from "chai";
import { type ChaosOptions, type ChaosReport, ChaosRun, LONG, scale } from "./harness";

/** The describe title of a scenario file, with its form; every scenario may take this long. */
export const suite = (what: string) => `chaos (${LONG ? "long" : "short"} form): ${what}`;
export const SCENARIO_TIMEOUT_MS = scale(150_000, 420_000);

/** The promises above, and that the run sent something and no worker crashed. */
export function expectClean(report: ChaosReport): void {
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

/** Starts a run, lets `chaos` inject its faults, waits until the run settles and reconciles it. */
export async function runScenario(
  context: Mocha.Context,
  options: ChaosOptions,
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
export async function until(enough: () => boolean, inject: () => Promise<void>): Promise<void> {
  while (!enough()) await inject();
}

/**
 * Bodies that are not jobs, or jobs with one field wrong (fast-check): each dead-lettered with a
 * reason or sent correctly.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import { scale } from "./harness";
import type { ChaosJob } from "./jobs";
import { expectClean, runScenario, SCENARIO_TIMEOUT_MS, suite } from "./scenario";

describe(suite("bad input"), function () {
  this.timeout(SCENARIO_TIMEOUT_MS);

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

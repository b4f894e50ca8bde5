import { expect } from "chai";
import { BACKOFF, backoffMs, withRetries } from "../../worker/src/backoff";

describe("backoff", () => {
  it("doubles from the first wait and stops growing at the cap", () => {
    const waits = [1, 2, 3, 4, 5, 6, 7].map((retry) => backoffMs(retry, BACKOFF.startup));
    expect(waits).to.deep.equal([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it("grows by the policy's factor", () => {
    const waits = [1, 2, 3, 4].map((retry) => backoffMs(retry, { ...BACKOFF.sendLogWrite, jitter: "none" }));
    expect(waits).to.deep.equal([100, 400, 1_600, 6_400]);
  });

  it("spreads full jitter from nothing up to the wait, and equal jitter over its upper half", () => {
    expect(backoffMs(3, { firstMs: 100, maxMs: 10_000, jitter: "full" }, () => 0)).to.equal(0);
    expect(backoffMs(3, { firstMs: 100, maxMs: 10_000, jitter: "full" }, () => 0.5)).to.equal(200);
    expect(backoffMs(3, { firstMs: 100, maxMs: 10_000, jitter: "equal" }, () => 0)).to.equal(200);
    expect(backoffMs(3, { firstMs: 100, maxMs: 10_000, jitter: "equal" }, () => 0.999)).to.equal(400);
  });

  it("jitters a capped wait too, so workers that all hit the cap still spread out", () => {
    const low = backoffMs(50, BACKOFF.receive, () => 0);
    const high = backoffMs(50, BACKOFF.receive, () => 1);
    expect([low, high]).to.deep.equal([15_000, 30_000]);
  });

  it("never overflows into a NaN or an infinite wait, however many retries", () => {
    expect(backoffMs(10_000, BACKOFF.sqsBatch)).to.equal(5_000);
  });

  describe("withRetries", () => {
    const quick = { firstMs: 1, maxMs: 1, jitter: "none" } as const;

    it("returns the first success and tries no more", async () => {
      const tried: number[] = [];
      const result = await withRetries(
        async (attempt) => {
          tried.push(attempt);
          if (attempt < 3) throw new Error("brief");
          return "done";
        },
        { policy: quick, attempts: 5, retryable: () => true },
      );
      expect([result, tried]).to.deep.equal(["done", [1, 2, 3]]);
    });

    it("throws the last error once the attempts are spent", async () => {
      let tried = 0;
      const failing = withRetries(
        async (attempt) => {
          tried = attempt;
          throw new Error(`failure ${attempt}`);
        },
        { policy: quick, attempts: 4, retryable: () => true },
      );
      const error = await failing.then(
        () => undefined,
        (failure: Error) => failure.message,
      );
      expect([error, tried]).to.deep.equal(["failure 4", 4]);
    });

    it("throws at once an error that is not retryable", async () => {
      let tried = 0;
      const error = await withRetries(
        async () => {
          tried += 1;
          throw new Error("access denied");
        },
        { policy: quick, attempts: 4, retryable: (failure) => !String(failure).includes("denied") },
      ).catch((failure: Error) => failure);
      expect([String(error), tried]).to.deep.equal(["Error: access denied", 1]);
    });
  });
});

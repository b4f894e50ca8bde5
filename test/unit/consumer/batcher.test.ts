import { expect } from "chai";
import { Batcher, type EntryResult } from "../../../worker/src/consumer/batcher";
import type { BatchFailure, BatchOutcome } from "../../../worker/src/sqs/queue";
import { readableLog } from "./fakes";

const QUICK = { firstMs: 1, maxMs: 1, jitter: "none" } as const;
const INTERNAL: BatchFailure = { code: "InternalError", message: "try again", senderFault: false };
const STALE: BatchFailure = { code: "ReceiptHandleIsInvalid", message: "stale", senderFault: true };

/** A batch call that records the items of each call and answers with `answer`. */
function fakeCall(answer: (items: string[], call: number) => Map<string, BatchFailure> | "throw" = () => new Map()) {
  const calls: string[][] = [];
  const call = async (entries: readonly { id: string; item: string }[]): Promise<BatchOutcome> => {
    const items = entries.map((entry) => entry.item);
    calls.push(items);
    const answered = answer(items, calls.length);
    if (answered === "throw") throw new Error("connect ECONNREFUSED");
    const byItem = new Map(entries.map((entry) => [entry.item, entry.id]));
    return new Map([...answered].map(([item, failure]) => [byItem.get(item) ?? item, failure]));
  };
  return { calls, call };
}

describe("Batcher (SQS batch calls)", () => {
  it("sends what is submitted in one tick in calls of at most 10", async () => {
    const { calls, call } = fakeCall();
    const batcher = new Batcher({ name: "DeleteMessageBatch", call, log: readableLog().log, backoff: QUICK });
    const items = Array.from({ length: 25 }, (_, index) => `e${index}`);
    const results = await Promise.all(items.map((item) => batcher.submit(item)));
    expect(calls.map((items) => items.length)).to.deep.equal([10, 10, 5]);
    expect(calls.flat()).to.deep.equal(items);
    expect(results.every((result) => result.ok)).to.equal(true);
  });

  it("retries the entries SQS failed for now, and only those", async () => {
    const { calls, call } = fakeCall((_, number) => (number === 1 ? new Map([["b", INTERNAL]]) : new Map()));
    const { log, lines } = readableLog();
    const batcher = new Batcher({ name: "DeleteMessageBatch", call, log, backoff: QUICK });
    const results = await Promise.all(["a", "b", "c"].map((item) => batcher.submit(item)));
    expect(calls).to.deep.equal([["a", "b", "c"], ["b"]]);
    expect(results).to.deep.equal([{ ok: true }, { ok: true }, { ok: true }]);
    expect((await lines()).map((line) => [line.message, line.codes])).to.deep.equal([
      ["SQS DeleteMessageBatch: 1 entries failed; retrying", ["InternalError"]],
    ]);
  });

  it("does not retry an entry SQS rejects as invalid: its failure is the answer", async () => {
    const { calls, call } = fakeCall((_, number) => (number === 1 ? new Map([["stale", STALE]]) : new Map()));
    const batcher = new Batcher({ name: "DeleteMessageBatch", call, log: readableLog().log, backoff: QUICK });
    const [good, stale] = await Promise.all([batcher.submit("good"), batcher.submit("stale")]);
    expect(good).to.deep.equal({ ok: true });
    expect(stale).to.deep.equal({ ok: false, failure: STALE } satisfies EntryResult);
    expect(calls).to.have.length(1);
  });

  it("drops nothing while the call itself fails: every entry is answered once SQS is back", async () => {
    const { calls, call } = fakeCall((_, number) => (number <= 3 ? "throw" : new Map()));
    const { log, lines } = readableLog();
    const batcher = new Batcher({ name: "ChangeMessageVisibilityBatch", call, log, backoff: QUICK });
    const answers: EntryResult[] = [];
    for (const item of ["x", "y"]) void batcher.submit(item).then((result) => answers.push(result));
    await batcher.drain();
    expect(answers).to.deep.equal([{ ok: true }, { ok: true }]);
    expect(calls).to.deep.equal([
      ["x", "y"],
      ["x", "y"],
      ["x", "y"],
      ["x", "y"],
    ]);
    expect((await lines()).map((line) => [line.message, line.attempt])).to.deep.equal([
      ["SQS ChangeMessageVisibilityBatch failed; retrying", 1],
      ["SQS ChangeMessageVisibilityBatch failed; retrying", 2],
      ["SQS ChangeMessageVisibilityBatch failed; retrying", 3],
    ]);
  });

  it("drain waits for entries still being retried", async () => {
    const { call } = fakeCall((_, number) => (number === 1 ? new Map([["late", INTERNAL]]) : new Map()));
    const batcher = new Batcher({
      name: "DeleteMessageBatch",
      call,
      log: readableLog().log,
      backoff: { firstMs: 50, maxMs: 50, jitter: "none" },
    });
    let answered = false;
    void batcher.submit("late").then(() => (answered = true));
    await batcher.drain();
    expect(answered).to.equal(true);
  });
});

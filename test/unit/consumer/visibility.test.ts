import { expect } from "chai";
import { Acknowledger } from "../../../worker/src/consumer/acks";
import { VisibilityKeeper } from "../../../worker/src/consumer/visibility";
import type { BatchFailure, BatchOutcome } from "../../../worker/src/sqs/queue";
import { message, readableLog } from "./fakes";

const TIMEOUT_S = 30;
const T0 = 1_000_000;

/** A queue whose ChangeMessageVisibilityBatch calls are recorded and answered by `refuse`. */
function fakeQueue(refuse: (receiptHandle: string) => BatchFailure | undefined = () => undefined) {
  const calls: { receiptHandle: string; seconds: number }[][] = [];
  const unused = async (): Promise<BatchOutcome> => new Map();
  return {
    calls,
    queue: {
      deleteBatch: unused,
      deadLetterBatch: unused,
      async changeVisibilityBatch(entries: readonly { id: string; receiptHandle: string; seconds: number }[]): Promise<BatchOutcome> {
        calls.push(entries.map(({ receiptHandle, seconds }) => ({ receiptHandle, seconds })));
        const failures = new Map<string, BatchFailure>();
        for (const entry of entries) {
          const failure = refuse(entry.receiptHandle);
          if (failure) failures.set(entry.id, failure);
        }
        return failures;
      },
    },
  };
}

function keeperOver(queue: ReturnType<typeof fakeQueue>["queue"]) {
  const { log, lines } = readableLog();
  const acks = new Acknowledger(queue, log);
  const keeper = new VisibilityKeeper({
    visibilityTimeoutSeconds: TIMEOUT_S,
    changeVisibility: (received, seconds) => acks.changeVisibility(received, seconds),
    log,
  });
  keeper.stop();
  return { keeper, lines };
}

describe("VisibilityKeeper (messages kept hidden while in flight)", () => {
  it("extends, in one batch call, every message with less than half its visibility left, by a full timeout", async () => {
    const { calls, queue } = fakeQueue();
    const { keeper } = keeperOver(queue);
    const early = [message({}, { receivedAt: T0 }), message({}, { receivedAt: T0 + 500 })];
    const late = message({}, { receivedAt: T0 + 10_000 });
    for (const received of [...early, late]) keeper.hold(received);
    await keeper.renewDue(T0 + 16_000);
    expect(calls).to.deep.equal([early.map((received) => ({ receiptHandle: received.receiptHandle, seconds: TIMEOUT_S }))]);
    await keeper.renewDue(T0 + 20_000);
    expect(calls, "extended ones are not due again so soon; the late one is not due yet").to.have.length(1);
  });

  it("costs no request for a job that ends within half the timeout", async () => {
    const { calls, queue } = fakeQueue();
    const { keeper } = keeperOver(queue);
    const received = message({}, { receivedAt: T0 });
    keeper.hold(received);
    await keeper.renewDue(T0 + 10_000);
    keeper.release(received);
    await keeper.renewDue(T0 + 29_000);
    expect([calls, keeper.held]).to.deep.equal([[], 0]);
  });

  it("says when SQS refuses an extension, and tries again on the next tick", async () => {
    let refusing = true;
    const stale: BatchFailure = { code: "MessageNotInflight", message: "message is not in flight", senderFault: true };
    const { calls, queue } = fakeQueue(() => (refusing ? stale : undefined));
    const { keeper, lines } = keeperOver(queue);
    const received = message({}, { receivedAt: T0 });
    keeper.hold(received);
    await keeper.renewDue(T0 + 20_000);
    expect((await lines()).map((line) => [line.level, line.message, line.sqs_message_id, line.error])).to.deep.equal([
      ["warn", "could not extend a message's visibility; another worker may receive it", received.messageId, "message is not in flight"],
    ]);
    refusing = false;
    await keeper.renewDue(T0 + 21_000);
    expect(calls).to.have.length(2);
    await keeper.renewDue(T0 + 30_000);
    expect(calls, "the second try held: not due again yet").to.have.length(2);
  });
});

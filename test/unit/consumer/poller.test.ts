import { expect } from "chai";
import { Poller } from "../../../worker/src/consumer/poller";
import { Slots } from "../../../worker/src/consumer/slots";
import type { ReceivedMessage } from "../../../worker/src/sqs/queue";
import { message, readableLog, tick } from "./fakes";

type Receive = (max: number, signal: AbortSignal) => Promise<ReceivedMessage[]>;

/** A poller over a fake queue; `receive` answers each ReceiveMessage. */
function pollerOver(
  receive: Receive,
  capacity: number,
  options: { ready?: (signal: AbortSignal) => Promise<void>; jobsTakeMs?: number } = {},
) {
  const slots = new Slots(capacity);
  const asked: number[] = [];
  const handed: ReceivedMessage[][] = [];
  const { log, lines } = readableLog();
  const poller = new Poller({
    queue: {
      receive: (max, _waitSeconds, _visibility, signal) => {
        asked.push(max);
        return receive(max, signal);
      },
    },
    slots,
    waitSeconds: 20,
    visibilityTimeoutSeconds: 30,
    log,
    onMessages: (messages) => {
      handed.push(messages);
      // Jobs that end after a while give their slots back; by default they stay in flight.
      if (options.jobsTakeMs !== undefined) setTimeout(() => slots.give(messages.length), options.jobsTakeMs);
    },
    backoff: { firstMs: 50, maxMs: 1_000, jitter: "none" },
    ready: options.ready,
  });
  return { poller, slots, asked, handed, lines };
}

const full = async (max: number) => Array.from({ length: max }, () => message());

/** A long poll that ends only when the poller abandons it. */
const longPoll: Receive = (_max, signal) =>
  new Promise((_, reject) => signal.addEventListener("abort", () => reject(Object.assign(new Error("aborted"), { name: "AbortError" }))));

describe("Poller (receives while slots are free)", () => {
  it("asks for as many messages as there are free slots, and no more once none is free", async () => {
    const { poller, slots, asked, handed } = pollerOver(full, 3);
    poller.start();
    await tick();
    await tick();
    expect(asked).to.deep.equal([3]);
    expect(handed.map((messages) => messages.length)).to.deep.equal([3]);
    expect(slots.free).to.equal(0);
    slots.give(2);
    await tick();
    await tick();
    expect(asked).to.deep.equal([3, 2]);
    await poller.stop();
  });

  it("gives back the slots a receive did not fill", async () => {
    const { poller, slots, asked } = pollerOver(async (max, signal) => (max === 10 ? [message(), message()] : longPoll(max, signal)), 10);
    poller.start();
    await tick();
    await tick();
    expect(asked, "the next receive asks for the rest").to.deep.equal([10, 8]);
    expect(slots.inUse, "two messages and the long poll").to.equal(10);
    await poller.stop();
  });

  it("adds a loop while receives come back full, up to one per 10 slots", async () => {
    let polling = 0;
    let most = 0;
    const { poller } = pollerOver(
      async (max, signal) => {
        polling += 1;
        most = Math.max(most, polling);
        await new Promise((resolve) => setTimeout(resolve, 5));
        polling -= 1;
        return signal.aborted ? [] : full(max);
      },
      30,
      { jobsTakeMs: 1 },
    );
    poller.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await poller.stop();
    expect(most).to.equal(3);
  });

  it("backs off after failed receives, longer each time, and gives the slots back meanwhile", async () => {
    const { poller, slots, asked, lines } = pollerOver(async () => {
      throw Object.assign(new Error("connect ECONNREFUSED"), { name: "NetworkingError" });
    }, 10);
    poller.start();
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(slots.inUse).to.equal(0);
    await poller.stop();
    // Waits of 50, 100 and 200 ms: four receives at most in 250 ms, where a busy loop would make thousands.
    expect(asked.length).to.be.within(2, 4);
    const backoffs = (await lines()).filter((line) => line.message === "SQS receive failed; backing off");
    expect(backoffs.map((line) => [line.failures_in_a_row, line.retry_in_ms])).to.deep.equal(
      [
        [1, 50],
        [2, 100],
        [3, 200],
      ].slice(0, asked.length),
    );
    expect(backoffs[0]).to.include({ level: "warn", error: "NetworkingError: connect ECONNREFUSED" });
  });

  it("stops at once, abandoning a long poll under way, with every slot given back", async () => {
    const { poller, slots, asked } = pollerOver(longPoll, 10);
    poller.start();
    await tick();
    expect(asked).to.deep.equal([10]);
    const started = Date.now();
    await poller.stop();
    expect(Date.now() - started).to.be.below(100);
    expect([poller.polling, slots.inUse]).to.deep.equal([false, 0]);
  });

  it("does not receive while a dependency the jobs need is not ready", async () => {
    let ready = false;
    const { poller, asked } = pollerOver(longPoll, 10, {
      ready: async (signal) => {
        while (!ready && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 5));
      },
    });
    poller.start();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(asked).to.deep.equal([]);
    ready = true;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(asked).to.deep.equal([10]);
    await poller.stop();
  });
});

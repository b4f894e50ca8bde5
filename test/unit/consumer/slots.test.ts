import { expect } from "chai";
import { Slots } from "../../../worker/src/consumer/slots";
import { tick } from "./fakes";

describe("Slots (the in-flight gate)", () => {
  it("hands a receive as many slots as are free, up to what it asks for", async () => {
    const slots = new Slots(12);
    const signal = new AbortController().signal;
    expect(await slots.take(10, signal)).to.equal(10);
    expect(await slots.take(10, signal)).to.equal(2);
    expect([slots.inUse, slots.free]).to.deep.equal([12, 0]);
  });

  it("waits while none is free, and wakes when one is given back", async () => {
    const slots = new Slots(1);
    const signal = new AbortController().signal;
    await slots.take(1, signal);
    let taken: number | undefined;
    void slots.take(10, signal).then((count) => (taken = count));
    await tick();
    expect(taken, "nothing free yet").to.equal(undefined);
    slots.give(1);
    await tick();
    expect(taken).to.equal(1);
  });

  it("gives up waiting with 0 when stopped", async () => {
    const slots = new Slots(1);
    const stop = new AbortController();
    await slots.take(1, stop.signal);
    const waiting = slots.take(1, stop.signal);
    stop.abort();
    expect(await waiting).to.equal(0);
    expect(await slots.take(1, stop.signal), "a stopped take never takes").to.equal(0);
    expect(slots.inUse).to.equal(1);
  });

  it("takes back a receive's unused slots, never below none in use", async () => {
    const slots = new Slots(10);
    await slots.take(10, new AbortController().signal);
    slots.give(7);
    expect(slots.inUse).to.equal(3);
    slots.give(5);
    slots.give(0);
    expect([slots.inUse, slots.free]).to.deep.equal([0, 10]);
  });
});

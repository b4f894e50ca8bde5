import { expect } from "chai";
import { type Lease, LeaseKeeper, type LeaseKeeperOptions } from "../../../worker/src/lease-keeper";
import { deferred } from "./fakes";

const LEASE_MS = 30_000;
const T0 = 1_000_000;

/** A keeper whose timer is stopped: the test says when a tick happens with renewDue(now). */
function keeper(options: Partial<LeaseKeeperOptions<string, string>> = {}) {
  const calls: string[][] = [];
  const failures: [string, string[]][] = [];
  const leases = new LeaseKeeper<string, string>({
    leaseMs: LEASE_MS,
    renewWhenLeft: 1 / 2,
    tickMs: 1_000,
    renew: async (due) => {
      calls.push(due.map((lease) => lease.key));
    },
    onFailure: (error, failed) => failures.push([String(error), failed.map((lease) => lease.key)]),
    ...options,
  });
  leases.stop();
  return { leases, calls, failures };
}

describe("LeaseKeeper (leases renewed together, after bullmq's LockManager)", () => {
  it("renews every due lease in one call, and leaves the others alone", async () => {
    const { leases, calls } = keeper();
    leases.hold("a", "owner-a", T0 + 10_000);
    leases.hold("b", "owner-b", T0 + 14_000);
    leases.hold("c", "owner-c", T0 + 20_000);
    await leases.renewDue(T0);
    expect(calls).to.deep.equal([["a", "b"]]);
    expect([leases.endsAt("a"), leases.endsAt("b"), leases.endsAt("c")]).to.deep.equal([T0 + LEASE_MS, T0 + LEASE_MS, T0 + 20_000]);
    await leases.renewDue(T0);
    expect(calls, "nothing is due any more").to.have.length(1);
  });

  it("makes no call when nothing is due", async () => {
    const { leases, calls } = keeper();
    leases.hold("a", "owner", T0 + LEASE_MS);
    await leases.renewDue(T0);
    expect(calls).to.deep.equal([]);
  });

  it("tries a failed renewal again on the next tick", async () => {
    let failing = true;
    const calls: string[][] = [];
    const { leases, failures } = keeper({
      renew: async (due) => {
        calls.push(due.map((lease) => lease.key));
        if (failing) throw new Error("connection lost");
      },
    });
    leases.hold("a", "owner", T0 + 5_000);
    await leases.renewDue(T0);
    expect(failures).to.deep.equal([["Error: connection lost", ["a"]]]);
    expect(leases.endsAt("a"), "not renewed").to.equal(T0 + 5_000);
    failing = false;
    await leases.renewDue(T0 + 1_000);
    expect(calls).to.deep.equal([["a"], ["a"]]);
    expect(leases.endsAt("a")).to.equal(T0 + 1_000 + LEASE_MS);
  });

  it("does not ask again for a lease whose renewal is still under way", async () => {
    const pending = deferred<void>();
    const calls: string[][] = [];
    const { leases } = keeper({
      renew: (due) => {
        calls.push(due.map((lease) => lease.key));
        return pending.promise;
      },
    });
    leases.hold("a", "owner", T0);
    const first = leases.renewDue(T0);
    leases.hold("b", "owner", T0);
    const second = leases.renewDue(T0 + 500);
    pending.resolve();
    await Promise.all([first, second]);
    expect(calls).to.deep.equal([["a"], ["b"]]);
  });

  it("settles each lease on its own answer when the renewal answers lease by lease", async () => {
    const slow = deferred<void>();
    const { leases, failures } = keeper({
      renew: (due: readonly Lease<string, string>[]) =>
        due.map((lease) =>
          lease.key === "slow" ? slow.promise : lease.key === "refused" ? Promise.reject(new Error("no")) : Promise.resolve(),
        ),
    });
    for (const key of ["fast", "slow", "refused"]) leases.hold(key, "owner", T0);
    const renewal = leases.renewDue(T0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(leases.endsAt("fast"), "renewed without waiting for the slow one").to.equal(T0 + LEASE_MS);
    expect(leases.endsAt("slow")).to.equal(T0);
    slow.resolve();
    await renewal;
    expect(leases.endsAt("slow")).to.equal(T0 + LEASE_MS);
    expect(leases.endsAt("refused")).to.equal(T0);
    expect(failures).to.deep.equal([["Error: no", ["refused"]]]);
  });

  it("a lease stretched beyond the renewal point is not renewed, and a renewal never shortens it", async () => {
    const { leases, calls } = keeper();
    leases.hold("a", "owner", T0 + 5_000);
    leases.stretch("a", T0 + 100_000);
    leases.stretch("a", T0 + 1_000);
    expect(leases.endsAt("a")).to.equal(T0 + 100_000);
    await leases.renewDue(T0);
    expect(calls).to.deep.equal([]);
    await leases.renewDue(T0 + 90_000);
    expect(leases.endsAt("a")).to.equal(T0 + 90_000 + LEASE_MS);
  });

  it("forgets a lease: it is renewed no more", async () => {
    const { leases, calls } = keeper();
    leases.hold("a", "owner", T0);
    leases.forget("a");
    leases.stretch("a", T0 + 1);
    await leases.renewDue(T0);
    expect([calls, leases.endsAt("a"), leases.held]).to.deep.equal([[], undefined, 0]);
  });

  it("passes each lease's value to the renewal (the claim's owner token)", async () => {
    const seen: [string, string][] = [];
    const { leases } = keeper({ renew: async (due) => void seen.push(...due.map((lease): [string, string] => [lease.key, lease.value])) });
    leases.hold("7", "worker-1#3", T0);
    await leases.renewDue(T0);
    expect(seen).to.deep.equal([["7", "worker-1#3"]]);
  });

  it("ticks by its own timer, on the clock it is given", async () => {
    const calls: string[][] = [];
    const leases = new LeaseKeeper<string, string>({
      leaseMs: LEASE_MS,
      renewWhenLeft: 1 / 2,
      tickMs: 5,
      clock: () => T0 + 20_000,
      renew: async (due) => void calls.push(due.map((lease) => lease.key)),
      onFailure: () => undefined,
    });
    try {
      leases.hold("a", "owner", T0 + LEASE_MS);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      leases.stop();
    }
    expect(calls[0]).to.deep.equal(["a"]);
    expect(leases.endsAt("a")).to.equal(T0 + 20_000 + LEASE_MS);
  });
});

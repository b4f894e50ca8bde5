/**
 * Process pauses: a worker stopped (SIGSTOP) for 0.5–2× the visibility timeout, then let go on
 * (SIGCONT) — a long GC pause, a starved CPU, a lease extension that failed. A pause at a random
 * moment mostly finds a worker waiting on Solapi; to land pauses mid-claim and mid-send as well,
 * some wait for a moment the worker's own MySQL traffic shows (each worker has a proxy of its own):
 * just after it claimed jobs, or just after it passed the fence before Solapi (the transaction that
 * charges and marks sends started, committed). A worker paused there holds claims whose lease
 * lapses while it cannot look at a clock: the send log must keep it from sending anyway.
 */
import type { Socket } from "node:net";
import type { TcpFaultProxy } from "../support/fault-proxies";
import { type ChaosRun, pause } from "./harness";

export type Moment = "claim" | "fence";

/** As the worker's SQL writes them (store/message-log.ts): the claims, and the mark that a send began. */
const CLAIM = "INSERT IGNORE INTO message_log";
const SEND_MARK = /send_started_at\s*=\s*NOW\(/;
/** MySQL's COM_QUERY command byte, after the 4-byte packet header. */
const COM_QUERY = 0x03;
const HOW_LONG_A_MOMENT_IS_AWAITED_MS = 3_000;
const MOMENT_ATTEMPTS = 3;

/** Calls `seen` when a client of `proxy` claims jobs, or commits a transaction that marked sends started. */
function watchMoments(proxy: TcpFaultProxy, seen: (moment: Moment) => void): void {
  const marking = new WeakSet<Socket>();
  proxy.watch = (chunk, connection) => {
    const text = chunk.toString("latin1");
    if (text.includes(CLAIM)) seen("claim");
    if (SEND_MARK.test(text)) marking.add(connection);
    else if (chunk[4] === COM_QUERY && /^(COMMIT|ROLLBACK)/i.test(text.slice(5, 13))) {
      if (marking.has(connection) && /^COMMIT/i.test(text.slice(5, 11))) seen("fence");
      marking.delete(connection);
    }
  };
}

/**
 * Where each worker's pauses land, in turn, and for how long (× the visibility timeout). Just after
 * the fence a pause matters when it outlasts the lease: another worker can take the job over
 * meanwhile. Just after a claim, one that ends about when the lease runs out sends the worker on to
 * the fence with its lease lapsed or nearly so (the first interleaving); a longer one lets
 * another worker take over first.
 */
const SCHEDULE: { moment?: Moment; times: [number, number] }[] = [
  { moment: "fence", times: [1, 2] },
  { times: [0.5, 2] },
  { moment: "fence", times: [1, 2] },
  { moment: "claim", times: [0.8, 1.2] },
  { moment: "claim", times: [1, 2] },
  { moment: "fence", times: [1, 2] },
];

/**
 * Pauses every worker, each on its own SCHEDULE, until `target` pauses were made in all, each for
 * 0.5–2× the visibility timeout. One worker at least keeps running, to take over what the paused
 * ones hold. Counts each kind in the run's faults.
 */
export async function pauseWorkers(run: ChaosRun, target: number, visibilityMs: number): Promise<void> {
  const waiting = new Map<number, { moment: Moment; arrived: () => void; cancel: () => void }>();
  const mayPause = () => run.workers.pausedCount < run.workers.size - 1 && run.workers.pauses < target;
  const pauseNow = (index: number, ms: number) => {
    const stopped = run.workers.pause(index, ms);
    if (run.workers.pauses >= target) for (const other of waiting.values()) other.cancel();
    return stopped;
  };
  for (const [index, proxy] of run.mysqlProxy.proxies.entries()) {
    watchMoments(proxy, (moment) => {
      if (waiting.get(index)?.moment === moment && mayPause()) waiting.get(index)!.arrived();
    });
  }
  /** Pauses worker `index` as soon as its traffic shows `moment`; undefined when it does not come soon. */
  const pauseAt = (index: number, moment: Moment, ms: number) =>
    new Promise<{ resumed: Promise<void> } | undefined>((resolve) => {
      const settle = (paused?: { resumed: Promise<void> }) => {
        waiting.delete(index);
        clearTimeout(timer);
        resolve(paused);
      };
      const timer = setTimeout(() => settle(undefined), HOW_LONG_A_MOMENT_IS_AWAITED_MS);
      waiting.set(index, {
        moment,
        arrived: () => {
          waiting.delete(index);
          const stopped = pauseNow(index, ms);
          settle(stopped.started ? { resumed: stopped.resumed } : undefined);
        },
        cancel: () => settle(undefined),
      });
    });
  const stream = async (index: number) => {
    await pause(run, index * 300, index * 300);
    for (let turn = 0; ; turn += 1) {
      await pause(run, 100, 600);
      while (run.workers.pauses < target && !mayPause()) await pause(run, 100, 100);
      if (run.workers.pauses >= target) return;
      const { moment, times } = SCHEDULE[turn % SCHEDULE.length]!;
      const ms = visibilityMs * (times[0] + (times[1] - times[0]) * run.random());
      // A moment that does not come within the wait is awaited again a few times: while the queue still
      // has work it comes, and the pauses that matter most are not spent at random moments.
      let atMoment: { resumed: Promise<void> } | undefined;
      for (let attempt = 0; moment && !atMoment && attempt < MOMENT_ATTEMPTS && run.workers.pauses < target; attempt += 1) {
        atMoment = await pauseAt(index, moment, ms);
      }
      if (atMoment) {
        run.count(`pause just after a ${moment}${ms >= visibilityMs ? ", longer than the visibility timeout" : ""}`);
        await atMoment.resumed;
        continue;
      }
      // At a random moment, or the awaited one did not come (the worker had nothing to do).
      if (!mayPause()) continue;
      const now = pauseNow(index, ms);
      if (now.started) run.count("pause at a random moment");
      await now.resumed;
    }
  };
  try {
    await Promise.all(run.mysqlProxy.proxies.map((_, index) => stream(index)));
  } finally {
    for (const proxy of run.mysqlProxy.proxies) proxy.watch = undefined;
  }
}

/**
 * The worker processes of a chaos run: two or more `dist/cli.js worker` children, killed, terminated
 * or paused (SIGSTOP/SIGCONT) on purpose and restarted; any exit the run did not cause is counted as
 * a crash.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { runCli, type WorkerProcess } from "../support/process";

export interface Termination {
  code: number | null;
  tookMs: number;
}

export class WorkerPool {
  private readonly processes: WorkerProcess[] = [];
  private readonly expectedExits = new Set<WorkerProcess>();
  private stopping = false;
  /** Workers that have concluded a job since they started: past start-up, holding jobs. */
  private readonly working = new WeakSet<WorkerProcess>();
  private readonly paused = new Map<number, { worker: WorkerProcess; timer: NodeJS.Timeout; resumed: () => void }>();
  kills = 0;
  pauses = 0;
  crashes = 0;
  readonly crashOutput: string[] = [];
  readonly terminations: Termination[] = [];

  private readonly log?: WriteStream;

  constructor(
    /** Each worker's environment, by its index (a restarted worker gets its predecessor's). */
    private readonly envFor: (index: number) => NodeJS.ProcessEnv,
    readonly size: number,
    /** Every worker's output, appended: what to read when a run goes wrong. */
    logFile?: string,
  ) {
    if (logFile) this.log = createWriteStream(logFile, { flags: "w" });
  }

  start(): void {
    for (let index = 0; index < this.size; index += 1) this.processes[index] = this.spawn(index);
  }

  private spawn(index: number): WorkerProcess {
    const worker = runCli(["worker"], this.envFor(index));
    worker.child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString("utf8").includes('"message":"job ')) this.working.add(worker);
    });
    if (this.log) {
      worker.child.stdout!.on("data", (chunk: Buffer) =>
        this.log!.write(
          chunk
            .toString("utf8")
            .replace(/^/gm, `[${index}] `)
            .replace(/\[\d+\] $/, ""),
        ),
      );
      worker.child.stderr!.on("data", (chunk: Buffer) => this.log!.write(`[${index} stderr] ${chunk.toString("utf8")}`));
    }
    void worker.exited.then(({ code, signal }) => {
      if (this.expectedExits.has(worker) || this.stopping) return;
      this.crashes += 1;
      this.crashOutput.push(`worker ${index} exited by itself (code ${code}, signal ${signal}):\n${worker.stderr.join("").slice(-2000)}`);
      this.processes[index] = this.spawn(index);
    });
    return worker;
  }

  /** Workers paused right now. */
  get pausedCount(): number {
    return this.paused.size;
  }

  /**
   * Stops worker `index` (SIGSTOP: a long GC pause, a starved CPU) for `ms`, then lets it go on
   * (SIGCONT). Synchronous up to the stop, so that a pause can land on the moment that asked for it;
   * `resumed` resolves when it runs again. A worker already paused, or gone, is left alone (`started` false).
   */
  pause(index: number, ms: number): { started: boolean; resumed: Promise<void> } {
    const worker = this.processes[index];
    if (!worker || this.paused.has(index) || this.stopping || worker.child.exitCode !== null)
      return { started: false, resumed: Promise.resolve() };
    worker.child.kill("SIGSTOP");
    this.pauses += 1;
    this.note(index, `SIGSTOP for ${Math.round(ms)} ms`);
    let resumed!: () => void;
    const done = new Promise<void>((resolve) => (resumed = resolve));
    this.paused.set(index, { worker, resumed, timer: setTimeout(() => this.resume(index), ms) });
    return { started: true, resumed: done };
  }

  private resume(index: number): void {
    const pause = this.paused.get(index);
    if (!pause) return;
    clearTimeout(pause.timer);
    this.paused.delete(index);
    pause.worker.child.kill("SIGCONT");
    this.note(index, "SIGCONT");
    pause.resumed();
  }

  /** A line in the workers' log about what the run did to worker `index`. */
  private note(index: number, what: string): void {
    this.log?.write(`[${index} chaos] ${new Date().toISOString()} ${what}\n`);
  }

  /**
   * Resolves once worker `index` has concluded a job since it started, or after `timeoutMs`: a kill
   * meant to land on jobs in flight must not land on a worker still starting up (on a loaded machine
   * a restarted worker takes a second or more to poll).
   */
  async whenWorking(index: number, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const worker = this.processes[index];
      if (worker && this.working.has(worker)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** kill -9 worker `index` and start a new one in its place. */
  async kill(index: number): Promise<void> {
    const worker = this.processes[index]!;
    this.expectedExits.add(worker);
    worker.child.kill("SIGKILL");
    this.note(index, "SIGKILL");
    this.resume(index);
    await worker.exited;
    this.kills += 1;
    this.processes[index] = this.spawn(index);
  }

  /** SIGTERM worker `index` (a Spot interruption), time its exit, start a new one. */
  async terminate(index: number): Promise<Termination> {
    const worker = this.processes[index]!;
    this.expectedExits.add(worker);
    this.resume(index);
    const started = Date.now();
    this.note(index, "SIGTERM");
    worker.child.kill("SIGTERM");
    const { code, at } = await worker.exited;
    const termination = { code, tookMs: at - started };
    this.terminations.push(termination);
    this.processes[index] = this.spawn(index);
    return termination;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const index of [...this.paused.keys()]) this.resume(index);
    await Promise.all(
      this.processes.map(async (worker) => {
        const timer = setTimeout(() => worker.child.kill("SIGKILL"), 20_000);
        worker.child.kill("SIGTERM");
        await worker.exited;
        clearTimeout(timer);
      }),
    );
    this.log?.end();
  }
}

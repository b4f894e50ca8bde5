/**
 * The worker processes of a chaos run: two or more `dist/cli.js worker` children, killed or
 * stopped on purpose and restarted; any exit the run did not cause is counted as a crash.
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
  kills = 0;
  crashes = 0;
  readonly crashOutput: string[] = [];
  readonly terminations: Termination[] = [];

  private readonly log?: WriteStream;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
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
    const worker = runCli(["worker"], this.env);
    if (this.log) {
      worker.child.stdout!.on("data", (chunk: Buffer) => this.log!.write(chunk.toString("utf8").replace(/^/gm, `[${index}] `).replace(/\[\d+\] $/, "")));
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

  /** kill -9 worker `index` and start a new one in its place. */
  async kill(index: number): Promise<void> {
    const worker = this.processes[index]!;
    this.expectedExits.add(worker);
    worker.child.kill("SIGKILL");
    await worker.exited;
    this.kills += 1;
    this.processes[index] = this.spawn(index);
  }

  /** SIGTERM worker `index` (a Spot interruption), time its exit, start a new one. */
  async terminate(index: number): Promise<Termination> {
    const worker = this.processes[index]!;
    this.expectedExits.add(worker);
    const started = Date.now();
    worker.child.kill("SIGTERM");
    const { code, at } = await worker.exited;
    const termination = { code, tookMs: at - started };
    this.terminations.push(termination);
    this.processes[index] = this.spawn(index);
    return termination;
  }

  async stop(): Promise<void> {
    this.stopping = true;
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

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const CLI = resolve(__dirname, "../../dist/cli.js");

export interface WorkerProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Parsed JSON log lines. */
  lines(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Runs the built CLI (`npm run build` makes dist/cli.js) as the image would. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, nodeOptions: string[] = []): WorkerProcess {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  const child = spawn(process.execPath, [...nodeOptions, CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let pending = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    const parts = pending.split("\n");
    pending = parts.pop()!;
    stdout.push(...parts.filter(Boolean));
  });
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((done) => {
    child.on("exit", (code, signal) => done({ code, signal, at: Date.now() }));
  });
  const lines = () =>
    stdout.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    child,
    stdout,
    stderr,
    lines,
    exited,
    async waitForLine(match, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines().find(match);
        if (found) return found;
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`no matching log line within ${timeoutMs} ms; stdout:\n${stdout.join("\n")}\nstderr:\n${stderr.join("")}`);
        }
        await new Promise((resolveWait) => setTimeout(resolveWait, 25));
      }
    },
  };
}

/** Runs a command of the built CLI to its end: its exit code, its stdout lines joined, its stderr. */
export async function runToEnd(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const command = runCli(args, env);
  const { code } = await command.exited;
  return { code, stdout: command.stdout.join("\n"), stderr: command.stderr.join("") };
}

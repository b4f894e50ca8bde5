/**
 * The one executable: `academy-messaging <command>`. npm scripts and the container image call it.
 * Each command resolves to an exit code; the process exits with it even if sockets linger.
 */
import { main } from "../main";

type Command = (args: string[]) => Promise<number>;

// The other commands load only when asked for: the worker's memory holds none of their code.
const COMMANDS: Record<string, { summary: string; run: Command }> = {
  worker: { summary: "run the worker (npm start)", run: () => main() },
  demo: {
    summary: "the worker on an embedded SQS and mock Solapi, one job of each mode",
    run: async () => (await import("./demo.js")).runDemo(),
  },
  stress: {
    summary: "enqueue --count jobs; with --run-worker, drain them and report the rate",
    run: async (args) => (await import("./stress.js")).runStress(args),
  },
  "sqs-create": {
    summary: "create the queue and its DLQ (safe to run twice)",
    run: async (args) => (await import("./sqs-create.js")).runSqsCreate(args),
  },
  migrate: {
    summary: "create or upgrade the MySQL schema (safe to run twice)",
    run: async () => (await import("./migrate.js")).runMigrate(),
  },
  rehash: {
    summary: "rewrite older send-log rows' recipient digests as keyed ones (resumable)",
    run: async () => (await import("./rehash.js")).runRehash(),
  },
  trace: {
    summary: "what became of a recipient's recent jobs: --to 010… [--tenant N] [--since 7d] [--refresh]",
    run: async (args) => (await import("./trace.js")).runTrace(args),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(11)} ${command.summary}`);
  return `usage: academy-messaging <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

async function run(): Promise<number> {
  const [name = "worker", ...args] = process.argv.slice(2);
  if (name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return command.run(args);
}

function fatal(error: unknown): never {
  process.stderr.write(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}

process.on("uncaughtException", fatal);

run().then((code) => process.exit(code), fatal);

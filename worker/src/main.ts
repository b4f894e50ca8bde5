/**
 * The worker process: configuration → logger → adapters → consumer, and the signals that end it.
 *
 * Exit codes: 0 after a clean drain; 1 when the drain overran MESSAGING_SHUTDOWN_TIMEOUT, a second
 * signal forced the exit, or start-up failed; 2 for a bad configuration (docs/contract.md §3).
 */
import { CONFIG_EXIT_CODE, type Config, ConfigError, loadConfig } from "./config";
import { errorMessage } from "./error-message";
import { createLogger, flushLogger, type Logger } from "./log";
import { type RunningWorker, startWorker } from "./worker";

const SIGNALS = ["SIGTERM", "SIGINT"] as const;

/** Drains within the budget; resolves true when it finished in time. */
async function drain(worker: RunningWorker, budgetMs: number, log: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const overran = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), budgetMs);
  });
  const finished = await Promise.race([worker.stop().then(() => true as const), overran]);
  clearTimeout(timer);
  if (!finished) {
    log.error("shutdown budget spent with jobs still in flight; exiting anyway", {
      in_flight: worker.consumer.inFlight,
      budget_ms: budgetMs,
    });
  }
  return finished;
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let log: Logger | undefined;
  try {
    return await run(env, (created) => (log = created));
  } finally {
    if (log) await flushLogger(log);
  }
}

async function run(env: NodeJS.ProcessEnv, onLogger: (log: Logger) => void): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return CONFIG_EXIT_CODE;
  }
  const log = createLogger({ ...config.log, secrets: config.secrets });
  onLogger(log);
  log.info("worker starting", {
    solapi_mode: config.solapi.mode,
    queue: config.sqs.queueUrl ?? config.sqs.queueName,
    ...(config.sqs.local ? { sqs: `its own local endpoint on port ${config.sqs.local.port} (mock mode, no SQS configured)` } : {}),
    region: config.sqs.region,
    node: process.version,
  });

  const startup = new AbortController();
  let worker: RunningWorker | undefined;
  let resolveExit!: (code: number) => void;
  const exit = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });

  let signalled = false;
  const shutDown = (running: RunningWorker) => {
    const started = Date.now();
    void drain(running, config.consumer.shutdownTimeoutMs, log).then((clean) => {
      if (clean) log.info("shutdown complete", { took_ms: Date.now() - started, ...running.consumer.stats });
      resolveExit(clean ? 0 : 1);
    });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.error("second signal: exiting now", { signal, in_flight: worker?.consumer.inFlight ?? 0 });
      resolveExit(1);
      return;
    }
    signalled = true;
    log.info("shutdown requested: no new jobs; finishing the ones in flight", { signal, in_flight: worker?.consumer.inFlight ?? 0 });
    startup.abort();
    if (worker) shutDown(worker);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);

  try {
    worker = await startWorker(config, log, { signal: startup.signal });
  } catch (error) {
    if (startup.signal.aborted) {
      log.info("stopped before polling began");
      return 0;
    }
    log.error("worker could not start", { error: errorMessage(error) });
    return 1;
  }
  // A signal that arrived while start-up was finishing: drain what was just started.
  if (signalled) shutDown(worker);
  const code = await exit;
  for (const signal of SIGNALS) process.off(signal, onSignal);
  return code;
}

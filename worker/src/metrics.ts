/**
 * Metrics without a Lambda or an agent (MESSAGING_METRICS=true): once a minute, when anything
 * happened, one CloudWatch Embedded Metric Format line on stdout. The awslogs driver ships it and
 * CloudWatch Logs turns it into metrics (namespace AcademyMessaging, dimension Queue), which the
 * stack's dashboard shows. Counts come from the consumer's job reports; Solapi latency from timing
 * each gateway `send` (one request per group of jobs).
 */
import type { JobReport } from "./consumer/consumer";
import type { SolapiGateway } from "./solapi/client";
import type { Channel } from "./solapi/messages";

export const METRICS_NAMESPACE = "AcademyMessaging";
export const METRICS_INTERVAL_MS = 60_000;

/** One minute's figures. */
export interface MinuteFigures {
  sent: Record<Channel, number>;
  fellBack: number;
  failed: number;
  deadLettered: number;
  /** Solapi `send` durations, ms, in the order they ended. */
  solapiLatenciesMs: number[];
}

function emptyFigures(): MinuteFigures {
  return { sent: { sms: 0, lms: 0, alimtalk: 0 }, fellBack: 0, failed: 0, deadLettered: 0, solapiLatenciesMs: [] };
}

/** Adds one job's end to a minute's figures. */
export function countJob(figures: MinuteFigures, report: Pick<JobReport, "outcome" | "action">): void {
  const { outcome, action } = report;
  if (action.action === "dead-letter") figures.deadLettered += 1;
  else if (outcome.kind === "failed") figures.failed += 1;
  else if (outcome.kind === "sent") {
    figures.sent[outcome.channel] += 1;
    if (outcome.fellBackFrom) figures.fellBack += 1;
  }
}

/** Nearest-rank percentile (p in 0–100) of unsorted samples; undefined without samples. */
export function percentile(samples: readonly number[], p: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

function isQuiet(figures: MinuteFigures): boolean {
  const sent = figures.sent.sms + figures.sent.lms + figures.sent.alimtalk;
  return sent + figures.failed + figures.deadLettered + figures.solapiLatenciesMs.length === 0;
}

/**
 * The EMF log event for a minute's figures (CloudWatch's EMF specification): one JSON object, the
 * metric values as root members named by the `_aws.CloudWatchMetrics` directive.
 */
export function emfLine(figures: MinuteFigures, queue: string, timestampMs: number): string {
  const values: Record<string, number> = {
    SentSms: figures.sent.sms,
    SentLms: figures.sent.lms,
    SentAlimtalk: figures.sent.alimtalk,
    FellBack: figures.fellBack,
    Failed: figures.failed,
    DeadLettered: figures.deadLettered,
  };
  const metrics: { Name: string; Unit: string }[] = Object.keys(values).map((name) => ({ Name: name, Unit: "Count" }));
  const p50 = percentile(figures.solapiLatenciesMs, 50);
  const p99 = percentile(figures.solapiLatenciesMs, 99);
  if (p50 !== undefined && p99 !== undefined) {
    values.SolapiLatencyP50 = p50;
    values.SolapiLatencyP99 = p99;
    metrics.push({ Name: "SolapiLatencyP50", Unit: "Milliseconds" }, { Name: "SolapiLatencyP99", Unit: "Milliseconds" });
  }
  return JSON.stringify({
    _aws: { Timestamp: timestampMs, CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [["Queue"]], Metrics: metrics }] },
    Queue: queue,
    ...values,
  });
}

export interface MetricsOptions {
  /** The Queue dimension: the job queue's name. */
  queue: string;
  /** Where lines go; stdout by default. */
  write?: (line: string) => void;
  intervalMs?: number;
  now?: () => number;
}

/** Collects a minute at a time and writes its line; `stop()` writes the last, partial minute. */
export class MinuteMetrics {
  private figures = emptyFigures();
  private timer?: NodeJS.Timeout;
  private readonly write: (line: string) => void;
  private readonly now: () => number;

  constructor(private readonly options: MetricsOptions) {
    this.write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer ??= setInterval(() => this.flush(), this.options.intervalMs ?? METRICS_INTERVAL_MS);
    this.timer.unref();
  }

  recordJob(report: JobReport): void {
    countJob(this.figures, report);
  }

  /** The gateway, with each `send` timed; the rest passes through. */
  timed(gateway: SolapiGateway): SolapiGateway {
    const latencies = () => this.figures.solapiLatenciesMs;
    return {
      ...gateway,
      async send(messages, options) {
        const started = performance.now();
        try {
          return await gateway.send(messages, options);
        } finally {
          latencies().push(Math.round(performance.now() - started));
        }
      },
    };
  }

  /** Writes the figures gathered since the last line, if anything happened, and starts afresh. */
  flush(): void {
    const figures = this.figures;
    this.figures = emptyFigures();
    if (!isQuiet(figures)) this.write(emfLine(figures, this.options.queue, this.now()));
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }
}

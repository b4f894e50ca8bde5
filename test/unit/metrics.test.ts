import { expect } from "chai";
import { ConfigError, loadConfig } from "../../worker/src/config";
import type { JobReport } from "../../worker/src/consumer/consumer";
import { countJob, emfLine, type MinuteFigures, MinuteMetrics, percentile } from "../../worker/src/metrics";
import type { AckAction } from "../../worker/src/pipeline/decide";
import type { JobOutcome } from "../../worker/src/pipeline/outcome";
import type { SolapiGateway } from "../../worker/src/solapi/client";

const DELETE: AckAction = { action: "delete" };

function report(outcome: JobOutcome, action: AckAction = DELETE): JobReport {
  return { key: "k", sqsMessageId: "m", receiveCount: 1, outcome, action, acknowledged: true };
}

const sent = (channel: "sms" | "lms" | "alimtalk", fellBackFrom?: string): JobOutcome => ({
  kind: "sent",
  channel,
  groupId: "G",
  messageId: "M",
  fellBackFrom,
});

const CLOUDWATCH_UNITS = new Set(
  "Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second Count/Second None".split(
    " ",
  ),
);

/**
 * The rules of CloudWatch's Embedded Metric Format specification (CloudWatch_Embedded_Metric_Format_Specification):
 * a JSON object and nothing else; `_aws.Timestamp` in ms; each MetricDirective with a Namespace, DimensionSets of
 * at most 9 keys naming root string members, at most 100 MetricDefinitions naming root numbers, units CloudWatch knows.
 */
function emfProblems(line: string): string[] {
  const problems: string[] = [];
  if (line.includes("\n") || line.trim() !== line) problems.push("not a single line with nothing around the object");
  let root: Record<string, unknown>;
  try {
    root = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return ["not JSON"];
  }
  if (typeof root !== "object" || root === null || Array.isArray(root)) return ["not a JSON object"];
  const meta = root._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  if (!meta || typeof meta !== "object") return ["no _aws object"];
  if (!Number.isInteger(meta.Timestamp)) problems.push("_aws.Timestamp is not an integer of ms");
  if (!Array.isArray(meta.CloudWatchMetrics) || meta.CloudWatchMetrics.length === 0)
    return [...problems, "no CloudWatchMetrics directives"];
  for (const directive of meta.CloudWatchMetrics as Record<string, unknown>[]) {
    const namespace = directive.Namespace;
    if (typeof namespace !== "string" || namespace.length < 1 || namespace.length > 255) problems.push("bad Namespace");
    const dimensionSets = directive.Dimensions;
    if (!Array.isArray(dimensionSets) || dimensionSets.length === 0) problems.push("no DimensionSet");
    for (const set of (dimensionSets ?? []) as unknown[]) {
      if (!Array.isArray(set) || set.length > 9) problems.push("a DimensionSet is not an array of at most 9 keys");
      for (const key of (set ?? []) as unknown[])
        if (typeof key !== "string" || typeof root[key] !== "string") problems.push(`dimension ${String(key)} has no string target`);
    }
    const metrics = directive.Metrics;
    if (!Array.isArray(metrics) || metrics.length > 100) problems.push("Metrics is not an array of at most 100");
    for (const metric of (metrics ?? []) as { Name?: unknown; Unit?: unknown }[]) {
      const target = typeof metric.Name === "string" ? root[metric.Name] : undefined;
      const numeric =
        typeof target === "number" || (Array.isArray(target) && target.length <= 100 && target.every((value) => typeof value === "number"));
      if (!numeric) problems.push(`metric ${String(metric.Name)} has no numeric target`);
      if (metric.Unit !== undefined && !CLOUDWATCH_UNITS.has(String(metric.Unit)))
        problems.push(`metric ${String(metric.Name)}: unknown unit ${String(metric.Unit)}`);
    }
  }
  return problems;
}

function figures(overrides: Partial<MinuteFigures> = {}): MinuteFigures {
  return { sent: { sms: 0, lms: 0, alimtalk: 0 }, fellBack: 0, failed: 0, deadLettered: 0, solapiLatenciesMs: [], ...overrides };
}

describe("metrics: a minute's figures and its EMF line", () => {
  it("counts sends by channel, AlimTalk fallbacks, permanent failures and dead letters; nothing else", () => {
    const minute = figures();
    for (const outcome of [
      sent("sms"),
      sent("sms"),
      sent("lms"),
      sent("alimtalk"),
      sent("sms", "alimtalk"),
      { kind: "failed", reason: "no sender" } as JobOutcome,
    ]) {
      countJob(minute, report(outcome));
    }
    countJob(minute, report({ kind: "poison", reason: "not JSON" }, { action: "dead-letter", reason: "not JSON" }));
    countJob(minute, report({ kind: "failed", reason: "x" }, { action: "dead-letter", reason: "x" }));
    countJob(
      minute,
      report(
        { kind: "retry", reason: "503", ambiguous: false, minDelaySeconds: 0, alert: false },
        { action: "retry-later", delaySeconds: 10 },
      ),
    );
    countJob(minute, report({ kind: "skipped", status: "SKIPPED_BALANCE", reason: "credits" }));
    countJob(minute, report({ kind: "duplicate", status: "SENT", reason: "copy" }));
    expect(minute).to.deep.equal(figures({ sent: { sms: 3, lms: 1, alimtalk: 1 }, fellBack: 1, failed: 1, deadLettered: 2 }));
  });

  it("percentiles by nearest rank", () => {
    const samples = Array.from({ length: 100 }, (_, index) => 100 - index);
    expect(percentile(samples, 50)).to.equal(50);
    expect(percentile(samples, 99)).to.equal(99);
    expect(percentile([7], 99)).to.equal(7);
    expect(percentile([120, 80, 100], 50)).to.equal(100);
    expect(percentile([], 50)).to.equal(undefined);
  });

  it("writes a valid EMF document: namespace AcademyMessaging, dimension Queue, counts and Solapi latency p50/p99", () => {
    const line = emfLine(
      figures({
        sent: { sms: 12, lms: 2, alimtalk: 30 },
        fellBack: 3,
        failed: 1,
        deadLettered: 0,
        solapiLatenciesMs: [140, 150, 160, 900],
      }),
      "academy-messaging-jobs",
      1_764_480_000_000,
    );
    expect(emfProblems(line)).to.deep.equal([]);
    const document = JSON.parse(line);
    expect(document._aws).to.deep.equal({
      Timestamp: 1_764_480_000_000,
      CloudWatchMetrics: [
        {
          Namespace: "AcademyMessaging",
          Dimensions: [["Queue"]],
          Metrics: [
            { Name: "SentSms", Unit: "Count" },
            { Name: "SentLms", Unit: "Count" },
            { Name: "SentAlimtalk", Unit: "Count" },
            { Name: "FellBack", Unit: "Count" },
            { Name: "Failed", Unit: "Count" },
            { Name: "DeadLettered", Unit: "Count" },
            { Name: "SolapiLatencyP50", Unit: "Milliseconds" },
            { Name: "SolapiLatencyP99", Unit: "Milliseconds" },
          ],
        },
      ],
    });
    expect(document).to.deep.include({
      Queue: "academy-messaging-jobs",
      SentSms: 12,
      SentLms: 2,
      SentAlimtalk: 30,
      FellBack: 3,
      Failed: 1,
      DeadLettered: 0,
      SolapiLatencyP50: 150,
      SolapiLatencyP99: 900,
    });
  });

  it("leaves latency out of a minute without a Solapi request, and stays valid EMF", () => {
    const line = emfLine(figures({ failed: 2 }), "q", 1);
    expect(emfProblems(line)).to.deep.equal([]);
    expect(JSON.parse(line)).not.to.have.property("SolapiLatencyP50");
  });

  it("the validator itself rejects what the specification forbids", () => {
    expect(
      emfProblems(
        '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["Queue"]],"Metrics":[{"Name":"X","Unit":"Jobs"}]}]},"Queue":7,"X":"1"}',
      ),
    ).to.deep.equal(["dimension Queue has no string target", "metric X has no numeric target", "metric X: unknown unit Jobs"]);
  });
});

describe("metrics: one line a minute", () => {
  function gateway(delayMs: number): SolapiGateway {
    return {
      mode: "live",
      send: async () => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return new Map();
      },
      findSent: async () => undefined,
      listMessages: async () => [],
      close: () => undefined,
    };
  }

  it("writes one line per minute with what happened in it, none for a quiet minute, and the partial minute on stop", async () => {
    const lines: string[] = [];
    const metrics = new MinuteMetrics({ queue: "jobs", write: (line) => lines.push(line), now: () => 42 });
    const timed = metrics.timed(gateway(30));
    await timed.send([]);
    metrics.recordJob(report(sent("alimtalk")));
    metrics.recordJob(report(sent("sms", "alimtalk")));
    metrics.flush();
    metrics.flush();
    metrics.recordJob(report({ kind: "failed", reason: "x" }));
    metrics.stop();
    expect(lines).to.have.length(2);
    const first = JSON.parse(lines[0]!);
    expect(first).to.deep.include({ SentAlimtalk: 1, SentSms: 1, FellBack: 1, Failed: 0 });
    expect(first.SolapiLatencyP50).to.be.at.least(25);
    expect(JSON.parse(lines[1]!)).to.deep.include({ Failed: 1, SentSms: 0 });
    expect(JSON.parse(lines[1]!)).not.to.have.property("SolapiLatencyP99");
  });

  it("its timer writes the line on its own", async () => {
    const lines: string[] = [];
    const metrics = new MinuteMetrics({ queue: "jobs", write: (line) => lines.push(line), intervalMs: 10 });
    metrics.start();
    metrics.recordJob(report(sent("lms")));
    const deadline = Date.now() + 2_000;
    while (lines.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    metrics.stop();
    expect(lines).to.have.length(1);
    expect(JSON.parse(lines[0]!)).to.deep.include({ SentLms: 1 });
  });

  it("times a send that fails too, and passes every call through", async () => {
    const lines: string[] = [];
    const metrics = new MinuteMetrics({ queue: "jobs", write: (line) => lines.push(line) });
    let closed = false;
    const failing: SolapiGateway = { ...gateway(0), send: async () => Promise.reject(new Error("boom")), close: () => (closed = true) };
    const timed = metrics.timed(failing);
    expect(timed.mode).to.equal("live");
    await timed.send([]).catch(() => undefined);
    timed.close();
    metrics.stop();
    expect(closed).to.equal(true);
    expect(JSON.parse(lines[0]!)).to.have.property("SolapiLatencyP99");
  });
});

describe("metrics: MESSAGING_METRICS", () => {
  const env = { SOLAPI_MOCK: "true" };

  it("is off unless asked (the Pulumi stack turns it on); true/false like the other flags", () => {
    expect(loadConfig(env).metrics).to.equal(false);
    expect(loadConfig({ ...env, MESSAGING_METRICS: "true" }).metrics).to.equal(true);
    expect(loadConfig({ ...env, MESSAGING_METRICS: "off" }).metrics).to.equal(false);
  });

  it("a bad value is named at start-up", () => {
    expect(() => loadConfig({ ...env, MESSAGING_METRICS: "sometimes" })).to.throw(
      ConfigError,
      /MESSAGING_METRICS must be true or false \(got "sometimes"\)/,
    );
  });
});

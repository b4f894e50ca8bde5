/**
 * What one bench configuration measures, and the table that sets the worker beside its
 * one-at-a-time baseline, each figure with the ratio between the two.
 */

export interface Figures {
  label: string;
  concurrency: number;
  jobs: number;
  messagesPerSecond: number;
  cpuMsPerMessage: number;
  peakRssMb: number;
  sqsRequestsPerMessage: number;
  solapiRequestsPerMessage: number;
  /** Delivery checks: list requests per message, and from the last delete to the last result recorded. */
  listRequestsPerMessage: number;
  resultsAfterLastDeleteMs: number;
  startupToFirstPollMs: number;
  sigtermToExitMs: number;
  slowestSendMs: number;
}

const ROWS: [keyof Figures, string, (value: number) => string, "higher" | "lower"][] = [
  ["messagesPerSecond", "messages per second (steady state)", (v) => v.toFixed(1), "higher"],
  ["cpuMsPerMessage", "worker CPU ms per message", (v) => v.toFixed(3), "lower"],
  ["peakRssMb", "peak RSS of the worker, MB", (v) => v.toFixed(1), "lower"],
  ["sqsRequestsPerMessage", "SQS requests per message", (v) => v.toFixed(3), "lower"],
  ["solapiRequestsPerMessage", "Solapi requests per message", (v) => v.toFixed(3), "lower"],
  ["listRequestsPerMessage", "Solapi list requests per message (delivery checks)", (v) => v.toFixed(4), "lower"],
  ["resultsAfterLastDeleteMs", "last delivery result after the last delete, ms", (v) => v.toFixed(0), "lower"],
  ["startupToFirstPollMs", "start-up to first poll, ms", (v) => v.toFixed(0), "lower"],
  ["sigtermToExitMs", "SIGTERM to exit, ms (sends in flight)", (v) => v.toFixed(0), "lower"],
];

export function table(worker: Figures, baseline: Figures): string {
  const head = [
    "figure",
    `worker (${worker.concurrency} in flight, ${worker.jobs} jobs)`,
    `baseline (1 in flight, ${baseline.jobs} jobs)`,
    "ratio",
  ];
  const lines = ROWS.map(([key, name, format, better]) => {
    const ours = worker[key] as number;
    const theirs = baseline[key] as number;
    const ratio = better === "higher" ? ours / theirs : theirs / ours;
    const compared = Number.isFinite(ratio) && ratio > 0 ? `${ratio.toFixed(1)}× ${better === "higher" ? "faster" : "less"}` : "—";
    return [name, format(ours), format(theirs), compared];
  });
  const widths = head.map((_, column) => Math.max(...[head, ...lines].map((row) => row[column]!.length)));
  const render = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ")} |`;
  return [render(head), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...lines.map(render)].join("\n");
}

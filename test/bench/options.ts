/**
 * `npm run bench`'s options: how many jobs, Solapi's latency, the worker's concurrency, with or
 * without the database, and where the figures and CPU profiles go.
 */
import { parseArgs } from "node:util";

export interface Options {
  jobs: number;
  latencyMs: number;
  concurrency: number;
  db: boolean;
  baselineJobs: number;
  json?: string;
  cpuProf?: string;
  logLevel: string;
  nodeOptions: string[];
  deliveryCheckSeconds: number;
}

/** The command line (bench.ts shows its usage), with its defaults. */
export function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "5000" },
      "latency-ms": { type: "string", default: "150" },
      concurrency: { type: "string", default: "50" },
      db: { type: "boolean", default: true },
      "no-db": { type: "boolean", default: false },
      "baseline-jobs": { type: "string", default: "200" },
      json: { type: "string" },
      "cpu-prof": { type: "string" },
      "log-level": { type: "string", default: "info" },
      "node-options": { type: "string", default: "" },
      "delivery-check-seconds": { type: "string", default: "1" },
    },
  });
  return {
    jobs: Number(values.jobs),
    latencyMs: Number(values["latency-ms"]),
    concurrency: Number(values.concurrency),
    db: values.db && !values["no-db"],
    baselineJobs: Number(values["baseline-jobs"]),
    json: values.json,
    cpuProf: values["cpu-prof"],
    logLevel: values["log-level"],
    nodeOptions: values["node-options"].split(" ").filter(Boolean),
    deliveryCheckSeconds: Number(values["delivery-check-seconds"]),
  };
}

import { setTimeout as sleep } from "node:timers/promises";
import { BACKOFF, backoffMs } from "../backoff";
import { errorMessage } from "../error-message";
import type { Logger } from "../log";
import type { Db } from "./pool";

/** Errors that say the server cannot be reached, rather than that a statement failed. */
const UNREACHABLE = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_SERVER_SHUTDOWN",
]);

export function isUnreachable(error: unknown): boolean {
  const { code, fatal } = (error ?? {}) as { code?: string; fatal?: boolean };
  return fatal === true || (code !== undefined && UNREACHABLE.has(code));
}

/**
 * Whether the database answers. A failure that says it cannot be reached marks it down; `ready()`
 * then probes it (SELECT 1, backing off by BACKOFF.databaseProbe) until it answers again.
 */
export class DatabaseHealth {
  private down = false;
  private probing?: Promise<void>;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /** Notes whether `error` means the database is unreachable. */
  note(error: unknown): void {
    if (!isUnreachable(error) || this.down) return;
    this.down = true;
    this.log.warn("database unreachable: no new jobs until it answers", { error: errorMessage(error) });
  }

  /** Notes `error`, then passes it on. */
  observe(error: unknown): never {
    this.note(error);
    throw error;
  }

  async ready(signal: AbortSignal): Promise<void> {
    if (!this.down) return;
    this.probing ??= this.probe(signal).finally(() => (this.probing = undefined));
    await this.probing;
  }

  private async probe(signal: AbortSignal): Promise<void> {
    const started = Date.now();
    for (let retry = 1; this.down && !signal.aborted; retry += 1) {
      try {
        await this.db.query("SELECT 1");
        this.down = false;
        this.log.info("database answers again: taking jobs", { after_ms: Date.now() - started });
      } catch {
        await sleep(backoffMs(retry, BACKOFF.databaseProbe), undefined, { signal }).catch(() => undefined);
      }
    }
  }
}

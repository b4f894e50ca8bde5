/**
 * Keeps the claims of jobs in flight alive: a lease keeper (lease-keeper.ts) over message_log rows,
 * every due claim renewed in one statement. A lease that runs out anyway is lost for good
 * (extendLeases does not revive it), and the fence then refuses to start a send under it.
 */

import { errorMessage } from "../error-message";
import { LeaseKeeper } from "../lease-keeper";
import type { Logger } from "../log";
import { extendLeases } from "./message-log";
import type { Db } from "./pool";

/** A lease is renewed once a third of it has passed, and tried again every eighth: five more tries before it runs out. */
const RENEW_WHEN_LEFT = 2 / 3;
const TICKS_PER_LEASE = 8;

/** Claims by message_log row id, each held with its owner token. */
export class ClaimLeases extends LeaseKeeper<number, string> {
  constructor(
    db: Db,
    /** The length of a renewed lease: the SQS visibility timeout, so a dead worker's claims lapse when SQS hands its jobs on. */
    leaseMs: number,
    log: Logger,
    onFailure: (error: unknown) => void = () => undefined,
  ) {
    super({
      leaseMs,
      renewWhenLeft: RENEW_WHEN_LEFT,
      tickMs: Math.max(100, Math.floor(leaseMs / TICKS_PER_LEASE)),
      renew: (due) =>
        extendLeases(
          db,
          due.map((claim) => claim.key),
          due.map((claim) => claim.value),
          leaseMs,
        ),
      onFailure: (error, claims) => {
        onFailure(error);
        log.warn("could not renew job claims; trying again shortly", { claims: claims.length, error: errorMessage(error) });
      },
    });
  }
}

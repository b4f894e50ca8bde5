/**
 * The one timing rule that keeps a message from going out twice when a worker pauses (GC, a starved
 * CPU, SIGSTOP) or its lease runs out mid-step. Solapi has no idempotency key, so the send log's claim
 * is the only fence, and it must outlast every way a send can still reach Solapi:
 *
 *   fence (send_started_at = t)        the claim is extended to t + fenceLease
 *   ├─ the request must leave by        t + startBudget      (checked in the transport, right before fetch)
 *   ├─ and ends, or is abandoned, by    t + startBudget + timeout
 *   └─ Solapi has registered it by      t + settle           (a take-over asks Solapi only after this)
 *
 * A worker that resumes after the start budget does not send; a worker that takes a claim over after
 * a send began waits until the send has settled, then asks Solapi whether it arrived.
 */
export interface SendWindow {
  /** From the fence's commit to the request leaving this process. */
  startBudgetMs: number;
  /** How long the fence keeps the claim at least: no other worker can take it over before. */
  fenceLeaseMs: number;
  /** From the fence until a lookup in Solapi can be trusted to show a send that was made. */
  settleMs: number;
}

/** Committing the fence and building the request take milliseconds; seconds mean the process stalled. */
const START_BUDGET_MS = 2_000;
const LEASE_MARGIN_MS = 1_000;
/** Solapi may still be registering a request whose answer we gave up on: as long again as our deadline, at least 5 s. */
const MIN_REGISTRATION_MS = 5_000;

export function sendWindow(solapiTimeoutMs: number): SendWindow {
  const sendEndsMs = START_BUDGET_MS + solapiTimeoutMs;
  return {
    startBudgetMs: START_BUDGET_MS,
    fenceLeaseMs: sendEndsMs + LEASE_MARGIN_MS,
    settleMs: sendEndsMs + Math.max(MIN_REGISTRATION_MS, solapiTimeoutMs),
  };
}

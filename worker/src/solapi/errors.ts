import { BadRequestError, ClientError, DefaultError, NetworkError, ResponseSchemaMismatchError, ServerError } from "solapi";
import { errorMessage } from "../error-message";

/**
 * permanent: sending again cannot help (bad input, unregistered sender, template not approved).
 * transient: may work later (5xx, network, 429, timeouts, Solapi balance).
 */
export type FailureKind = "permanent" | "transient";

export interface FailureOptions {
  /** Solapi may have accepted the message although the answer was lost: never re-send blindly. */
  ambiguous?: boolean;
  /** Do not retry sooner than this (balance top-ups, rate limits). */
  minRetrySeconds?: number;
  /** Not the message's fault: an operator must act (credentials, balance). */
  alert?: boolean;
  httpStatus?: number;
  /**
   * Solapi answered the request (an HTTP status, or a 2xx body we could not read): it is done with
   * it, so a look-up that finds nothing proves nothing was taken. A timeout or a dropped connection
   * says nothing of the kind: Solapi may still be registering the request.
   */
  answered?: boolean;
}

/** A Solapi request that failed as a whole: no message in it has a per-message answer. */
export class SolapiRequestError extends Error {
  readonly ambiguous: boolean;
  readonly minRetrySeconds: number;
  readonly alert: boolean;
  readonly httpStatus?: number;
  readonly answered: boolean;

  constructor(
    readonly kind: FailureKind,
    readonly code: string,
    message: string,
    options: FailureOptions = {},
  ) {
    super(message);
    this.name = "SolapiRequestError";
    this.ambiguous = options.ambiguous ?? false;
    this.minRetrySeconds = options.minRetrySeconds ?? 0;
    this.alert = options.alert ?? false;
    this.httpStatus = options.httpStatus;
    this.answered = options.answered ?? options.httpStatus !== undefined;
  }
}

/**
 * Phases our transport reports in its error message: of a failed `fetch` the SDK keeps only the message.
 * `late`: the send window closed before the request could leave (pipeline/send-window.ts), so it
 * was never sent.
 */
export type TransportPhase = "unreachable" | "late" | "timeout" | "dropped";
export const TRANSPORT_ERROR_PREFIX = "solapi transport";
const TRANSPORT_MESSAGE = new RegExp(`^${TRANSPORT_ERROR_PREFIX} (unreachable|late|timeout|dropped): (.*)$`);

const BALANCE_RETRY_SECONDS = 300;
const RATE_LIMIT_RETRY_SECONDS = 30;
const MAX_REASON_LENGTH = 300;

function clip(text: string): string {
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH)}…` : text;
}

function classifyClientError(error: ClientError): SolapiRequestError {
  const status = error.httpStatus;
  const reason = clip(`Solapi ${status} ${error.errorCode}: ${error.errorMessage}`);
  const common = { httpStatus: status };
  if (status === 401 || status === 403) {
    // Credentials, clock skew or a reused signature: the worker's problem, not the message's.
    return new SolapiRequestError("transient", error.errorCode, reason, { ...common, alert: true, minRetrySeconds: 60 });
  }
  if (status === 402) {
    return new SolapiRequestError("transient", error.errorCode, reason, {
      ...common,
      alert: true,
      minRetrySeconds: BALANCE_RETRY_SECONDS,
    });
  }
  if (status === 429) {
    return new SolapiRequestError("transient", error.errorCode, reason, { ...common, minRetrySeconds: RATE_LIMIT_RETRY_SECONDS });
  }
  if (status === 408) return new SolapiRequestError("transient", error.errorCode, reason, common);
  return new SolapiRequestError("permanent", error.errorCode, reason, common);
}

const NOT_SENT_PHASES: readonly TransportPhase[] = ["unreachable", "late"];

function classifyTransportMessage(cause: string): SolapiRequestError {
  const match = TRANSPORT_MESSAGE.exec(cause);
  const phase = (match?.[1] ?? "dropped") as TransportPhase;
  const notSent = NOT_SENT_PHASES.includes(phase);
  const reason = clip(`Solapi request ${notSent ? "was not sent" : "got no answer"}: ${cause}`);
  // An unreachable server never saw the request, nor one that never left; any other lost answer may hide an accepted send.
  return new SolapiRequestError("transient", `transport_${phase}`, reason, { ambiguous: !notSent });
}

/** Maps whatever the SDK threw for a whole request to a typed, classified failure. */
export function classifySolapiError(error: unknown): SolapiRequestError {
  if (error instanceof SolapiRequestError) return error;
  if (error instanceof BadRequestError) {
    // Raised before any HTTP request; its message is the whole schema tree (tens of KB): use the list.
    const details = error.validationErrors?.join("; ") || "request rejected by the SDK";
    return new SolapiRequestError("permanent", "BadRequest", clip(`invalid Solapi request: ${details}`));
  }
  if (error instanceof ClientError) return classifyClientError(error);
  if (error instanceof ServerError) {
    return new SolapiRequestError(
      "transient",
      error.errorCode,
      clip(`Solapi ${error.httpStatus} ${error.errorCode}: ${error.errorMessage}`),
      {
        ambiguous: true,
        httpStatus: error.httpStatus,
      },
    );
  }
  if (error instanceof ResponseSchemaMismatchError) {
    // A 2xx the SDK could not read (only look-ups are read this way): its body may hold phone numbers, its paths do not.
    const details = error.validationErrors?.join("; ") || "unexpected shape";
    return new SolapiRequestError("transient", "ResponseSchemaMismatch", clip(`unreadable Solapi answer: ${details}`), { ambiguous: true });
  }
  if (error instanceof NetworkError) return classifyTransportMessage(String(error.cause));
  if (error instanceof DefaultError) {
    // With our transport, only HTTP 503 reaches the SDK's own retry, and 503 means nothing was taken.
    const notTaken = error.errorCode === "RequestFailedAfterRetryError";
    return new SolapiRequestError("transient", error.errorCode, clip(`Solapi ${error.errorCode}: ${error.errorMessage}`), {
      ambiguous: !notTaken,
      httpStatus: notTaken ? 503 : undefined,
    });
  }
  const message = errorMessage(error);
  // A 2xx whose body the SDK could not read (TypeError) or anything unforeseen: the send may have happened.
  return new SolapiRequestError("transient", "unexpected", clip(`unexpected Solapi failure: ${message}`), {
    ambiguous: true,
    answered: true,
  });
}

export interface StatusClassification {
  kind: FailureKind;
  minRetrySeconds: number;
  alert: boolean;
  /** Our Solapi account's balance ran short: no other channel can help either (docs/contract.md §2). */
  insufficientBalance: boolean;
}

const PERMANENT_STATUS = new Set([
  "1010",
  "1011",
  "1013",
  "1014",
  "1020",
  "1025",
  "1026",
  "1028",
  "1029",
  "1031",
  "1032",
  "1060",
  "1061",
  "1062",
  "1064",
]);
const BALANCE_STATUS = new Set(["1030", "2230"]);
const KAKAO_STATUS_FIRST = 1033;
const KAKAO_STATUS_LAST = 1053;

/** A per-message registration status from `failedMessageList` (a refusal of that message alone, not of the request). */
export function classifyMessageStatus(statusCode: string): StatusClassification {
  const code = Number(statusCode);
  // 1033–1053: Kakao channel, template or button refused (template not approved, content mismatch).
  if ((code >= KAKAO_STATUS_FIRST && code <= KAKAO_STATUS_LAST) || PERMANENT_STATUS.has(statusCode)) {
    return { kind: "permanent", minRetrySeconds: 0, alert: statusCode === "1062", insufficientBalance: false };
  }
  if (BALANCE_STATUS.has(statusCode)) {
    return { kind: "transient", minRetrySeconds: BALANCE_RETRY_SECONDS, alert: true, insufficientBalance: true };
  }
  // 1024/2024 are Solapi-side errors; unknown codes are retried and reach a person through the DLQ.
  return { kind: "transient", minRetrySeconds: 0, alert: false, insufficientBalance: false };
}

import { performance } from "node:perf_hooks";
import { TRANSPORT_ERROR_PREFIX, type TransportPhase } from "./errors";

/**
 * The SDK has no base URL, timeout or transport option (its base URL is a private field of each
 * hidden service) and looks the global `fetch` up on every request. This module is that seam: a `fetch` wrapper that routes requests for
 * https://api.solapi.com by the API key in their Authorization header, so each gateway gets its own
 * origin and deadline, and a mock gateway answers in-process. Requests for other origins, and for
 * keys no gateway registered, pass through untouched.
 *
 * It also stops the SDK from re-sending: the SDK retries, with no delay, any fetch error whose
 * message mentions "aborted", "refused", "reset" or "econn" — after a lost answer that re-POSTs a
 * send Solapi may have accepted. Every error thrown here avoids those words and names its phase
 * instead, which errors.ts reads back.
 */
export const SOLAPI_ORIGIN = "https://api.solapi.com";

export interface SolapiHttpRequest {
  method: string;
  /** Path and query, e.g. `/messages/v4/send-many/detail`. */
  path: string;
  body: string | undefined;
}

export type SolapiHandler = (request: SolapiHttpRequest) => Promise<Response>;

export interface SolapiRoute {
  baseUrl: string;
  timeoutMs: number;
  /**
   * The latest moment (performance.now()) the request with this body may leave
   * (pipeline/send-window.ts); undefined when no send window holds it.
   */
  startBy?: (body: string) => number | undefined;
  /** Answers in-process instead of calling `baseUrl` (mock mode). */
  handler?: SolapiHandler;
}

const routes = new Map<string, SolapiRoute>();
/** Whether the global wrapper is in place: it is installed once, over the `fetch` it found. */
let installed = false;

class SolapiTransportError extends Error {
  constructor(phase: TransportPhase, detail: string) {
    super(`${TRANSPORT_ERROR_PREFIX} ${phase}: ${detail}`);
    this.name = "SolapiTransportError";
  }
}

const CONNECT_FAILURES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

function errorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === "string" ? cause.code : "";
}

function transportFailure(error: unknown, timedOut: boolean, timeoutMs: number): SolapiTransportError {
  if (timedOut) return new SolapiTransportError("timeout", `no complete answer within ${timeoutMs} ms`);
  const code = errorCode(error);
  if (CONNECT_FAILURES.has(code)) return new SolapiTransportError("unreachable", "could not open a connection");
  return new SolapiTransportError("dropped", "the connection closed before a complete answer");
}

/** One attempt with one deadline covering connection, headers and body. */
async function fetchWithDeadline(network: typeof fetch, url: string, init: RequestInit | undefined, timeoutMs: number): Promise<Response> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  try {
    const response = await network(url, { ...init, signal: deadline.signal });
    // Read the body here, under the same deadline, so a stalled body cannot hang the SDK.
    const body = await response.arrayBuffer();
    const hasBody = response.status !== 204 && response.status !== 304;
    return new Response(hasBody ? body : null, { status: response.status, statusText: response.statusText, headers: response.headers });
  } catch (error) {
    throw transportFailure(error, deadline.signal.aborted, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

function requestUrl(input: string | URL | Request): string {
  if (typeof input === "string") return input;
  if (input instanceof URL) return input.href;
  return input.url;
}

function authorization(init: RequestInit | undefined): string {
  const headers = init?.headers;
  if (!headers) return "";
  if (headers instanceof Headers) return headers.get("authorization") ?? "";
  if (Array.isArray(headers)) return headers.find(([name]) => name?.toLowerCase() === "authorization")?.[1] ?? "";
  const record = headers as Record<string, string>;
  return record.Authorization ?? record.authorization ?? "";
}

function routeFor(init: RequestInit | undefined): SolapiRoute | undefined {
  const apiKey = /apiKey=([^,\s]+)/.exec(authorization(init))?.[1];
  return apiKey ? routes.get(apiKey) : undefined;
}

/** The wrapper: requests for routed keys go to their route, everything else to `network` untouched. */
const routingFetchOver = (network: typeof fetch) =>
  async function routingFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const url = requestUrl(input);
    const route = url.startsWith(SOLAPI_ORIGIN) ? routeFor(init) : undefined;
    if (!route) return network(input, init);
    const path = url.slice(SOLAPI_ORIGIN.length);
    if (route.handler) {
      const body = typeof init?.body === "string" ? init.body : undefined;
      return route.handler({ method: init?.method ?? "GET", path, body });
    }
    // Checked here, right before the request is handed to the network, after the SDK's own
    // asynchronous preparation: a pause anywhere before this point is caught.
    const startBy = typeof init?.body === "string" ? route.startBy?.(init.body) : undefined;
    if (startBy !== undefined && performance.now() > startBy) {
      throw new SolapiTransportError(
        "late",
        `the send window closed ${Math.round(performance.now() - startBy)} ms before the request could leave (the process was paused or starved)`,
      );
    }
    return fetchWithDeadline(network, `${route.baseUrl}${path}`, init, route.timeoutMs);
  };

/**
 * Routes the SDK's requests made with `apiKey` to `route`. Returns the function that removes the
 * route. Installs the global wrapper once, keeping the `fetch` it found.
 */
export function routeSolapiRequests(apiKey: string, route: SolapiRoute): () => void {
  if (!installed) {
    globalThis.fetch = routingFetchOver(globalThis.fetch) as typeof fetch;
    installed = true;
  }
  routes.set(apiKey, route);
  return () => {
    if (routes.get(apiKey) === route) routes.delete(apiKey);
  };
}

/** Small fakes for the consumer's seams: messages as SQS hands them over, and a log to read back. */
import type { ReceivedMessage } from "../../../worker/src/sqs/queue";
import { capturingLogger } from "../../support/config";

let sequence = 0;

export function message(body: unknown = {}, fields: Partial<ReceivedMessage> = {}): ReceivedMessage {
  sequence += 1;
  return {
    messageId: `m-${sequence}`,
    receiptHandle: `r-${sequence}`,
    body: typeof body === "string" ? body : JSON.stringify(body),
    receiveCount: 1,
    sentAt: new Date(0),
    attributes: {},
    receivedAt: 1_000_000,
    ...fields,
  };
}

export const jobBody = (key: string, extra: Record<string, unknown> = {}) => ({
  tenant_id: 1,
  to: "010-1234-5678",
  text: "안내",
  business_idempotency_key: key,
  ...extra,
});

/** A logger and its lines, read once the stream has passed them on. */
export function readableLog() {
  const { log, lines } = capturingLogger();
  return {
    log,
    async lines(): Promise<Record<string, unknown>[]> {
      await new Promise((resolve) => setImmediate(resolve));
      return lines();
    },
  };
}

/** A promise and its resolver, for a fake call the test answers when it chooses. */
export function deferred<T>() {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export const tick = () => new Promise((resolve) => setImmediate(resolve));

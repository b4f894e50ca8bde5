/**
 * Which send window (pipeline/send-window.ts) a Solapi request belongs to, for the transport's check
 * right before the request leaves. The SDK gives no way to pass anything along with a request, so the
 * request is recognised by its body: the job (tenant and key) its first message carries in
 * customFields. An AsyncLocalStorage would carry the deadline without parsing anything, but on Node
 * 20 and 22 it turns on promise hooks for the whole process: measured with `npm run bench`, +0.08 ms
 * of CPU a message, against a few microseconds a request for this parse.
 */
import { JOB_KEY_FIELD, TENANT_FIELD } from "./messages";

type CustomFields = Record<string, string> | null | undefined;

function windowKey(customFields: CustomFields): string | undefined {
  const jobKey = customFields?.[JOB_KEY_FIELD];
  return jobKey === undefined ? undefined : `${customFields?.[TENANT_FIELD] ?? ""}:${jobKey}`;
}

export class SendWindows {
  /** performance.now() deadlines by job: a job is in at most one send at a time in this process. */
  private readonly startBy = new Map<string, number>();

  /** Every request that carries one of these messages must leave by `startBy`; the returned function closes the window. */
  open(messages: readonly { message: { customFields?: CustomFields } }[], startBy: number | undefined): () => void {
    if (startBy === undefined) return () => undefined;
    const keys = messages.flatMap((item) => windowKey(item.message.customFields) ?? []);
    for (const key of keys) this.startBy.set(key, startBy);
    return () => {
      for (const key of keys) this.startBy.delete(key);
    };
  }

  /** The deadline of the request with this body; undefined when it is in no window (or not a send). */
  startByFor(body: string): number | undefined {
    if (this.startBy.size === 0) return undefined;
    try {
      const first = (JSON.parse(body) as { messages?: { customFields?: CustomFields }[] }).messages?.[0];
      const key = windowKey(first?.customFields);
      return key === undefined ? undefined : this.startBy.get(key);
    } catch {
      return undefined;
    }
  }
}

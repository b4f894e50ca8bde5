import { expect } from "chai";
import { Acknowledger } from "../../../worker/src/consumer/acks";
import type { BatchFailure, BatchOutcome, DeadLetterEntry } from "../../../worker/src/sqs/queue";
import { message, readableLog } from "./fakes";

/** A queue that records every batch call; `fail` names the calls whose entries SQS refuses. */
function fakeQueue(fail: Partial<Record<"delete" | "visibility" | "deadLetter", BatchFailure>> = {}) {
  const calls: [string, unknown[]][] = [];
  const answer = (failure: BatchFailure | undefined, ids: string[]): BatchOutcome => new Map(failure ? ids.map((id) => [id, failure]) : []);
  return {
    calls,
    queue: {
      async deleteBatch(entries: readonly { id: string; receiptHandle: string }[]) {
        calls.push(["delete", entries.map((entry) => entry.receiptHandle)]);
        return answer(
          fail.delete,
          entries.map((entry) => entry.id),
        );
      },
      async changeVisibilityBatch(entries: readonly { id: string; receiptHandle: string; seconds: number }[]) {
        calls.push(["visibility", entries.map((entry) => [entry.receiptHandle, entry.seconds])]);
        return answer(
          fail.visibility,
          entries.map((entry) => entry.id),
        );
      },
      async deadLetterBatch(entries: readonly DeadLetterEntry[]) {
        calls.push(["dead-letter", entries.map(({ body, attributes }) => ({ body, attributes }))]);
        return answer(
          fail.deadLetter,
          entries.map((entry) => entry.id),
        );
      },
    },
  };
}

const REFUSED: BatchFailure = { code: "InvalidParameterValue", message: "refused", senderFault: true };

describe("Acknowledger (what SQS is told of each job)", () => {
  it("deletes a concluded job's message", async () => {
    const { calls, queue } = fakeQueue();
    const received = message();
    const result = await new Acknowledger(queue, readableLog().log).apply(received, { action: "delete" }, { key: "k" });
    expect(result).to.deep.equal({ ok: true });
    expect(calls).to.deep.equal([["delete", [received.receiptHandle]]]);
  });

  it("backs a retried job off by changing its visibility, and releases a job by making it visible at once", async () => {
    const { calls, queue } = fakeQueue();
    const acks = new Acknowledger(queue, readableLog().log);
    const later = message();
    const released = message();
    await Promise.all([
      acks.apply(later, { action: "retry-later", delaySeconds: 40 }, { key: "a" }),
      acks.apply(released, { action: "release" }, { key: "b" }),
    ]);
    expect(calls, "one batch call for both").to.deep.equal([
      [
        "visibility",
        [
          [later.receiptHandle, 40],
          [released.receiptHandle, 0],
        ],
      ],
    ]);
  });

  it("dead-letters a job as a DLQ copy with its reason, job_key and tenant_id, then deletes the original", async () => {
    const { calls, queue } = fakeQueue();
    const received = message({ tenant_id: 4, text: "x" });
    const result = await new Acknowledger(queue, readableLog().log).apply(
      received,
      { action: "dead-letter", reason: "gave up after 3 receives" },
      { key: "order-9", tenantId: 4 },
    );
    expect(result).to.deep.equal({ ok: true });
    expect(calls).to.deep.equal([
      [
        "dead-letter",
        [
          {
            body: received.body,
            attributes: {
              error: { DataType: "String", StringValue: "gave up after 3 receives" },
              job_key: { DataType: "String", StringValue: "order-9" },
              tenant_id: { DataType: "Number", StringValue: "4" },
            },
          },
        ],
      ],
      ["delete", [received.receiptHandle]],
    ]);
  });

  it("leaves a message on the queue when its DLQ copy is refused, and says so", async () => {
    const { calls, queue } = fakeQueue({ deadLetter: REFUSED });
    const { log, lines } = readableLog();
    const received = message("not json");
    const result = await new Acknowledger(queue, log).apply(
      received,
      { action: "dead-letter", reason: "invalid job" },
      { key: received.messageId },
    );
    expect(result).to.deep.equal({ ok: false, failure: REFUSED });
    expect(
      calls.map(([call]) => call),
      "no delete",
    ).to.deep.equal(["dead-letter"]);
    expect((await lines()).map((line) => [line.level, line.message, line.sqs_message_id, line.error])).to.deep.equal([
      ["error", "could not copy the message to the DLQ; leaving it for redrive", received.messageId, "refused"],
    ]);
  });

  it("answers with SQS's refusal of a delete", async () => {
    const { queue } = fakeQueue({ delete: REFUSED });
    const result = await new Acknowledger(queue, readableLog().log).apply(message(), { action: "delete" }, { key: "k" });
    expect(result).to.deep.equal({ ok: false, failure: REFUSED });
  });

  it("drain waits for every acknowledgement under way", async () => {
    const { calls, queue } = fakeQueue();
    const acks = new Acknowledger(queue, readableLog().log);
    const received = message();
    void acks.apply(received, { action: "dead-letter", reason: "poison" }, { key: "k" });
    await acks.drain();
    expect(calls.map(([call]) => call)).to.deep.equal(["dead-letter", "delete"]);
  });
});

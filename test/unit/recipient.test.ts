import { createHash, createHmac } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import { maskPhone } from "../../worker/src/log";
import { legacyRecipientHash, recipientHasher, recoverLegacyNumber } from "../../worker/src/store/recipient";
import { RehashPlanner } from "../../worker/src/store/rehash";

const KEY = "recipient-key-0123456789abcdef";
const mobileNumber = fc
  .tuple(fc.constantFrom("010", "011", "016", "017", "018", "019"), fc.stringMatching(/^\d{3,4}$/), fc.stringMatching(/^\d{4}$/))
  .map((parts) => parts.join(""));

describe("recipient digests", () => {
  it("are HMAC-SHA256 under the key: another key, or none, gives another digest", () => {
    const hash = recipientHasher(KEY);
    expect(hash("01012345678")).to.equal(createHmac("sha256", KEY).update("01012345678").digest("hex"));
    expect(hash("01012345678")).to.match(/^[0-9a-f]{64}$/);
    expect(hash("01012345678")).not.to.equal(recipientHasher(`${KEY}-other`)("01012345678"));
    expect(hash("01012345678")).not.to.equal(createHash("sha256").update("01012345678").digest("hex"));
  });

  it("the unkeyed digest gives its number back from the masked form (the weakness), the keyed one does not", () => {
    fc.assert(
      fc.property(mobileNumber, (number) => {
        expect(recoverLegacyNumber(maskPhone(number), legacyRecipientHash(number))).to.equal(number);
        expect(recoverLegacyNumber(maskPhone(number), recipientHasher(KEY)(number))).to.equal(undefined);
      }),
      { numRuns: 20 },
    );
    expect(recoverLegacyNumber("02****5678", legacyRecipientHash("0212345678"))).to.equal(undefined);
  });

  it("db:rehash plans a keyed digest for every unkeyed row, searching each recipient once", () => {
    const hash = recipientHasher(KEY);
    const planner = new RehashPlanner(hash);
    const rows = [
      { id: 1, recipient: "010****5678", recipientHash: legacyRecipientHash("01012345678") },
      { id: 2, recipient: "010****5678", recipientHash: legacyRecipientHash("01012345678") },
      { id: 3, recipient: "010****5678", recipientHash: hash("01012345678") },
      { id: 4, recipient: "011***4567", recipientHash: legacyRecipientHash("0111234567") },
      { id: 5, recipient: "010****0000", recipientHash: hash("01099990000") },
    ];
    expect(planner.plan(rows)).to.deep.equal([
      { id: 1, hash: hash("01012345678") },
      { id: 2, hash: hash("01012345678") },
      { id: 4, hash: hash("0111234567") },
    ]);
    // 1 and 4 were searched for; 2 and 3 came from 1's search; 5 (keyed, never seen) needed one of its own.
    expect(planner.searches).to.equal(3);
    expect(planner.plan([{ id: 6, recipient: "010****0000", recipientHash: hash("01099990000") }])).to.deep.equal([]);
    expect(planner.searches).to.equal(3);
  });
});

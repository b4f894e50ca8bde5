import { expect } from "chai";
import fc from "fast-check";
import { normalizePhone, parseJob } from "../../worker/src/job";
import { maskPhone, maskRecipient } from "../../worker/src/log";

/** Everything JavaScript's `\s` matches, plus the other characters normalizePhone strips. */
const SPACES = [
  " ",
  "\t",
  "\n",
  "\r",
  "\v",
  "\f",
  "\u00a0",
  "\u1680",
  "\u2000",
  "\u2007",
  "\u200a",
  "\u2028",
  "\u2029",
  "\u202f",
  "\u205f",
  "\u3000",
  "\ufeff",
];
const SEPARATORS = [...SPACES, "-", "(", ")", "."];

/** A Korean mobile number as normalizePhone returns it: 01X, then 3 or 4 digits, then 4. */
const mobileNumber = fc
  .tuple(fc.constantFrom("010", "011", "016", "017", "018", "019"), fc.stringMatching(/^\d{3,4}$/), fc.stringMatching(/^\d{4}$/))
  .map((parts) => parts.join(""));

/** Mostly nothing, sometimes a run of separators. */
const gap = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...SEPARATORS), minLength: 1, maxLength: 3 }) },
);

/** The characters of a number as someone might type it: national `010…`, or `+82 10…`, `+82 010…`, `+82 (0)10…`. */
const typedCharacters = fc.tuple(mobileNumber, fc.constantFrom("national", "+82", "+82 0", "+82 (0)")).map(([number, style]) => {
  const body = number.slice(1).split("");
  const characters =
    style === "national"
      ? number.split("")
      : ["+", "8", "2", ...(style === "+82 0" ? ["0"] : style === "+82 (0)" ? ["(", "0", ")"] : []), ...body];
  return { number, characters };
});

/** A typed number with separators anywhere: between any two characters, before and after. */
const typedNumber = typedCharacters.chain(({ number, characters }) =>
  fc.array(gap, { minLength: characters.length + 1, maxLength: characters.length + 1 }).map((gaps) => ({
    number,
    raw: gaps.map((separators, index) => separators + (characters[index] ?? "")).join(""),
  })),
);

const masked = (number: string) => `${number.slice(0, 3)}${"*".repeat(number.length - 7)}${number.slice(-4)}`;
const withoutSeparators = (text: string) => text.replace(/[\s\-().]/g, "");

describe("maskPhone: every form the job parser accepts", () => {
  it("the generated forms are the ones the parser accepts, as that number", () => {
    fc.assert(
      fc.property(typedNumber, ({ number, raw }) => {
        expect(normalizePhone(raw)).to.equal(number);
        expect(parseJob({ tenant_id: 1, to: raw, text: "안내" }).to).to.equal(number);
      }),
    );
  });

  it("turns any accepted form into 010****5678 inside any text, leaving the text around it alone", () => {
    fc.assert(
      fc.property(
        typedNumber,
        fc.constantFrom("", "to ", "수신: ", "번호=", "[", '"to":"'),
        fc.constantFrom("", " 님", ".", ", 2회", '"}', "]"),
        ({ number, raw }, before, after) => {
          const first = raw.search(/[+\d]/);
          const last = raw.search(/\d[^\d]*$/);
          const expected = `${before}${raw.slice(0, first)}${masked(number)}${raw.slice(last + 1)}${after}`;
          expect(maskPhone(`${before}${raw}${after}`)).to.equal(expected);
        },
      ),
    );
  });

  it("never lets a number the parser accepts through unmasked, whatever else the text holds", () => {
    const junk = fc.constantFrom(...SEPARATORS, "+", "/", "_", "x", ":", ",");
    const candidate = fc
      .tuple(mobileNumber, fc.array(fc.tuple(fc.nat(12), junk), { maxLength: 4 }), fc.boolean())
      .map(([number, inserts, international]) => {
        const characters = (international ? `+82${number.slice(1)}` : number).split("");
        for (const [at, character] of inserts) characters.splice(at, 0, character);
        return characters.join("");
      });
    fc.assert(
      fc.property(candidate, (raw) => {
        const number = normalizePhone(raw);
        fc.pre(/^01[016789]\d{7,8}$/.test(number));
        expect(withoutSeparators(maskPhone(raw))).not.to.contain(number.slice(3));
      }),
      { numRuns: 500 },
    );
  });

  it("leaves other numbers alone: landlines, ids, dates, longer runs of digits", () => {
    for (const text of [
      "sender 0212345678",
      "group G4V20261126031703",
      "id 9901012345678",
      "010-1234-56789",
      "2026-11-26 01:17:03.123",
      "amount 10.00 of 100.00",
      "010****5678",
    ]) {
      expect(maskPhone(text), text).to.equal(text);
    }
  });
});

describe("maskRecipient: a job's recipient, whatever it is", () => {
  it("masks a mobile number as maskPhone does, and a landline or other number the parser let through too", () => {
    expect(maskRecipient("01012345678")).to.equal("010****5678");
    expect(maskRecipient("0212345678")).to.equal("021***5678");
    expect(maskRecipient("15881234")).to.equal("******34");
    expect(maskRecipient("114")).to.equal("**4");
  });
});

/**
 * Solapi's message status codes, as its status code page lists them: what `npm run trace` prints
 * beside a code. docs/operations.md carries the same table; a unit test keeps the two alike.
 */

/** Still on its way: the final result is not known yet. */
export const PENDING_CODES: ReadonlySet<string> = new Set(["2000", "3000"]);
export const DELIVERED_CODE = "4000";

export const STATUS_CODE_MEANINGS: Readonly<Record<string, string>> = {
  "2000": "accepted by Solapi, to be handed to the carrier",
  "3000": "with the carrier or Kakao, waiting for its report",
  "4000": "delivered",
  "2011": "format error (Solapi)",
  "2024": "Solapi server error",
  "2060": "recipient number blocked",
  "2061": "recipient opted out (080 opt-out)",
  "2062": "sender number not registered",
  "2063": "Solapi account blocked",
  "2064": "blocked after a KISA report",
  "2230": "Solapi balance too low",
  "2254": "treated as spam by Solapi",
  "3010": "recipient number malformed",
  "3011": "format error (carrier)",
  "3012": "carrier partner server error",
  "3013": "sender number malformed",
  "3014": "unknown message state at the carrier",
  "3024": "carrier server error",
  "3031": "cannot be sent",
  "3032": "not a subscriber",
  "3040": "transmission timed out",
  "3041": "handset busy",
  "3042": "no coverage",
  "3043": "handset switched off",
  "3044": "handset inbox full",
  "3045": "service temporarily suspended",
  "3046": "other handset problem",
  "3047": "call rejected",
  "3048": "unknown carrier code",
  "3050": "handset cannot receive SMS",
  "3051": "recipient cannot be reached",
  "3052": "deleted by the carrier's operator",
  "3053": "carrier message queue full",
  "3054": "spam",
  "3055": "spam: number registered at nospam.or.kr",
  "3056": "failed on the radio network",
  "3057": "failed between the radio network and the handset",
  "3058": "no route",
  "3059": "spoofed sender number",
  "3060": "adult verification failed",
  "3101": "Kakao sender profile key invalid",
  "3102": "recipient is not a friend of the channel",
  "3103": "message does not match the template",
  "3104": "not a KakaoTalk user",
  "3105": "template not registered",
  "3106": "Kakao channel invalid",
  "3107": "KakaoTalk unused for 72 h, or AlimTalk blocked",
  "3108": "outside AlimTalk's sending hours (08:00–20:00)",
};

const RANGE_MEANINGS: readonly [prefix: string, meaning: string][] = [
  ["1", "refused at registration"],
  ["2", "Solapi-side failure"],
  ["3", "carrier or Kakao failure"],
];

/** A code's meaning in a few words; a code missing from the table is described by its range. */
export function describeStatusCode(code: string): string {
  const known = STATUS_CODE_MEANINGS[code];
  if (known) return known;
  const range = RANGE_MEANINGS.find(([prefix]) => /^\d{4}$/.test(code) && code.startsWith(prefix));
  return range ? `${range[1]} (code not in Solapi's list)` : "unknown code";
}

/**
 * How the send log finds a recipient's jobs without keeping the number: a keyed digest
 * (HMAC-SHA256 with MESSAGING_RECIPIENT_HASH_SECRET, which is not in the database) beside the masked
 * form `010****5678`.
 *
 * Rows written before the key existed hold an unkeyed SHA-256 of the number. Next to the masked form
 * that is no protection: only the 10^3 or 10^4 middle digits are unknown, so every such number can be
 * read back in milliseconds. `recoverLegacyNumber` does exactly that, so that `npm run db:rehash` can
 * replace each old digest with the keyed one.
 */
import { createHmac, hash } from "node:crypto";

export type RecipientHasher = (phone: string) => string;

/** The digest stored in message_log.recipient_hash: HMAC-SHA256 of the normalised number, hex. */
export function recipientHasher(secret: string): RecipientHasher {
  return (phone) => createHmac("sha256", secret).update(phone).digest("hex");
}

/** The unkeyed digest rows written before migration 3 hold; `trace` still looks for it until they are rehashed. */
export function legacyRecipientHash(phone: string): string {
  // The one-shot form: 2–3 times faster than createHash, and a search runs it up to 10^4 times.
  return hash("sha256", phone);
}

const MASKED_MOBILE = /^(01[016789])(\*{3,4})(\d{4})$/;

/**
 * The number behind an unkeyed digest, tried against every number the masked form allows;
 * undefined when none matches (a keyed digest, or a masked form that is not a mobile number).
 */
export function recoverLegacyNumber(masked: string, digest: string): string | undefined {
  const parts = MASKED_MOBILE.exec(masked);
  if (!parts) return undefined;
  const [, prefix, stars, last] = parts as unknown as [string, string, string, string];
  const wanted = digest.toLowerCase();
  const candidates = 10 ** stars.length;
  for (let middle = 0; middle < candidates; middle += 1) {
    const number = `${prefix}${String(middle).padStart(stars.length, "0")}${last}`;
    if (legacyRecipientHash(number) === wanted) return number;
  }
  return undefined;
}

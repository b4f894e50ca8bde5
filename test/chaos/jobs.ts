/**
 * The jobs of a chaos run: a mix of modes, tenants and reservations whose right ending is known
 * from the job itself, so that reconciliation can say which endings are wrong.
 */
import type { Db } from "../../worker/src/store/pool";
import type { Prices } from "../../worker/src/store/send-log-rules";
import { seedReservation, seedTenant } from "../support/database";
import { UNAPPROVED_TEMPLATE_PREFIX } from "../support/fake-solapi";

/** A small seeded generator (mulberry32): a failing run can be repeated with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const PRICES: Prices = { sms: "10.00", lms: "30.00", alimtalk: "8.00" };

export interface TenantPlan {
  id: number;
  credit: string;
  enabled: boolean;
  prices: Prices;
  /** Its own sender numbers (tenants.sender first, then its allow-list rows); none: the environment's. */
  senders: string[];
  /** Its own Kakao channels, likewise. */
  pfIds: string[];
}

export interface ChaosJob {
  key: string;
  tenantId: number;
  body: Record<string, unknown>;
  /** Its reservation is cancelled: it must end SKIPPED_CANCELLED, never sent. */
  cancelled: boolean;
  /** Its tenant has messaging disabled: SKIPPED_BALANCE, never sent. */
  disabled: boolean;
  /** AlimTalk-only with an unapproved template: FAILED, never sent. */
  refused: boolean;
  /** The one status it may end in, where the plan leaves no other (the multi-tenant scenario). */
  expect?: "SENT" | "FAILED";
}

export interface ChaosPlan {
  tenants: TenantPlan[];
  jobs: ChaosJob[];
}

/**
 * Tenants: two with ample credits, one that can pay for only some of its jobs (SKIPPED_BALANCE
 * under contention), one with messaging disabled.
 */
export async function seedChaosTenants(db: Db, base: number, jobCount: number): Promise<TenantPlan[]> {
  const tenant = (id: number, credit: string, enabled: boolean): TenantPlan => ({
    id,
    credit,
    enabled,
    prices: PRICES,
    senders: [],
    pfIds: [],
  });
  const tenants: TenantPlan[] = [
    tenant(base + 1, "1000000.00", true),
    tenant(base + 2, "1000000.00", true),
    tenant(base + 3, `${Math.max(10, Math.floor(jobCount / 8)) * 10}.00`, true),
    tenant(base + 4, "1000000.00", false),
  ];
  for (const plan of tenants) await seedTenantPlan(db, plan);
  return tenants;
}

export async function seedTenantPlan(db: Db, tenant: TenantPlan): Promise<void> {
  await seedTenant(db, {
    id: tenant.id,
    credit: tenant.credit,
    ...tenant.prices,
    sender: tenant.senders[0] ?? null,
    pfId: tenant.pfIds[0] ?? null,
    enabled: tenant.enabled,
  });
}

export async function planJobs(db: Db, run: string, count: number, tenants: TenantPlan[], random: () => number): Promise<ChaosJob[]> {
  const jobs: ChaosJob[] = [];
  for (let index = 0; index < count; index += 1) {
    const tenant = tenants[Math.floor(random() * tenants.length)]!;
    const key = `chaos-${run}-${index}`;
    const roll = random();
    const mode = roll < 0.6 ? "sms" : roll < 0.8 ? "alimtalk" : "both";
    const unapproved = mode !== "sms" && random() < 0.25;
    const long = random() < 0.15;
    const body: Record<string, unknown> = {
      tenant_id: tenant.id,
      to: `010${String(20_000_000 + index).slice(-8)}`,
      text: long ? `[chaos ${index}] ${"긴 안내 문장입니다. ".repeat(10)}` : `[chaos ${index}] 출석 알림`,
      message_mode: mode,
      business_idempotency_key: key,
      alimtalk_replacements: [{ key: "#{name}", value: `학생${index}` }],
      ...(unapproved ? { template_id: `${UNAPPROVED_TEMPLATE_PREFIX}-${index}` } : {}),
    };
    let cancelled = false;
    if (random() < 0.15) {
      const reservationId = Number(`${tenant.id}${String(index).padStart(5, "0")}`);
      cancelled = random() < 0.4;
      await seedReservation(db, reservationId, tenant.id, cancelled ? "CANCELLED" : "CONFIRMED");
      body.reservation_id = reservationId;
    }
    jobs.push({ key, tenantId: tenant.id, body, cancelled, disabled: !tenant.enabled, refused: mode === "alimtalk" && unapproved });
  }
  return jobs;
}

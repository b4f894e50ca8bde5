/**
 * The multi-tenant scenario's plan. Three academies share job keys — `reminder-7` in two of them,
 * `REMINDER-7` in the third, and `Reminder-7` beside `reminder-7` in one: four jobs, since keys are
 * per tenant and exact — some of them for the same parent. Each academy has its own sender, Kakao
 * channel and prices (the third uses the environment's sender and channel). Some jobs choose another
 * of their own tenant's senders or channels (sent), some borrow another tenant's or one nobody owns
 * (FAILED: nothing sent, nothing charged).
 */
import type { Db } from "../../worker/src/store/pool";
import { SENDER } from "../support/config";
import { type ChaosJob, type ChaosPlan, seedTenantPlan, type TenantPlan } from "./jobs";

/**
 * The allow-lists of migration 5 (a tenant's further senders and channels). Created here only while
 * the schema lacks them; once the migration exists these are no-ops.
 */
const ALLOW_LISTS = [
  "CREATE TABLE IF NOT EXISTS tenant_senders (tenant_id BIGINT NOT NULL, sender VARCHAR(20) NOT NULL, PRIMARY KEY (tenant_id, sender))",
  "CREATE TABLE IF NOT EXISTS tenant_kakao_channels (tenant_id BIGINT NOT NULL, pf_id VARCHAR(100) NOT NULL, PRIMARY KEY (tenant_id, pf_id))",
];

const MODES = ["sms", "alimtalk", "both"] as const;

export async function planMultiTenant(db: Db, run: string, base: number, random: () => number, keys: number): Promise<ChaosPlan> {
  const [first, second, third]: TenantPlan[] = [
    {
      id: base + 1,
      credit: "1000000.00",
      enabled: true,
      prices: { sms: "10.00", lms: "30.00", alimtalk: "8.00" },
      senders: ["0311110001", "0311110002"],
      pfIds: ["KA01PF-ACADEMY1", "KA01PF-ACADEMY1B"],
    },
    {
      id: base + 2,
      credit: "1000000.00",
      enabled: true,
      prices: { sms: "12.00", lms: "33.00", alimtalk: "9.00" },
      senders: ["0322220001"],
      pfIds: ["KA01PF-ACADEMY2"],
    },
    { id: base + 3, credit: "1000000.00", enabled: true, prices: { sms: "15.00", lms: "35.00", alimtalk: "7.00" }, senders: [], pfIds: [] },
  ] as [TenantPlan, TenantPlan, TenantPlan];
  const tenants = [first, second, third];
  for (const statement of ALLOW_LISTS) await db.query(statement);
  for (const tenant of tenants) {
    await seedTenantPlan(db, tenant);
    for (const sender of tenant.senders.slice(1))
      await db.query("INSERT INTO tenant_senders (tenant_id, sender) VALUES (?, ?)", [tenant.id, sender]);
    for (const pfId of tenant.pfIds.slice(1))
      await db.query("INSERT INTO tenant_kakao_channels (tenant_id, pf_id) VALUES (?, ?)", [tenant.id, pfId]);
  }

  const jobs: ChaosJob[] = [];
  let recipients = 0;
  const job = (tenant: TenantPlan, key: string, to: string, extra: Record<string, unknown>, expect: "SENT" | "FAILED"): ChaosJob => {
    const mode = (extra.message_mode as string | undefined) ?? MODES[Math.floor(random() * MODES.length)]!;
    const body = {
      tenant_id: tenant.id,
      to,
      text: random() < 0.15 ? `[${run}] ${"긴 안내 문장입니다. ".repeat(10)}` : `[${run}] ${key} 안내`,
      message_mode: mode,
      business_idempotency_key: key,
      alimtalk_replacements: [{ key: "#{name}", value: key }],
      ...extra,
    };
    return { key, tenantId: tenant.id, body, cancelled: false, disabled: false, refused: false, expect };
  };
  const phone = () => {
    recipients += 1;
    return `010${String(30_000_000 + recipients).slice(-8)}`;
  };

  for (let index = 0; index < keys; index += 1) {
    // A parent with children at the first and third academy gets both academies' reminder.
    const shared = phone();
    jobs.push(job(first, `reminder-${index}`, shared, {}, "SENT"));
    jobs.push(job(second, `REMINDER-${index}`, phone(), {}, "SENT"));
    jobs.push(job(third, `reminder-${index}`, index % 3 === 0 ? shared : phone(), {}, "SENT"));
    if (index % 4 === 0) jobs.push(job(first, `Reminder-${index}`, phone(), {}, "SENT"));
  }

  const routes: [TenantPlan, Record<string, unknown>, "SENT" | "FAILED"][] = [
    [first, { sender: first.senders[1], message_mode: "sms" }, "SENT"], // its own, from the allow-list
    [first, { pf_id: first.pfIds[1], message_mode: "alimtalk" }, "SENT"],
    [second, { sender: second.senders[0], message_mode: "sms" }, "SENT"], // its own, named
    [third, { sender: SENDER, message_mode: "sms" }, "SENT"], // the environment's: everyone's
    [second, { sender: first.senders[0], message_mode: "sms" }, "FAILED"], // another academy's
    [third, { sender: first.senders[1], message_mode: "sms" }, "FAILED"], // on another academy's allow-list
    [third, { pf_id: second.pfIds[0], message_mode: "alimtalk" }, "FAILED"],
    [second, { pf_id: first.pfIds[0], message_mode: "both" }, "FAILED"],
    [first, { sender: "0399999999", message_mode: "sms" }, "FAILED"], // nobody's
  ];
  for (let round = 0; round < Math.max(1, Math.floor(keys / 6)); round += 1) {
    for (const [index, [tenant, extra, expect]] of routes.entries())
      jobs.push(job(tenant, `route-${round}-${index}`, phone(), extra, expect));
  }
  return { tenants, jobs };
}

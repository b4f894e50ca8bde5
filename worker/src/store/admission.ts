/**
 * Admission with the database: for each claimed job, its tenant (exists, messaging enabled), the
 * sender and Kakao channel it names (its tenant's own only), and its reservation (not cancelled).
 * Reads a group's tenants, allow-lists and reservations in a few statements; the decisions are pure.
 */
import { normalizePhone } from "../job";
import { foreignRoute, type OwnRoutes, type SendDefaults } from "../pipeline/decide";
import type { Admission, ReceivedJob } from "../pipeline/ledger-port";
import type { JobOutcome } from "../pipeline/outcome";
import type { Db } from "./pool";
import { findReservations, isCancelled } from "./reservations";
import type { Prices } from "./send-log-rules";
import { findTenantKakaoChannels, findTenantSenders } from "./tenant-routes";
import { findTenants, type Tenant } from "./tenants";

function ownRoutes(tenant: Tenant, defaults: SendDefaults, senders: readonly string[] = [], pfIds: readonly string[] = []): OwnRoutes {
  const numbers = [tenant.sender, defaults.sender, ...senders].flatMap((sender) => (sender ? [normalizePhone(sender)] : []));
  const channels = [tenant.kakaoPfId, defaults.pfId, ...pfIds].flatMap((pfId) => (pfId ? [pfId.trim()] : []));
  return { senders: new Set(numbers), pfIds: new Set(channels) };
}

/** The tenants whose jobs name a sender or channel beyond their row and the defaults: only their allow-lists are read. */
function needAllowLists(items: readonly ReceivedJob[], routes: Map<number, OwnRoutes>): number[] {
  const ids = new Set<number>();
  for (const item of items) {
    const own = routes.get(item.job.tenantId);
    if (own && foreignRoute(item.job, own)) ids.add(item.job.tenantId);
  }
  return [...ids];
}

export interface TenantAdmission {
  admissions: Map<string, Admission>;
  /** What each admitted job's tenant charges, by job id. */
  prices: Map<string, Prices>;
}

export async function admitToTenants(db: Db, items: readonly ReceivedJob[], defaults: SendDefaults): Promise<TenantAdmission> {
  const tenants = await findTenants(db, [...new Set(items.map((item) => item.job.tenantId))]);
  const routes = new Map([...tenants.values()].map((tenant) => [tenant.id, ownRoutes(tenant, defaults)]));
  const listed = needAllowLists(items, routes);
  const [senders, channels] = await Promise.all([findTenantSenders(db, listed), findTenantKakaoChannels(db, listed)]);
  for (const id of listed) {
    const tenant = tenants.get(id);
    if (tenant) routes.set(id, ownRoutes(tenant, defaults, senders.get(id), channels.get(id)));
  }
  const reservationIds = items.flatMap((item) => (item.job.reservationId === undefined ? [] : [item.job.reservationId]));
  const reservations = await findReservations(db, [...new Set(reservationIds)]);

  const admissions = new Map<string, Admission>();
  const prices = new Map<string, Prices>();
  const turnAway = (item: ReceivedJob, outcome: JobOutcome) => admissions.set(item.id, { admitted: false, outcome });
  for (const item of items) {
    const { job } = item;
    const tenant = tenants.get(job.tenantId);
    if (!tenant) {
      turnAway(item, { kind: "failed", reason: `tenant ${job.tenantId} does not exist` });
      continue;
    }
    const foreign = foreignRoute(job, routes.get(tenant.id) ?? ownRoutes(tenant, defaults));
    if (!tenant.messagingEnabled)
      turnAway(item, { kind: "skipped", status: "SKIPPED_BALANCE", reason: `messaging is disabled for tenant ${tenant.id}` });
    else if (foreign) turnAway(item, { kind: "failed", reason: foreign });
    else if (job.reservationId !== undefined && isCancelled(reservations, tenant.id, job.reservationId)) {
      turnAway(item, { kind: "skipped", status: "SKIPPED_CANCELLED", reason: `reservation ${job.reservationId} is cancelled` });
    } else {
      prices.set(item.id, tenant.prices);
      admissions.set(item.id, {
        admitted: true,
        defaults: { sender: tenant.sender ?? defaults.sender, pfId: tenant.kakaoPfId ?? defaults.pfId, templateId: defaults.templateId },
      });
    }
  }
  return { admissions, prices };
}

/**
 * The schema, as ordered migrations: one file each, named by version. Add a file, then list it here.
 */
import { initial } from "./001-initial";
import { tenantKeys } from "./002-tenant-keys";
import { keyedRecipientHash } from "./003-keyed-recipient-hash";
import { deliveryResults } from "./004-delivery-results";
import { tenantRoutes } from "./005-tenant-routes";
import type { Migration } from "./migration";

export type { Migration } from "./migration";

export const MIGRATIONS: readonly Migration[] = [initial, tenantKeys, keyedRecipientHash, deliveryResults, tenantRoutes];

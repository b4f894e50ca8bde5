/**
 * The schema, as ordered migrations: one file each, named by version. Add a file, then list it here.
 */
import { initial } from "./001-initial";
import { deliveryResults } from "./004-delivery-results";
import type { Migration } from "./migration";

export type { Migration } from "./migration";

export const MIGRATIONS: readonly Migration[] = [initial, deliveryResults];

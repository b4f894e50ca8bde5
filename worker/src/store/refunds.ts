/**
 * Refunds of charges a row carries. Each runs in the transaction that locked the row and changes it,
 * so a refund happens once.
 */
import { refundsOf } from "./charge-plan";
import { clearCharges, type LockedClaim, lockClaims } from "./message-log-fence";
import { type Connection, type Db, inTransaction } from "./pool";
import { creditBack } from "./tenants";

/** Gives back, a tenant at a time in lock order, what the locked claims were charged. */
export async function refundLocked(connection: Connection, claims: readonly LockedClaim[]): Promise<void> {
  const credits = refundsOf(claims.map((claim) => ({ tenantId: claim.tenantId, amount: claim.amountCharged })));
  for (const credit of credits) await creditBack(connection, credit.tenantId, credit.amount);
}

/** Refunds one claim still held by `owner` and clears its send mark: its previous attempt sent nothing. */
export async function refundClaim(db: Db, claim: { rowId: number; owner: string }): Promise<void> {
  await inTransaction(db, async (connection) => {
    const locked = (await lockClaims(connection, [claim.rowId], [claim.owner])).get(claim.rowId);
    if (!locked) return;
    await refundLocked(connection, [locked]);
    await clearCharges(connection, [claim.rowId]);
  });
}

// One-off charges put on an account's next monthly invoice, in full. Extra sessions are bought
// through subscriptions.usecases; on-account top-ups (credits bought now, paid with the month's
// invoice) come from the auto-billing and store issues through this function.
import { accountCharges } from '../../db/schema';
import type { Tx } from '../../db/client';
import { newId } from '../lib/ids';
import { billingAccount } from './accounts';
import { calendarDay } from './proration';

export type AccountCharge = typeof accountCharges.$inferSelect;

/**
 * Records an on-account top-up inside the caller's transaction (the one that credits the
 * account): dated today in the seller's zone, billed on that month's invoice by the cut.
 */
export async function chargeTopupOnAccount(
  tx: Tx,
  p: { agencyId: string; subAccountId: string | null; description: string; descriptionKey?: string | null; quantity: number; unitPriceMinor: number; currency: 'TRY' | 'USD' | 'EUR'; now: Date },
): Promise<AccountCharge> {
  if (!Number.isSafeInteger(p.unitPriceMinor) || p.unitPriceMinor < 0 || !Number.isInteger(p.quantity) || p.quantity < 1) {
    throw new RangeError('a top-up charge needs a whole quantity >= 1 and a non-negative unit price in minor units');
  }
  const account = await billingAccount(tx, p.agencyId, p.subAccountId);
  const [row] = await tx
    .insert(accountCharges)
    .values({
      id: newId('chg'), agencyId: account.agencyId, subAccountId: account.subAccountId, buyerId: account.buyerId, sellerAgencyId: account.sellerAgencyId,
      kind: 'topup', description: p.description, descriptionKey: p.descriptionKey ?? null, day: calendarDay(p.now, account.zone), quantity: p.quantity, unitPriceMinor: p.unitPriceMinor,
      amountMinor: p.unitPriceMinor * p.quantity, currency: p.currency, createdAt: p.now,
    })
    .returning();
  return row!;
}

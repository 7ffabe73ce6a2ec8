// What the domains plug into the layers below them, wired once for every process (src/runtime.ts)
// and for the tests (test/support/deps.ts). Payments settle a payment and hand it to the domain
// that sold the thing; the domains register here, so payments never imports them.
import { eq } from 'drizzle-orm';
import { payments } from '../db/schema';
import { settleInvoice } from './billing/collect';
import { creditRefundedPayment } from './billing/credit-notes.usecases';
import { settleOverduePayment } from './billing/overdue-payment';
import { settleAgencyOrder } from './catalog/catalog.usecases';
import type { RefundHandler } from './payments/refunds';
import type { SettlementHandler, SettlementHandlers } from './payments/settlement';
import { settlePurchase } from './purchases/purchases.usecases';
import { poolCredited } from './purchases/waiting-grants';
import { settleWalletTopup } from './wallets/wallets.usecases';

/** Credits bought into an agency's pool apply its clients' paid purchases waiting for them at once. */
const thenGrantWaiting = (settle: SettlementHandler): SettlementHandler => async (deps, input, payment) => {
  const result = await settle(deps, input, payment);
  if (result.outcome === 'confirmed') {
    const [paid] = await deps.db.select({ agencyId: payments.buyerAgencyId, subAccountId: payments.buyerSubAccountId }).from(payments).where(eq(payments.id, input.paymentId));
    if (paid && !paid.subAccountId) await poolCredited(deps, paid.agencyId);
  }
  return result;
};

export const settlementHandlers: SettlementHandlers = {
  package_purchase: settlePurchase,
  invoice: settleInvoice,
  invoice_batch: settleOverduePayment,
  wallet_topup: settleWalletTopup,
  // An agency's orders from the platform; auto_topup too, as before: a reconciled off-session
  // top-up confirmed at the gateway applies its order the same way.
  topup: thenGrantWaiting(settleAgencyOrder),
  chatbot_slots: thenGrantWaiting(settleAgencyOrder),
  auto_topup: thenGrantWaiting(settleAgencyOrder),
};

/** A refunded payment that paid invoices credits them: billing issues the credit notes (docs/credit-notes.md). */
export const refundHandlers: readonly RefundHandler[] = [creditRefundedPayment];

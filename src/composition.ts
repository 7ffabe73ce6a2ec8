// What the domains plug into the layers below them, wired once for every process (src/runtime.ts)
// and for the tests (test/support/deps.ts). Payments settle a payment and hand it to the domain
// that sold the thing; the domains register here, so payments never imports them.
import { settleInvoice } from './billing/collect';
import { settleOverduePayment } from './billing/overdue-payment';
import { settleAgencyOrder } from './catalog/catalog.usecases';
import type { SettlementHandlers } from './payments/settlement';
import { settlePurchase } from './purchases/purchases.usecases';
import { settleWalletTopup } from './wallets/wallets.usecases';

export const settlementHandlers: SettlementHandlers = {
  package_purchase: settlePurchase,
  invoice: settleInvoice,
  invoice_batch: settleOverduePayment,
  wallet_topup: settleWalletTopup,
  // An agency's orders from the platform; auto_topup too, as before: a reconciled off-session
  // top-up confirmed at the gateway applies its order the same way.
  topup: settleAgencyOrder,
  chatbot_slots: settleAgencyOrder,
  auto_topup: settleAgencyOrder,
};

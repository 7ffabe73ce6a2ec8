import { eq } from 'drizzle-orm';
import { payments } from '../../db/schema';
import { applyAgencyOrder, failAgencyOrder } from '../catalog/catalog.usecases';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';
import { settlePurchasePayment } from '../purchases/purchases.usecases';
import { settlePayment } from './payments.usecases';
import { applyWalletTopup, failWalletTopup } from '../wallets/wallets.usecases';
import { invoiceIdOfReference, settleInvoicePayment } from '../billing/collect';

export interface SettleInput {
  paymentId: string;
  approved: boolean;
  reason?: string;
  raw: Record<string, unknown>;
  /** As reported by the gateway: an approved payment that differs from the order is refused. */
  amountMinor?: number;
  currency?: string;
  gatewayReference?: string;
}

/**
 * The one place a gateway callback lands: settles the payment once and applies what it paid for
 * (a sub-account's package purchase, an agency's top-up or chatbot slots).
 */
export async function settleAnyPayment(deps: Deps, input: SettleInput): Promise<{ outcome: string; purpose: string; referenceId: string; grant: 'granted' | 'waiting' | null }> {
  const [payment] = await deps.db.select({ purpose: payments.purpose, referenceId: payments.referenceId }).from(payments).where(eq(payments.id, input.paymentId));
  if (!payment) throw errors.notFound('Payment');
  if (payment.purpose === 'package_purchase') {
    const r = await settlePurchasePayment(deps, input);
    return { outcome: r.outcome, purpose: payment.purpose, referenceId: r.purchaseId, grant: r.grant };
  }
  const now = deps.clock.now();
  if (payment.purpose === 'invoice') {
    const r = await settlePayment(deps, input);
    if (r.outcome === 'confirmed') await settleInvoicePayment(deps, invoiceIdOfReference(payment.referenceId), input.paymentId);
    return { outcome: r.outcome, purpose: payment.purpose, referenceId: payment.referenceId, grant: null };
  }
  if (payment.purpose === 'wallet_topup') {
    const r = await settlePayment(deps, { ...input, onConfirmed: (tx, p) => applyWalletTopup(tx, p.referenceId, now) });
    if (r.outcome === 'failed') await deps.db.transaction((tx) => failWalletTopup(tx, payment.referenceId));
    return { outcome: r.outcome, purpose: payment.purpose, referenceId: payment.referenceId, grant: null };
  }
  const r = await settlePayment(deps, { ...input, onConfirmed: (tx, p) => applyAgencyOrder(tx, p.referenceId, now) });
  if (r.outcome === 'failed') await deps.db.transaction((tx) => failAgencyOrder(tx, payment.referenceId));
  return { outcome: r.outcome, purpose: payment.purpose, referenceId: payment.referenceId, grant: null };
}

// "Pay all overdue" (DESIGN sections 6 and 10): one payment at the seller's gateway for every
// invoice of the buyer that is past its due day. The payment names its invoices in its reference
// (`overdue:<invoice id>,<invoice id>...`, ids sorted), so the same set of invoices is one
// payment however often the button is pressed, and its settlement marks them all paid in the
// payment's own transaction: a declined payment pays none, a confirmed one all (docs/decisions.md).
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { agencies, invoices, payments, subAccounts } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { systemActor } from '../auth/actor';
import { requireBilling } from '../auth/policies';
import type { Deps } from '../deps';
import { AppError } from '../lib/errors';
import { dispatchEmails } from '../mail/outbox';
import type { CheckoutStarter, Payment, PaymentStart } from '../payments/gateway';
import { createPayment, settlePayment } from '../payments/payments.usecases';
import type { SettlementHandler } from '../payments/settlement';
import { applyOverdueRule, overdueInvoicesOf } from '../suspension/suspension.usecases';
import { buyerAccount } from './accounts';
import { formatInvoiceNumber } from './invoice-numbers';
import { calendarDay } from './proration';
import { msg } from '../lib/message';
import { emitInvoicePaid } from '../webhooks/emit';

export const OVERDUE_REFERENCE_PREFIX = 'overdue:';

/** The reference of a payment of these invoices (order-independent). */
export const overdueReference = (invoiceIds: readonly string[]) => `${OVERDUE_REFERENCE_PREFIX}${[...invoiceIds].sort().join(',')}`;

/**
 * The invoice ids a batch payment pays. A failed attempt keeps `<reference>;<payment id>` so the
 * same set can be tried again (a payment's purpose and reference are unique).
 */
export function invoiceIdsOfOverdueReference(referenceId: string): string[] {
  if (!referenceId.startsWith(OVERDUE_REFERENCE_PREFIX)) return [];
  return referenceId.slice(OVERDUE_REFERENCE_PREFIX.length).split(';')[0]!.split(',').filter(Boolean);
}

export interface OverduePaymentStart {
  paymentId: string;
  invoices: { id: string; number: string; totalMinor: number }[];
  amountMinor: number;
  currency: string;
  next: PaymentStart;
}

/**
 * The buyer pays every overdue invoice at once. Two presses at once run one after the other (the
 * buyer's row is locked) and get the same pending payment; after a declined attempt a new one is
 * made; once paid, the invoices are no longer overdue and there is nothing left to pay.
 */
export async function startOverduePayment(deps: Deps, params: { actor: Actor; gateway: CheckoutStarter }): Promise<OverduePaymentStart> {
  const { actor } = params;
  requireBilling(actor);
  const account = await buyerAccount(deps.db, actor);
  const now = deps.clock.now();
  const today = calendarDay(now, account.zone);
  const { payment, list } = await deps.db.transaction(async (tx) => {
    if (account.subAccountId) await tx.select({ id: subAccounts.id }).from(subAccounts).where(eq(subAccounts.id, account.subAccountId)).for('update');
    else await tx.select({ id: agencies.id }).from(agencies).where(eq(agencies.id, account.agencyId)).for('update');
    const list = await overdueInvoicesOf(tx, account, today);
    if (list.length === 0) throw new AppError('nothing_overdue', 409, 'No invoice is overdue: there is nothing to pay at once.');
    const currencies = [...new Set(list.map((i) => i.currency))];
    if (currencies.length > 1) {
      throw new AppError('mixed_currencies', 409, msg('errors:invoice.mixedCurrencies', { currencies: currencies.join(', ') }));
    }
    const referenceId = overdueReference(list.map((i) => i.id));
    const [existing] = await tx.select().from(payments).where(and(eq(payments.purpose, 'invoice_batch'), eq(payments.referenceId, referenceId)));
    if (existing?.status === 'pending') return { payment: existing, list };
    // Confirmed means its invoices are paid in the same transaction, so they would not be overdue.
    if (existing) await tx.update(payments).set({ referenceId: `${referenceId};${existing.id}` }).where(eq(payments.id, existing.id));
    const amountMinor = list.reduce((sum, i) => sum + i.totalMinor, 0);
    const payment = await createPayment(tx, {
      sellerAgencyId: account.sellerAgencyId, buyerAgencyId: account.agencyId, buyerSubAccountId: account.subAccountId, purpose: 'invoice_batch', referenceId,
      amountMinor, currency: list[0]!.currency, gateway: params.gateway.kind, gatewayAccountId: params.gateway.accountId ?? null,
    }, now);
    return { payment, list };
  });
  return {
    paymentId: payment.id,
    invoices: list.map((i) => ({ id: i.id, number: formatInvoiceNumber(i.number), totalMinor: i.totalMinor })),
    amountMinor: payment.amountMinor,
    currency: payment.currency,
    next: await params.gateway.start(payment),
  };
}

/**
 * Marks the batch's invoices paid inside the payment's confirming transaction, then re-applies
 * the suspension rule once. Invoices are locked in id order (the same order as every other
 * payment path: invoice rows first, the buyer's row after). An invoice already paid another way
 * meanwhile (a bank transfer, its own "Pay now") is left as it is and the surplus is written to
 * the audit log for the seller to refund: nothing is paid twice and no money goes unrecorded.
 */
async function markBatchPaid(tx: Tx, payment: Payment, now: Date): Promise<(string | null)[]> {
  const ids = invoiceIdsOfOverdueReference(payment.referenceId);
  if (ids.length === 0) return [];
  const rows = await tx.select().from(invoices).where(and(inArray(invoices.id, ids), eq(invoices.agencyId, payment.buyerAgencyId))).orderBy(asc(invoices.id)).for('update');
  const by = systemActor('payments');
  let surplus = 0;
  const skipped: string[] = [];
  for (const inv of rows) {
    if (inv.status !== 'open' && inv.status !== 'draft') {
      surplus += inv.totalMinor;
      skipped.push(inv.id);
      continue;
    }
    await tx.update(invoices).set({ status: 'paid', paidAt: now, paymentId: payment.id, updatedAt: now }).where(eq(invoices.id, inv.id));
    await recordAudit(tx, by, {
      action: 'invoice.paid', targetType: 'invoice', targetId: inv.id, agencyId: inv.agencyId, subAccountId: inv.subAccountId,
      data: { paymentId: payment.id, amountMinor: inv.totalMinor, currency: inv.currency, with: 'pay_all_overdue' },
    }, now);
    await emitInvoicePaid(tx, inv, { number: formatInvoiceNumber(inv.number), paymentId: payment.id, at: now });
  }
  if (surplus > 0) {
    await recordAudit(tx, by, {
      action: 'payment.surplus', targetType: 'payment', targetId: payment.id, agencyId: payment.buyerAgencyId, subAccountId: payment.buyerSubAccountId,
      data: { amountMinor: surplus, currency: payment.currency, invoiceIds: skipped, note: 'Invoices of this payment were already paid another way; refund the surplus to the buyer.' },
    }, now);
  }
  const { mailIds } = await applyOverdueRule(tx, { agencyId: payment.buyerAgencyId, subAccountId: payment.buyerSubAccountId }, { now, by });
  return mailIds;
}

/** Settlement of `invoice_batch` payments (registered in src/composition.ts). */
export const settleOverduePayment: SettlementHandler = async (deps, input, payment) => {
  let mailIds: (string | null)[] = [];
  const r = await settlePayment(deps, { ...input, onConfirmed: async (tx, p) => { mailIds = await markBatchPaid(tx, p, deps.clock.now()); } });
  await dispatchEmails(deps.queue, mailIds);
  return { outcome: r.outcome, referenceId: payment.referenceId, grant: null };
};

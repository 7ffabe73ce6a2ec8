import { and, eq, inArray } from 'drizzle-orm';
import { invoices, paymentEvents, payments } from '../../db/schema';
import type { Actor } from '../auth/actor';
import { systemActor } from '../auth/actor';
import { requireBilling } from '../auth/policies';
import type { Tx } from '../../db/client';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { GatewayTimeoutError, type CheckoutStarter, type PaymentStart } from '../payments/gateway';
import { gatewayOf, getGatewayAccount } from '../payments/gateway-accounts';
import { createPayment, settlePayment } from '../payments/payments.usecases';
import type { SettlementHandler } from '../payments/settlement';
import { defaultPaymentMethod } from '../payments/payment-methods';
import { offSessionDescription } from '../payments/checkout';
import { markInvoicePaid, type Invoice } from './invoices.usecases';
import { msg } from '../lib/message';
import { formatInvoiceNumber } from './invoice-numbers';
import { emitPaymentFailed } from '../webhooks/emit';

export type CollectOutcome = 'open' | 'paid' | 'already' | 'charged' | 'declined' | 'pending';

/**
 * Hands a delivered invoice to collection: an invoice of 0 is settled at once; otherwise it is
 * `open`, and when the seller's gateway can charge a saved card and the buyer has one, that card
 * is charged off-session (idempotency key `invoice:<id>`: a rerun never charges twice) and the
 * invoice marked paid. A declined or unanswered charge leaves it open for the buyer to pay from the
 * billing page; an unanswered one is settled later by the payments reconciliation.
 */
export async function collectInvoice(deps: Deps, invoiceId: string): Promise<CollectOutcome> {
  const now = deps.clock.now();
  const [inv] = await deps.db.select().from(invoices).where(eq(invoices.id, invoiceId));
  if (!inv) throw errors.notFound('Invoice');
  if (inv.status === 'draft') {
    const status = inv.totalMinor === 0 ? 'paid' : 'open';
    const moved = await deps.db
      .update(invoices)
      .set({ status, ...(status === 'paid' ? { paidAt: now } : {}), updatedAt: now })
      .where(and(eq(invoices.id, invoiceId), inArray(invoices.status, ['draft'])))
      .returning({ id: invoices.id });
    if (!moved.length) return 'already';
    if (status === 'paid') return 'paid';
  } else if (inv.status !== 'open') return 'already';
  return chargeSavedCard(deps, { ...inv, status: 'open' });
}

async function chargeSavedCard(deps: Deps, inv: Invoice): Promise<CollectOutcome> {
  const account = await getGatewayAccount(deps, inv.sellerAgencyId);
  if (!account) return 'open';
  const gateway = gatewayOf(deps, account);
  if (!gateway.canChargeOffSession) return 'open';
  const method = await defaultPaymentMethod(deps, { agencyId: inv.agencyId, subAccountId: inv.subAccountId, sellerAgencyId: inv.sellerAgencyId });
  if (!method) return 'open';

  const idempotencyKey = `invoice:${inv.id}`;
  const now = deps.clock.now();
  // One automatic charge per invoice, however often collection runs (its key is unique per gateway).
  const [byRef] = await deps.db.select().from(payments).where(and(eq(payments.purpose, 'invoice'), eq(payments.referenceId, inv.id)));
  let payment = byRef && byRef.idempotencyKey === idempotencyKey ? byRef : undefined;
  if (payment && payment.status === 'confirmed') {
    // Charged, but the invoice was not marked paid (a crash or a lost connection between the two
    // transactions below): finish that now, never charge again.
    await settleInvoicePayment(deps, inv.id, payment.id);
    return 'charged';
  }
  if (payment && payment.status !== 'pending') return 'declined';
  if (!payment) {
    if (byRef?.status === 'pending') return 'open'; // the buyer is paying it by hand right now
    payment = await deps.db.transaction(async (tx) => {
      if (byRef) await freeInvoiceReference(tx, byRef.id, inv.id);
      const row = await createPayment(tx, {
        sellerAgencyId: inv.sellerAgencyId, buyerAgencyId: inv.agencyId, buyerSubAccountId: inv.subAccountId, purpose: 'invoice', referenceId: inv.id,
        amountMinor: inv.totalMinor, currency: inv.currency, gateway: account.kind, gatewayAccountId: account.id,
      }, now);
      await tx.update(payments).set({ idempotencyKey, paymentMethodId: method.id }).where(eq(payments.id, row.id));
      return { ...row, idempotencyKey, paymentMethodId: method.id };
    });
  }
  const charging = payment;
  let result;
  try {
    result = await gateway.chargeOffSession({ payment: charging, method: { customerRef: method.customerRef, methodRef: method.methodRef }, idempotencyKey, description: await offSessionDescription(deps, charging) });
  } catch (err) {
    if (err instanceof GatewayTimeoutError) return 'pending';
    throw err;
  }
  const at = deps.clock.now();
  if (result.status !== 'succeeded') {
    await deps.db.transaction(async (tx) => {
      const moved = await tx.update(payments).set({ status: 'failed', failureReason: result.reason }).where(and(eq(payments.id, charging.id), eq(payments.status, 'pending'))).returning({ id: payments.id });
      if (moved.length) await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId: charging.id, fromStatus: 'pending', toStatus: 'failed', raw: result.raw, createdAt: at });
      if (moved.length) await emitPaymentFailed(tx, charging, { reason: result.reason, at });
    });
    deps.logger.info('invoice card charge declined; the invoice stays open', { invoiceId: inv.id, reason: result.reason });
    return 'declined';
  }
  await deps.db.transaction(async (tx) => {
    // Another run of this collection may have recorded it first: the transition is recorded once.
    const moved = await tx.update(payments).set({ status: 'confirmed', confirmedAt: at, gatewayReference: result.gatewayReference }).where(and(eq(payments.id, charging.id), eq(payments.status, 'pending'))).returning({ id: payments.id });
    if (moved.length) await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId: charging.id, fromStatus: 'pending', toStatus: 'confirmed', raw: result.raw, createdAt: at });
  });
  await settleInvoicePayment(deps, inv.id, charging.id);
  return 'charged';
}

/** Settlement of `invoice` payments (registered in src/composition.ts). */
export const settleInvoice: SettlementHandler = async (deps, input, payment) => {
  const r = await settlePayment(deps, input);
  if (r.outcome === 'confirmed') await settleInvoicePayment(deps, invoiceIdOfReference(payment.referenceId), input.paymentId);
  return { outcome: r.outcome, referenceId: payment.referenceId, grant: null };
};

/** A confirmed payment of an invoice marks it paid once (a replay finds it paid and changes nothing). */
export async function settleInvoicePayment(deps: Deps, invoiceId: string, paymentId: string): Promise<void> {
  try {
    await markInvoicePaid(deps, { invoiceId, paymentId, by: systemActor('payments') });
  } catch (err) {
    if (err instanceof AppError && err.code === 'invoice_already_paid') return;
    throw err;
  }
}

/**
 * The buyer pays an open invoice by hand ("Pay now" on the billing page, or the API): a payment at
 * the seller's gateway, through the same pay link and callback as every purchase.
 */
export async function startInvoicePayment(deps: Deps, params: { actor: Actor; invoiceId: string; gateway: CheckoutStarter }): Promise<{ paymentId: string; next: PaymentStart }> {
  const { actor } = params;
  requireBilling(actor);
  if (actor.scope === 'platform') throw errors.notFound('Invoice');
  const [inv] = await deps.db.select().from(invoices).where(eq(invoices.id, params.invoiceId));
  const mine = inv && inv.agencyId === actor.agencyId && (actor.scope === 'sub_account' ? inv.subAccountId === actor.subAccountId : inv.subAccountId === null);
  if (!inv || !mine) throw errors.notFound('Invoice');
  if (inv.status === 'paid') throw new AppError('invoice_already_paid', 409, msg('errors:invoice.alreadyPaid', { n: formatInvoiceNumber(inv.number) }));
  if (inv.status !== 'open') throw new AppError('invoice_not_payable', 409, msg('errors:invoice.notPayable', { n: formatInvoiceNumber(inv.number), status: `errors:invoice.status.${inv.status}` }));
  const now = deps.clock.now();
  const payment = await deps.db.transaction(async (tx) => {
    // The invoice row is locked first, so two "Pay now" at once run this one after the other:
    // the second finds the first's pending payment and reuses it (no unique-index race).
    const [locked] = await tx.select({ status: invoices.status }).from(invoices).where(eq(invoices.id, inv.id)).for('update');
    if (locked?.status === 'paid') throw new AppError('invoice_already_paid', 409, msg('errors:invoice.alreadyPaid', { n: formatInvoiceNumber(inv.number) }));
    if (locked?.status !== 'open') throw new AppError('invoice_not_payable', 409, msg('errors:invoice.notPayableNow', { n: formatInvoiceNumber(inv.number) }));
    // One payment record per invoice reference: a second "Pay now" reuses a pending attempt.
    const [existing] = await tx.select().from(payments).where(and(eq(payments.purpose, 'invoice'), eq(payments.referenceId, inv.id)));
    // A confirmed one is returned too: the invoice is then marked paid below, never paid twice.
    if (existing?.status === 'pending' || existing?.status === 'confirmed') return existing;
    if (existing) await freeInvoiceReference(tx, existing.id, inv.id);
    return createPayment(tx, {
      sellerAgencyId: inv.sellerAgencyId, buyerAgencyId: inv.agencyId, buyerSubAccountId: inv.subAccountId, purpose: 'invoice', referenceId: inv.id,
      amountMinor: inv.totalMinor, currency: inv.currency, gateway: params.gateway.kind, gatewayAccountId: params.gateway.accountId ?? null,
    }, now);
  });
  if (payment.status === 'confirmed') {
    // Paid already (the automatic charge went through but a crash kept the invoice open).
    await settleInvoicePayment(deps, inv.id, payment.id);
    throw new AppError('invoice_already_paid', 409, msg('errors:invoice.alreadyPaid', { n: formatInvoiceNumber(inv.number) }));
  }
  return { paymentId: payment.id, next: await params.gateway.start(payment) };
}

/**
 * A payment's (purpose, reference) is unique; an invoice may need a new attempt after a failed one,
 * so the settled attempt keeps `<invoice id>:<payment id>` as its reference (settlement reads the
 * invoice id before the colon).
 */
export async function freeInvoiceReference(tx: Tx, paymentId: string, invoiceId: string): Promise<void> {
  await tx.update(payments).set({ referenceId: `${invoiceId}:${paymentId}` }).where(eq(payments.id, paymentId));
}

export const invoiceIdOfReference = (referenceId: string): string => referenceId.split(':')[0]!;

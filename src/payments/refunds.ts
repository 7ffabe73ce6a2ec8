import { and, desc, eq, isNull, ne } from 'drizzle-orm';
import { agencies, paymentEvents, payments, subAccounts } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling, requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { GatewayTimeoutError, type Payment } from './gateway';
import { gatewayOf } from './gateway-accounts';
import { gatewayAccounts } from '../../db/schema';
import { msg } from '../lib/message';
import type { Tx } from '../../db/client';
import { dispatchEmails } from '../mail/outbox';

/**
 * What a domain does in a refund's transaction, registered at composition (payments knows none of
 * them): billing credits the invoices the payment paid. Returns outbox ids of emails to send after commit.
 */
export type RefundHandler = (tx: Tx, refund: { payment: Payment; reason: string; by: Actor; now: Date }) => Promise<(string | null)[]>;

/**
 * A seller's admin refunds a confirmed payment in full, through the gateway it was paid with
 * (offline and sandbox stand-in payments are recorded as refunded: the money goes back by hand).
 * The gateway call carries `refund:<payment id>` as its idempotency key, so a retry after a
 * timeout refunds once. Money only: credits already delivered are adjusted separately.
 */
export async function refundPayment(deps: Deps, params: { actor: Actor; paymentId: string; reason: unknown }): Promise<Payment> {
  const { actor } = params;
  requireBilling(actor);
  requireRole(actor, 'admin');
  const reason = typeof params.reason === 'string' ? params.reason.trim() : '';
  if (!reason || reason.length > 500) throw new AppError('validation_failed', 422, 'Give a reason for the refund (at most 500 characters).', { fields: { reason: 'Give a reason for the refund.' } });
  const [payment] = await deps.db.select().from(payments).where(eq(payments.id, params.paymentId));
  // The seller's own payments only: the platform refunds its sales, an agency its own.
  const sellerOk = payment && (actor.scope === 'platform' ? payment.sellerAgencyId === null : actor.scope === 'agency' && payment.sellerAgencyId === actor.agencyId);
  if (!payment || !sellerOk) throw errors.notFound('Payment');
  if (payment.status === 'refunded') throw errors.conflict('already_refunded', 'This payment was already refunded: nothing changed.');
  if (payment.status !== 'confirmed') throw errors.conflict('not_refundable', msg('errors:payment.notRefundable', { status: `errors:payment.status.${payment.status}` }));

  const idempotencyKey = `refund:${payment.id}`;
  let gatewayReference: string | null = null;
  if (payment.gatewayAccountId) {
    const [account] = await deps.db.select().from(gatewayAccounts).where(eq(gatewayAccounts.id, payment.gatewayAccountId));
    if (!account) throw new AppError('gateway_changed', 409, 'The payment system this payment was made with is no longer configured; refund it at the provider.');
    let result;
    try {
      result = await gatewayOf(deps, account).refund(payment, payment.amountMinor, idempotencyKey);
    } catch (err) {
      if (err instanceof GatewayTimeoutError) throw new AppError('gateway_timeout', 504, 'The payment system did not answer in time. Try again: the refund cannot happen twice.');
      throw err;
    }
    if (result.status === 'failed') throw new AppError('refund_failed', 402, msg('errors:payment.refundRefused', { reason: result.reason }));
    gatewayReference = result.gatewayReference;
  }
  const now = deps.clock.now();
  const { updated, mailIds } = await deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(payments)
      .set({ status: 'refunded', refundedMinor: payment.amountMinor, refundedAt: now })
      .where(and(eq(payments.id, payment.id), eq(payments.status, 'confirmed')))
      .returning();
    if (!updated) throw errors.conflict('already_refunded', 'This payment was already refunded: nothing changed.');
    await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId: payment.id, fromStatus: 'confirmed', toStatus: 'refunded', raw: { via: 'refund', reason, gatewayReference }, createdAt: now });
    await recordAudit(tx, actor, { action: 'payment.refunded', targetType: 'payment', targetId: payment.id, agencyId: payment.sellerAgencyId, data: { amountMinor: payment.amountMinor, currency: payment.currency, gateway: payment.gateway, reason, gatewayReference } }, now);
    const mailIds: (string | null)[] = [];
    for (const handler of deps.refundHandlers ?? []) mailIds.push(...(await handler(tx, { payment: updated, reason, by: actor, now })));
    return { updated, mailIds };
  });
  await dispatchEmails(deps.queue, mailIds);
  return updated;
}

/** The payments a seller took (platform: its sales to agencies; agency: its clients'), newest first. */
export async function listSellerPayments(deps: Pick<Deps, 'db'>, actor: Actor): Promise<(Payment & { buyerName: string })[]> {
  requireBilling(actor);
  const sellerIs = actor.scope === 'platform' ? isNull(payments.sellerAgencyId) : actor.scope === 'agency' && actor.agencyId ? eq(payments.sellerAgencyId, actor.agencyId) : undefined;
  if (!sellerIs) throw errors.wrongScope('platform or agency');
  const rows = await deps.db
    .select({ p: payments, agencyName: agencies.name, subName: subAccounts.name })
    .from(payments)
    .innerJoin(agencies, eq(agencies.id, payments.buyerAgencyId))
    .leftJoin(subAccounts, eq(subAccounts.id, payments.buyerSubAccountId))
    .where(and(sellerIs, ne(payments.status, 'pending')))
    .orderBy(desc(payments.createdAt))
    .limit(200);
  return rows.map((r) => ({ ...r.p, buyerName: r.subName ?? r.agencyName }));
}

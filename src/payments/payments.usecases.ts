import { and, eq } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { paymentEvents, payments, type Currency, type PaymentPurpose } from '../../db/schema';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';
import { newId } from '../lib/ids';
import type { Payment } from './gateway';
import { emitPaymentFailed } from '../webhooks/emit';

export interface NewPayment {
  sellerAgencyId: string | null;
  buyerAgencyId: string;
  buyerSubAccountId: string | null;
  purpose: PaymentPurpose;
  referenceId: string;
  amountMinor: number;
  currency: Currency;
  gateway: string;
  gatewayAccountId?: string | null;
  /** The tax the checkout computed (src/billing/checkout-amount.ts, paymentTaxFields); absent: none. */
  priceMode?: 'exclusive' | 'inclusive' | null;
  taxRateBp?: number | null;
  taxMinor?: number;
}

export async function createPayment(tx: Tx, input: NewPayment, now: Date): Promise<Payment> {
  const [row] = await tx.insert(payments).values({ id: newId('pay'), ...input, createdAt: now }).returning();
  await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId: row!.id, fromStatus: null, toStatus: 'pending', createdAt: now });
  return row!;
}

export type Settlement = { outcome: 'confirmed' | 'failed'; payment: Payment } | { outcome: 'already'; payment: Payment };

/**
 * Moves a pending payment to confirmed or failed, once: a replayed callback finds it settled
 * and changes nothing. The raw callback is kept with the transition. `onConfirmed` runs in the
 * same transaction (e.g. marks the purchase paid).
 */
export async function settlePayment(
  deps: Pick<Deps, 'db' | 'clock'>,
  params: {
    paymentId: string;
    approved: boolean;
    reason?: string;
    raw: Record<string, unknown>;
    amountMinor?: number;
    currency?: string;
    gatewayReference?: string;
    onConfirmed?: (tx: Tx, payment: Payment) => Promise<void>;
  },
): Promise<Settlement> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [payment] = await tx.select().from(payments).where(eq(payments.id, params.paymentId)).for('update');
    if (!payment) throw errors.notFound('Payment');
    if (payment.status !== 'pending') {
      await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId: payment.id, fromStatus: payment.status, toStatus: payment.status, raw: { replay: true, ...params.raw }, createdAt: now });
      return { outcome: 'already', payment };
    }
    // A gateway that confirms another amount or currency than the order's is never applied: the
    // attempt fails with the difference kept, for the seller to refund (nothing is granted).
    const mismatch = params.approved && ((params.amountMinor !== undefined && params.amountMinor !== payment.amountMinor) || (params.currency !== undefined && params.currency !== payment.currency));
    const approved = params.approved && !mismatch;
    const reason = mismatch
      ? `amount_mismatch: the gateway confirmed ${params.amountMinor ?? payment.amountMinor} ${params.currency ?? payment.currency}, the order is ${payment.amountMinor} ${payment.currency}`
      : (params.reason ?? 'declined');
    const status = approved ? 'confirmed' : 'failed';
    const [updated] = await tx
      .update(payments)
      .set({ status, confirmedAt: approved ? now : null, failureReason: approved ? null : reason, ...(params.gatewayReference ? { gatewayReference: params.gatewayReference } : {}) })
      .where(and(eq(payments.id, payment.id), eq(payments.status, 'pending')))
      .returning();
    await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId: payment.id, fromStatus: 'pending', toStatus: status, raw: params.raw, createdAt: now });
    if (approved && params.onConfirmed) await params.onConfirmed(tx, updated!);
    if (!approved) await emitPaymentFailed(tx, updated!, { reason, at: now });
    return { outcome: status, payment: updated! };
  });
}

import { and, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../../db/client';
import { currencies, walletEntries, wallets, walletTopups, type Currency } from '../../db/schema';
import type { Actor } from '../auth/actor';
import { requireBilling } from '../auth/policies';
import { billingAccount } from '../billing/accounts';
import { deliverPaymentInvoice } from '../billing/invoice-delivery';
import { issuePaymentInvoice } from '../billing/invoice-issue';
import { paymentTaxFields, quoteCheckout, type CheckoutAmount } from '../billing/checkout-amount';
import { requireNotSuspended, suspendedAction } from '../suspension/suspension.usecases';
import type { Deps } from '../deps';
import { AppError, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import { MAX_PRICE_MINOR } from '../lib/money';
import { parse } from '../lib/validation';
import type { CheckoutStarter, PaymentStart } from '../payments/gateway';
import { createPayment, settlePayment } from '../payments/payments.usecases';
import type { SettlementHandler } from '../payments/settlement';
import { buyerOf } from '../payments/payment-methods';
import { msg } from '../lib/message';

export type Wallet = typeof wallets.$inferSelect;
export type WalletEntry = typeof walletEntries.$inferSelect;

const ownerKeyOf = (agencyId: string, subAccountId: string | null) => (subAccountId ? `sub:${subAccountId}` : `agency:${agencyId}`);

const amount = z
  .number({ error: 'amountMinor must be a whole number of minor units.' })
  .int('amountMinor must be a whole number of minor units.')
  .positive('The amount must be more than zero.')
  .max(MAX_PRICE_MINOR, 'The amount is too large.');

export interface WalletView {
  balanceMinor: number;
  currency: string | null;
  entries: WalletEntry[];
}

/** The caller's WhatsApp balance (agency or sub-account) and its latest movements. */
export async function getWallet(deps: Pick<Deps, 'db'>, actor: Actor): Promise<WalletView> {
  const b = buyerOf(actor);
  const key = ownerKeyOf(b.agencyId, b.subAccountId);
  const [w] = await deps.db.select().from(wallets).where(eq(wallets.ownerKey, key));
  const entries = await deps.db.select().from(walletEntries).where(eq(walletEntries.ownerKey, key)).orderBy(desc(walletEntries.createdAt)).limit(50);
  return { balanceMinor: w?.balanceMinor ?? 0, currency: w?.currency ?? null, entries };
}

export const topupSchema = z.object({ amountMinor: amount, currency: z.enum(currencies) });

/**
 * A top-up of the WhatsApp balance, paid through the seller's gateway (the platform for an
 * agency, the agency for its client). The balance grows only when the payment is confirmed.
 */
export async function startWalletTopup(deps: Deps, params: { actor: Actor; input: unknown; gateway: CheckoutStarter }): Promise<{ topupId: string; paymentId: string; next: PaymentStart; charge: CheckoutAmount & { currency: Currency } }> {
  requireBilling(params.actor);
  const b = buyerOf(params.actor);
  const input = parse(topupSchema, params.input);
  const key = ownerKeyOf(b.agencyId, b.subAccountId);
  const [existing] = await deps.db.select().from(wallets).where(eq(wallets.ownerKey, key));
  if (existing && existing.currency !== input.currency) throw new ValidationError({ currency: msg('errors:wallet.currency', { currency: existing.currency }) });
  const now = deps.clock.now();
  await requireNotSuspended(deps, await billingAccount(deps.db, b.agencyId, b.subAccountId), suspendedAction.toppingUpWhatsApp);
  const { topupId, payment, charge } = await deps.db.transaction(async (tx) => {
    const topupId = newId('wtp');
    await tx.insert(walletTopups).values({ id: topupId, ownerKey: key, agencyId: b.agencyId, subAccountId: b.subAccountId, amountMinor: input.amountMinor, currency: input.currency, createdAt: now });
    // The balance grows by the amount typed; the buyer pays it with the tax a seller whose prices
    // exclude tax adds, at the seller's default rate (docs/tax.md).
    const amount = await quoteCheckout(tx, { buyerAgencyId: b.agencyId, buyerSubAccountId: b.subAccountId, unitPriceMinor: input.amountMinor });
    const payment = await createPayment(tx, {
      sellerAgencyId: b.sellerAgencyId, buyerAgencyId: b.agencyId, buyerSubAccountId: b.subAccountId, purpose: 'wallet_topup', referenceId: topupId,
      ...paymentTaxFields(amount), currency: input.currency, gateway: params.gateway.kind, gatewayAccountId: params.gateway.accountId ?? null,
    }, now);
    return { topupId, payment, charge: { ...amount, currency: input.currency } };
  });
  return { topupId, paymentId: payment.id, charge, next: await params.gateway.start(payment) };
}

/** Applies a paid top-up once (in the payment's settlement transaction). */
export async function applyWalletTopup(tx: Tx, topupId: string, now: Date): Promise<void> {
  const [t] = await tx.select().from(walletTopups).where(eq(walletTopups.id, topupId)).for('update');
  if (!t || t.status === 'applied') return;
  await moveWallet(tx, { ownerKey: t.ownerKey, agencyId: t.agencyId, subAccountId: t.subAccountId, currency: t.currency, deltaMinor: t.amountMinor, reason: 'top_up', reference: `wallet_topup:${t.id}`, idempotencyKey: `topup:${t.id}` }, now);
  await tx.update(walletTopups).set({ status: 'applied', appliedAt: now }).where(eq(walletTopups.id, t.id));
}

/** Settlement of `wallet_topup` payments (registered in src/composition.ts). */
export const settleWalletTopup: SettlementHandler = async (deps, input, payment) => {
  const now = deps.clock.now();
  const r = await settlePayment(deps, {
    ...input,
    onConfirmed: async (tx, p) => {
      await applyWalletTopup(tx, p.referenceId, now);
      // The paid invoice of the top-up (one per payment), at the seller's default rate.
      const [t] = await tx.select({ amountMinor: walletTopups.amountMinor }).from(walletTopups).where(eq(walletTopups.id, p.referenceId));
      const stated = t?.amountMinor ?? p.amountMinor;
      await issuePaymentInvoice(tx, { payment: p, now, lines: [{ kind: 'purchase', description: 'WhatsApp balance', descriptionKey: 'billing:line.whatsappBalance', quantity: 1, unitPriceMinor: stated, amountMinor: stated }] });
    },
  });
  if (r.outcome === 'confirmed') await deliverPaymentInvoice(deps, r.payment.id);
  if (r.outcome === 'failed') await deps.db.transaction((tx) => failWalletTopup(tx, payment.referenceId));
  return { outcome: r.outcome, referenceId: payment.referenceId, grant: null };
};

export async function failWalletTopup(tx: Tx, topupId: string): Promise<void> {
  await tx.update(walletTopups).set({ status: 'payment_failed' }).where(and(eq(walletTopups.id, topupId), eq(walletTopups.status, 'pending_payment')));
}

export const debitSchema = z.object({ amountMinor: amount, reference: z.string({ error: 'reference must be a string.' }).min(1, 'reference must not be empty.').max(200, 'reference is too long.') });

/** WhatsApp usage paid from the balance; refused (402) when it does not cover it. Idempotent by key. */
export async function debitWallet(deps: Deps, params: { actor: Actor; input: unknown; idempotencyKey: string | null }): Promise<Wallet> {
  const b = buyerOf(params.actor);
  const input = parse(debitSchema, params.input);
  const key = ownerKeyOf(b.agencyId, b.subAccountId);
  return deps.db.transaction(async (tx) => {
    const [w] = await tx.select().from(wallets).where(eq(wallets.ownerKey, key)).for('update');
    if (!w || w.balanceMinor < input.amountMinor) throw new AppError('insufficient_funds', 402, msg('errors:wallet.insufficient', { balance: w?.balanceMinor ?? 0, needed: input.amountMinor }));
    return moveWallet(tx, { ownerKey: key, agencyId: b.agencyId, subAccountId: b.subAccountId, currency: w.currency, deltaMinor: -input.amountMinor, reason: 'debit', reference: input.reference, idempotencyKey: params.idempotencyKey ? `debit:${params.idempotencyKey}` : null }, deps.clock.now());
  });
}

async function moveWallet(tx: Tx, m: { ownerKey: string; agencyId: string; subAccountId: string | null; currency: string; deltaMinor: number; reason: 'top_up' | 'debit'; reference: string; idempotencyKey: string | null }, now: Date): Promise<Wallet> {
  await tx.insert(wallets).values({ ownerKey: m.ownerKey, agencyId: m.agencyId, subAccountId: m.subAccountId, currency: m.currency, balanceMinor: 0, updatedAt: now }).onConflictDoNothing();
  const [w] = await tx.select().from(wallets).where(eq(wallets.ownerKey, m.ownerKey)).for('update');
  if (m.idempotencyKey) {
    const [seen] = await tx.select({ id: walletEntries.id }).from(walletEntries).where(and(eq(walletEntries.ownerKey, m.ownerKey), eq(walletEntries.idempotencyKey, m.idempotencyKey)));
    if (seen) return w!;
  }
  const [updated] = await tx.update(wallets).set({ balanceMinor: sql`${wallets.balanceMinor} + ${m.deltaMinor}`, updatedAt: now }).where(eq(wallets.ownerKey, m.ownerKey)).returning();
  await tx.insert(walletEntries).values({ id: newId('wle'), ownerKey: m.ownerKey, agencyId: m.agencyId, deltaMinor: m.deltaMinor, balanceAfterMinor: updated!.balanceMinor, reason: m.reason, reference: m.reference, idempotencyKey: m.idempotencyKey, createdAt: now });
  return updated!;
}

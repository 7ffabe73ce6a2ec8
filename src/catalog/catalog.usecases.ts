import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx, Tx } from '../../db/client';
import { agencies, agencyOrders, currencies, offers, offerVersions, platform, type Currency } from '../../db/schema';
import type { Actor } from '../auth/actor';
import { agencyIdOf, requireBilling, requireRole, requireScope } from '../auth/policies';
import { billingAccount } from '../billing/accounts';
import { deliverPaymentInvoice } from '../billing/invoice-delivery';
import { issuePaymentInvoice } from '../billing/invoice-issue';
import { kontorText, offerLineText } from '../billing/line-text';
import { chargedBy, paymentTaxFields, quoteCheckout, type CheckoutAmount } from '../billing/checkout-amount';
import { creditAccount, lockAccount } from '../credits/ledger';
import { requireNotSuspended, suspendedAction } from '../suspension/suspension.usecases';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { MAX_PRICE_MINOR } from '../lib/money';
import { checkbox, opaqueId, parse, wholeNumber } from '../lib/validation';
import type { CheckoutStarter, PaymentStart } from '../payments/gateway';
import { createPayment, settlePayment } from '../payments/payments.usecases';
import type { Payment } from '../payments/gateway';
import type { SettlementHandler } from '../payments/settlement';
import { chatbotSlotOffer, createOffer, offersOf, setChatbotSlotOffer, type OfferView } from './offers';
import { emitEvent } from '../webhooks/emit';

export type AgencyOrder = typeof agencyOrders.$inferSelect;

/** A platform top-up: credits into an agency's pool. */
export interface TopupPackage {
  id: string;
  credits: number;
  priceMinor: number;
  currency: Currency;
  name: string;
  versionId: string;
  createdAt: Date;
}
/** An agency plan of the platform's catalog; `resellingModule` is its "reselling" feature. */
export interface PlatformPlan {
  id: string;
  code: string;
  name: string;
  resellingModule: boolean;
  includedChatbots: number;
  monthlyCredits: number;
  priceMinor: number;
  currency: Currency;
  published: boolean;
  versionId: string;
}

const topupOf = (o: OfferView): TopupPackage => ({
  id: o.id, credits: o.version.credits, priceMinor: o.version.priceMinor, currency: o.version.currency, name: o.version.name, versionId: o.version.id, createdAt: o.createdAt,
});
export const planOf = (o: OfferView): PlatformPlan => ({
  id: o.id, code: o.code ?? '', name: o.version.name, resellingModule: o.version.modules.includes('reselling'), includedChatbots: o.version.chatbots,
  monthlyCredits: o.version.credits, priceMinor: o.version.priceMinor, currency: o.version.currency, published: o.published, versionId: o.version.id,
});

/** The platform's credit top-ups that agencies buy into their pool. */
export async function createTopupPackage(deps: Deps, params: { actor: Actor; input: unknown }): Promise<TopupPackage> {
  requireScope(params.actor, 'platform');
  requireRole(params.actor, 'admin');
  const input = (params.input && typeof params.input === 'object' ? params.input : {}) as Record<string, unknown>;
  return topupOf(await createOffer(deps, { actor: params.actor, input: { ...input, kind: 'topup' }, audit: 'topup_package.created' }));
}

export async function listTopupPackages(deps: Pick<Deps, 'db'>): Promise<TopupPackage[]> {
  return (await offersOf(deps.db, null, { kinds: ['topup'], publishedOnly: true })).map(topupOf).sort((a, b) => a.credits - b.credits || a.id.localeCompare(b.id));
}

/** Agency plans (what the platform sells agencies): `resellingModule` and the rest become the plan offer's terms. */
export async function createPlan(deps: Deps, params: { actor: Actor; input: unknown }): Promise<PlatformPlan> {
  requireScope(params.actor, 'platform');
  requireRole(params.actor, 'admin');
  const { resellingModule, includedChatbots, monthlyCredits, ...rest } = (params.input && typeof params.input === 'object' ? params.input : {}) as Record<string, unknown>;
  const reselling = parse(z.object({ r: checkbox.default(false) }), { r: resellingModule }).r;
  const input = { ...rest, kind: 'plan', chatbots: includedChatbots, credits: monthlyCredits, modules: reselling ? ['reselling'] : [], published: rest.published ?? true };
  return planOf(await createOffer(deps, { actor: params.actor, input, audit: 'plan.created' }));
}

/** The platform's plans (retired ones excluded), cheapest first. */
export async function listPlans(deps: Pick<Deps, 'db'>): Promise<PlatformPlan[]> {
  return (await offersOf(deps.db, null, { kinds: ['plan'] })).map(planOf).sort((a, b) => a.priceMinor - b.priceMinor || a.id.localeCompare(b.id));
}

/** A plan by its code, retired or not (an agency keeps a retired plan it is on). */
export async function planByCode(db: DbOrTx, code: string): Promise<(PlatformPlan & { retired: boolean; offer: OfferView }) | undefined> {
  const [row] = await db
    .select({ o: offers, v: offerVersions })
    .from(offers)
    .innerJoin(offerVersions, eq(offerVersions.id, offers.currentVersionId))
    .where(and(isNull(offers.sellerAgencyId), eq(offers.kind, 'plan'), eq(offers.code, code)));
  return row && { ...planOf({ ...row.o, version: row.v }), retired: row.o.archivedAt !== null, offer: { ...row.o, version: row.v } };
}

export const slotPriceSchema = z.object({ priceMinor: wholeNumber('priceMinor', 1, MAX_PRICE_MINOR), currency: z.enum(currencies) });

export async function setChatbotSlotPrice(deps: Deps, params: { actor: Actor; input: unknown }): Promise<{ priceMinor: number; currency: string }> {
  requireScope(params.actor, 'platform');
  requireRole(params.actor, 'admin');
  const input = parse(slotPriceSchema, params.input);
  const slot = await setChatbotSlotOffer(deps, { actor: params.actor, ...input });
  return { priceMinor: slot.version.priceMinor, currency: slot.version.currency };
}

export async function chatbotSlotPrice(deps: Pick<Deps, 'db'>): Promise<{ priceMinor: number; currency: string }> {
  const slot = await chatbotSlotOffer(deps.db);
  const [p] = slot ? [] : await deps.db.select({ currency: platform.currency }).from(platform).limit(1);
  return slot ? { priceMinor: slot.version.priceMinor, currency: slot.version.currency } : { priceMinor: 0, currency: p?.currency ?? 'USD' };
}

export const orderSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('topup'), topupPackageId: opaqueId, quantity: wholeNumber('quantity', 1, 100).default(1) }),
  z.object({ kind: z.literal('chatbot_slots'), quantity: wholeNumber('quantity', 1, 1000) }),
], { error: 'kind must be "topup" or "chatbot_slots".' });

/** An order's stated price (unit x quantity, without the tax a platform whose prices exclude it adds), and its offer's rate. */
async function agencyOrderPrice(deps: Pick<Deps, 'db'>, input: z.infer<typeof orderSchema>): Promise<{ credits: number; amountMinor: number; unitPriceMinor: number; currency: Currency; rateBp: number | null }> {
  if (input.kind === 'topup') {
    const pkg = (await listTopupPackages(deps)).find((t) => t.id === input.topupPackageId);
    if (!pkg) throw errors.notFound('Top-up package');
    const version = await offerVersionOf(deps.db, pkg.id);
    return { credits: pkg.credits * input.quantity, amountMinor: pkg.priceMinor * input.quantity, unitPriceMinor: pkg.priceMinor, currency: pkg.currency, rateBp: version?.taxRateBp ?? null };
  }
  const slot = await chatbotSlotOffer(deps.db);
  const price = await chatbotSlotPrice(deps);
  if (price.priceMinor <= 0) throw new AppError('not_for_sale', 409, 'Chatbot slots are not for sale yet: the platform has not set their price.');
  return { credits: 0, amountMinor: price.priceMinor * input.quantity, unitPriceMinor: price.priceMinor, currency: price.currency as Currency, rateBp: slot?.version.taxRateBp ?? null };
}

/**
 * What an agency's order would charge, before it is placed (the store page and the API's quote):
 * the stated price, the tax, the total to pay.
 */
export async function quoteAgencyOrder(deps: Pick<Deps, 'db'>, params: { actor: Actor; input: unknown }): Promise<CheckoutAmount & { currency: Currency }> {
  const agencyId = agencyIdOf(params.actor);
  const input = parse(orderSchema, params.input);
  const price = await agencyOrderPrice(deps, input);
  return { ...(await quoteCheckout(deps.db, { buyerAgencyId: agencyId, buyerSubAccountId: null, rateBp: price.rateBp, unitPriceMinor: price.unitPriceMinor, quantity: input.quantity })), currency: price.currency };
}

/** An agency buys top-ups or chatbot slots from the platform; paid through the platform's gateway. */
export async function startAgencyOrder(deps: Deps, params: { actor: Actor; input: unknown; gateway: CheckoutStarter }): Promise<{ order: AgencyOrder; next: PaymentStart; charge: CheckoutAmount & { currency: Currency } }> {
  const agencyId = agencyIdOf(params.actor);
  requireBilling(params.actor);
  const input = parse(orderSchema, params.input);
  const { credits, amountMinor, currency: cur, rateBp, unitPriceMinor } = await agencyOrderPrice(deps, input);
  const now = deps.clock.now();
  const { order, payment, charge } = await deps.db.transaction(async (tx) => {
    await tx.select({ id: agencies.id }).from(agencies).where(eq(agencies.id, agencyId)).for('update');
    await requireNotSuspended({ db: tx, clock: deps.clock }, await billingAccount(tx, agencyId, null), input.kind === 'topup' ? suspendedAction.buyingCredits : suspendedAction.buyingChatbotSlots);
    // The amount charged: the price, with tax added for a platform whose prices exclude it (docs/tax.md).
    const amount = await quoteCheckout(tx, { buyerAgencyId: agencyId, buyerSubAccountId: null, rateBp, unitPriceMinor, quantity: input.quantity });
    const [o] = await tx.insert(agencyOrders).values({
      id: newId('ord'), agencyId, kind: input.kind, topupPackageId: input.kind === 'topup' ? input.topupPackageId : null, quantity: input.quantity, credits, amountMinor, currency: cur, createdAt: now,
    }).returning();
    const pay = await createPayment(tx, { sellerAgencyId: null, buyerAgencyId: agencyId, buyerSubAccountId: null, purpose: input.kind === 'topup' ? 'topup' : 'chatbot_slots', referenceId: o!.id, ...paymentTaxFields(amount), currency: cur, gateway: params.gateway.kind, gatewayAccountId: params.gateway.accountId ?? null }, now);
    return { order: o!, payment: pay, charge: { ...amount, currency: cur } };
  });
  return { order, charge, next: await params.gateway.start(payment) };
}

/** Applies a confirmed agency order inside the payment's transaction: credits into the pool, or slots. */
export async function applyAgencyOrder(tx: Tx, payment: Payment, now: Date): Promise<void> {
  const [o] = await tx.select().from(agencyOrders).where(eq(agencyOrders.id, payment.referenceId)).for('update');
  if (!o || o.status === 'applied') return;
  if (o.kind === 'topup') {
    const pool = await lockAccount(tx, { agencyId: o.agencyId, subAccountId: null }, now);
    await creditAccount(tx, pool, { amount: o.credits, source: 'topup', reason: 'grant', reference: `order:${o.id}`, idempotencyKey: `order:${o.id}`, note: 'credits:note.platformTopup' }, now);
  } else {
    await tx.update(agencies).set({ chatbotSlots: sql`${agencies.chatbotSlots} + ${o.quantity}`, updatedAt: now }).where(eq(agencies.id, o.agencyId));
  }
  await tx.update(agencyOrders).set({ status: 'applied', appliedAt: now }).where(eq(agencyOrders.id, o.id));
  // What the payment charged (the order's price with any tax the checkout added, docs/tax.md).
  const { totalMinor, ...charged } = chargedBy(payment);
  await emitEvent(tx, { type: 'purchase.completed', at: now, data: { account: { agencyId: o.agencyId, subAccountId: null }, purchaseId: o.id, kind: o.kind, packageId: null, amountMinor: totalMinor, ...charged, currency: o.currency, paidAt: now.toISOString() } });
}

/** The paid invoice of an agency's order (one per payment): top-up credits or chatbot slots, at the offer's rate. */
async function invoiceAgencyOrder(tx: Tx, payment: Payment, now: Date): Promise<void> {
  const [o] = await tx.select().from(agencyOrders).where(eq(agencyOrders.id, payment.referenceId));
  if (!o) return;
  const offer = o.kind === 'topup' && o.topupPackageId ? await offerVersionOf(tx, o.topupPackageId) : (await chatbotSlotOffer(tx))?.version;
  // The offer's name as the platform wrote it; without an offer, a text Kontor writes (docs/i18n.md).
  const text = offer
    ? offerLineText(offer.name, o.quantity)
    : o.kind === 'topup' ? kontorText('billing:line.credits', { count: o.credits }) : kontorText('billing:line.chatbotSlots', { count: o.quantity });
  await issuePaymentInvoice(tx, {
    payment, now,
    lines: [{ kind: 'purchase', ...text, quantity: o.quantity, unitPriceMinor: Math.round(o.amountMinor / o.quantity), amountMinor: o.amountMinor, rateBp: offer?.taxRateBp ?? null }],
  });
}

async function offerVersionOf(tx: DbOrTx, offerId: string) {
  const [row] = await tx.select({ v: offerVersions }).from(offers).innerJoin(offerVersions, eq(offerVersions.id, offers.currentVersionId)).where(eq(offers.id, offerId));
  return row?.v;
}

/** Settlement of an agency's orders from the platform: credit top-ups and chatbot slots (src/composition.ts). */
export const settleAgencyOrder: SettlementHandler = async (deps, input, payment) => {
  const now = deps.clock.now();
  const r = await settlePayment(deps, {
    ...input,
    onConfirmed: async (tx, p) => {
      await applyAgencyOrder(tx, p, now);
      await invoiceAgencyOrder(tx, p, now);
    },
  });
  if (r.outcome === 'confirmed') await deliverPaymentInvoice(deps, r.payment.id);
  if (r.outcome === 'failed') await deps.db.transaction((tx) => failAgencyOrder(tx, payment.referenceId));
  return { outcome: r.outcome, referenceId: payment.referenceId, grant: null };
};

export async function failAgencyOrder(tx: Tx, orderId: string): Promise<void> {
  await tx.update(agencyOrders).set({ status: 'payment_failed' }).where(and(eq(agencyOrders.id, orderId), eq(agencyOrders.status, 'pending_payment')));
}

export async function listAgencyOrders(deps: Pick<Deps, 'db'>, params: { actor: Actor }): Promise<AgencyOrder[]> {
  const agencyId = agencyIdOf(params.actor);
  return deps.db.select().from(agencyOrders).where(eq(agencyOrders.agencyId, agencyId)).orderBy(desc(agencyOrders.createdAt)).limit(200);
}

import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../../db/client';
import { agencies, agencyOrders, currencies, platform, platformPlans, topupPackages } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { agencyIdOf, requireBilling, requireRole, requireScope } from '../auth/policies';
import { creditAccount, lockAccount } from '../credits/ledger';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { MAX_PRICE_MINOR } from '../lib/money';
import { checkbox, name, opaqueId, parse, wholeNumber } from '../lib/validation';
import type { CheckoutStarter, PaymentStart } from '../payments/gateway';
import { createPayment, settlePayment } from '../payments/payments.usecases';
import type { SettlementHandler } from '../payments/settlement';

const currency = z.enum(currencies, { error: `currency must be one of ${currencies.join(', ')}.` });

export type TopupPackage = typeof topupPackages.$inferSelect;
export type PlatformPlan = typeof platformPlans.$inferSelect;
export type AgencyOrder = typeof agencyOrders.$inferSelect;

export const topupSchema = z.object({ credits: wholeNumber('credits', 1, 1_000_000_000), priceMinor: wholeNumber('priceMinor', 1, MAX_PRICE_MINOR), currency });

/** The platform's credit top-ups that agencies buy into their pool. */
export async function createTopupPackage(deps: Deps, params: { actor: Actor; input: unknown }): Promise<TopupPackage> {
  requireScope(params.actor, 'platform');
  requireRole(params.actor, 'admin');
  const input = parse(topupSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.insert(topupPackages).values({ id: newId('top'), sellerAgencyId: null, ...input, createdAt: now }).returning();
    await recordAudit(tx, params.actor, { action: 'topup_package.created', targetType: 'topup_package', targetId: row!.id, data: input }, now);
    return row!;
  });
}

export async function listTopupPackages(deps: Pick<Deps, 'db'>): Promise<TopupPackage[]> {
  return deps.db.select().from(topupPackages).where(and(isNull(topupPackages.sellerAgencyId), isNull(topupPackages.archivedAt))).orderBy(asc(topupPackages.credits));
}

export const planSchema = z.object({
  code: z.string().trim().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'code: lower-case letters, digits and dashes.'),
  name: name('Name'),
  resellingModule: checkbox.default(false),
  includedChatbots: wholeNumber('includedChatbots', 0, 10_000).default(0),
  monthlyCredits: wholeNumber('monthlyCredits', 0, 1_000_000_000).default(0),
  priceMinor: wholeNumber('priceMinor', 0, MAX_PRICE_MINOR),
  currency,
});

/** Agency plans (what the platform sells agencies); billing them is the billing engine's work. */
export async function createPlan(deps: Deps, params: { actor: Actor; input: unknown }): Promise<PlatformPlan> {
  requireScope(params.actor, 'platform');
  requireRole(params.actor, 'admin');
  const input = parse(planSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.insert(platformPlans).values({ id: newId('pln'), ...input, createdAt: now, updatedAt: now }).onConflictDoNothing().returning();
    if (!row) throw errors.conflict('plan_code_taken', `A plan with code ${input.code} exists already.`);
    await recordAudit(tx, params.actor, { action: 'plan.created', targetType: 'plan', targetId: row.id, data: input }, now);
    return row;
  });
}

export async function listPlans(deps: Pick<Deps, 'db'>): Promise<PlatformPlan[]> {
  return deps.db.select().from(platformPlans).orderBy(asc(platformPlans.priceMinor));
}

export async function setChatbotSlotPrice(deps: Deps, params: { actor: Actor; input: unknown }): Promise<{ priceMinor: number; currency: string }> {
  requireScope(params.actor, 'platform');
  requireRole(params.actor, 'admin');
  const input = parse(z.object({ priceMinor: wholeNumber('priceMinor', 1, MAX_PRICE_MINOR), currency }), params.input);
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await tx.update(platform).set({ chatbotSlotPriceMinor: input.priceMinor, currency: input.currency, updatedAt: now });
    await recordAudit(tx, params.actor, { action: 'chatbot_slot_price.set', targetType: 'platform', targetId: null, data: input }, now);
  });
  return input;
}

export async function chatbotSlotPrice(deps: Pick<Deps, 'db'>): Promise<{ priceMinor: number; currency: string }> {
  const [row] = await deps.db.select({ priceMinor: platform.chatbotSlotPriceMinor, currency: platform.currency }).from(platform).limit(1);
  return { priceMinor: row?.priceMinor ?? 0, currency: row?.currency ?? 'USD' };
}

export const orderSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('topup'), topupPackageId: opaqueId, quantity: wholeNumber('quantity', 1, 100).default(1) }),
  z.object({ kind: z.literal('chatbot_slots'), quantity: wholeNumber('quantity', 1, 1000) }),
], { error: 'kind must be "topup" or "chatbot_slots".' });

/** An agency buys top-ups or chatbot slots from the platform; paid through the platform's gateway. */
export async function startAgencyOrder(deps: Deps, params: { actor: Actor; input: unknown; gateway: CheckoutStarter }): Promise<{ order: AgencyOrder; next: PaymentStart }> {
  const agencyId = agencyIdOf(params.actor);
  requireBilling(params.actor);
  const input = parse(orderSchema, params.input);
  let credits = 0;
  let amountMinor: number;
  let cur: (typeof currencies)[number];
  if (input.kind === 'topup') {
    const [pkg] = await deps.db.select().from(topupPackages).where(and(eq(topupPackages.id, input.topupPackageId), isNull(topupPackages.sellerAgencyId), isNull(topupPackages.archivedAt)));
    if (!pkg) throw errors.notFound('Top-up package');
    credits = pkg.credits * input.quantity;
    amountMinor = pkg.priceMinor * input.quantity;
    cur = pkg.currency;
  } else {
    const price = await chatbotSlotPrice(deps);
    if (price.priceMinor <= 0) throw new AppError('not_for_sale', 409, 'Chatbot slots are not for sale yet: the platform has not set their price.');
    amountMinor = price.priceMinor * input.quantity;
    cur = price.currency as (typeof currencies)[number];
  }
  const now = deps.clock.now();
  const { order, payment } = await deps.db.transaction(async (tx) => {
    const [o] = await tx.insert(agencyOrders).values({
      id: newId('ord'), agencyId, kind: input.kind, topupPackageId: input.kind === 'topup' ? input.topupPackageId : null, quantity: input.quantity, credits, amountMinor, currency: cur, createdAt: now,
    }).returning();
    const pay = await createPayment(tx, { sellerAgencyId: null, buyerAgencyId: agencyId, buyerSubAccountId: null, purpose: input.kind === 'topup' ? 'topup' : 'chatbot_slots', referenceId: o!.id, amountMinor, currency: cur, gateway: params.gateway.kind, gatewayAccountId: params.gateway.accountId ?? null }, now);
    return { order: o!, payment: pay };
  });
  return { order, next: await params.gateway.start(payment) };
}

/** Applies a confirmed agency order inside the payment's transaction: credits into the pool, or slots. */
export async function applyAgencyOrder(tx: Tx, orderId: string, now: Date): Promise<void> {
  const [o] = await tx.select().from(agencyOrders).where(eq(agencyOrders.id, orderId)).for('update');
  if (!o || o.status === 'applied') return;
  if (o.kind === 'topup') {
    const pool = await lockAccount(tx, { agencyId: o.agencyId, subAccountId: null }, now);
    await creditAccount(tx, pool, { amount: o.credits, source: 'topup', reason: 'grant', reference: `order:${o.id}`, idempotencyKey: `order:${o.id}`, note: 'Top-up bought from the platform' }, now);
  } else {
    await tx.update(agencies).set({ chatbotSlots: sql`${agencies.chatbotSlots} + ${o.quantity}`, updatedAt: now }).where(eq(agencies.id, o.agencyId));
  }
  await tx.update(agencyOrders).set({ status: 'applied', appliedAt: now }).where(eq(agencyOrders.id, o.id));
}

/** Settlement of an agency's orders from the platform: credit top-ups and chatbot slots (src/composition.ts). */
export const settleAgencyOrder: SettlementHandler = async (deps, input, payment) => {
  const now = deps.clock.now();
  const r = await settlePayment(deps, { ...input, onConfirmed: (tx, p) => applyAgencyOrder(tx, p.referenceId, now) });
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

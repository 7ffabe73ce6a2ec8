import { and, asc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { agencies, paymentMethods, subAccounts } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling } from '../auth/policies';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { parse } from '../lib/validation';
import { testCards, type TestCard } from './gateway';
import { gatewayOf, getGatewayAccount, type GatewayAccount } from './gateway-accounts';
import { rememberMethod } from './checkout-flow';

export type PaymentMethod = typeof paymentMethods.$inferSelect;

/** Who buys, and from whom: an agency buys from the platform, a sub-account from its agency. */
export interface Buyer {
  agencyId: string;
  subAccountId: string | null;
  /** The seller: null for the platform. */
  sellerAgencyId: string | null;
}

export function buyerOf(actor: Actor): Buyer {
  if (actor.scope === 'agency') return { agencyId: actor.agencyId!, subAccountId: null, sellerAgencyId: null };
  if (actor.scope === 'sub_account') return { agencyId: actor.agencyId!, subAccountId: actor.subAccountId!, sellerAgencyId: actor.agencyId! };
  throw errors.wrongScope('agency or sub-account');
}

const ownerIs = (buyer: Buyer) =>
  buyer.subAccountId ? eq(paymentMethods.buyerSubAccountId, buyer.subAccountId) : and(eq(paymentMethods.buyerAgencyId, buyer.agencyId), isNull(paymentMethods.buyerSubAccountId));

/** The buyer's saved methods usable with the seller's current payment system (default first). */
export async function listPaymentMethods(deps: Pick<Deps, 'db'>, buyer: Buyer): Promise<PaymentMethod[]> {
  const account = await getGatewayAccount(deps, buyer.sellerAgencyId);
  if (!account) return [];
  const rows = await deps.db
    .select()
    .from(paymentMethods)
    .where(and(ownerIs(buyer), eq(paymentMethods.gatewayAccountId, account.id), isNull(paymentMethods.deletedAt)))
    .orderBy(asc(paymentMethods.createdAt));
  return rows.sort((a, b) => Number(b.isDefault) - Number(a.isDefault));
}

export async function defaultPaymentMethod(deps: Pick<Deps, 'db'>, buyer: Buyer): Promise<PaymentMethod | undefined> {
  return (await listPaymentMethods(deps, buyer))[0];
}

async function sellerAccount(deps: Pick<Deps, 'db'>, buyer: Buyer): Promise<GatewayAccount> {
  const account = await getGatewayAccount(deps, buyer.sellerAgencyId);
  if (!account) throw new AppError('payments_not_configured', 409, 'Your provider has not set up a payment system, so no card can be saved yet.');
  return account;
}

export const testCardSchema = z.object({ testCard: z.enum(testCards) });

/**
 * Saves one of the sandbox's documented test cards (test mode only). Real cards are saved at the
 * gateway's own page when the buyer pays with "keep my card", never typed into Kontor.
 */
export async function addTestPaymentMethod(deps: Deps, params: { actor: Actor; input: unknown }): Promise<PaymentMethod> {
  requireBilling(params.actor);
  const buyer = buyerOf(params.actor);
  const { testCard } = parse(testCardSchema, params.input);
  const account = await sellerAccount(deps, buyer);
  if (account.mode !== 'test' || deps.config.sandboxUrl === null) throw new AppError('test_cards_unavailable', 409, 'Test cards exist only in test mode with the sandboxes.');
  const gateway = gatewayOf(deps, account);
  if (!gateway.canChargeOffSession) throw new AppError('off_session_unsupported', 409, 'This payment system cannot keep cards for later charges (a bank 3D payment needs the card holder each time).');
  const who = await buyerDetails(deps, buyer);
  const info = await gateway.saveTestCard({ id: buyer.subAccountId ?? buyer.agencyId, name: who.name, email: who.email }, testCard as TestCard);
  const id = await rememberMethod(deps, { buyerAgencyId: buyer.agencyId, buyerSubAccountId: buyer.subAccountId, gatewayAccountId: account.id, gateway: account.kind }, info);
  await recordAudit(deps.db, params.actor, { action: 'payment_method.added', targetType: 'payment_method', targetId: id, data: { brand: info.brand, last4: info.last4, testCard } }, deps.clock.now());
  const [row] = await deps.db.select().from(paymentMethods).where(eq(paymentMethods.id, id));
  return row!;
}

export async function removePaymentMethod(deps: Deps, params: { actor: Actor; id: string }): Promise<void> {
  requireBilling(params.actor);
  const buyer = buyerOf(params.actor);
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const [row] = await tx.select().from(paymentMethods).where(and(eq(paymentMethods.id, params.id), ownerIs(buyer), isNull(paymentMethods.deletedAt))).for('update');
    if (!row) throw errors.notFound('Payment method');
    await tx.update(paymentMethods).set({ deletedAt: now, isDefault: false }).where(eq(paymentMethods.id, row.id));
    if (row.isDefault) {
      const [next] = await tx.select().from(paymentMethods).where(and(ownerIs(buyer), eq(paymentMethods.gatewayAccountId, row.gatewayAccountId), isNull(paymentMethods.deletedAt))).orderBy(asc(paymentMethods.createdAt)).limit(1);
      if (next) await tx.update(paymentMethods).set({ isDefault: true }).where(eq(paymentMethods.id, next.id));
    }
    await recordAudit(tx, params.actor, { action: 'payment_method.removed', targetType: 'payment_method', targetId: row.id, data: { brand: row.brand, last4: row.last4 } }, now);
  });
}

/** Makes a saved method the one charged automatically. */
export async function makeDefaultPaymentMethod(deps: Deps, params: { actor: Actor; id: string }): Promise<void> {
  requireBilling(params.actor);
  const buyer = buyerOf(params.actor);
  await deps.db.transaction(async (tx) => {
    const [row] = await tx.select().from(paymentMethods).where(and(eq(paymentMethods.id, params.id), ownerIs(buyer), isNull(paymentMethods.deletedAt))).for('update');
    if (!row) throw errors.notFound('Payment method');
    await tx.update(paymentMethods).set({ isDefault: false }).where(and(ownerIs(buyer), eq(paymentMethods.gatewayAccountId, row.gatewayAccountId)));
    await tx.update(paymentMethods).set({ isDefault: true }).where(eq(paymentMethods.id, row.id));
  });
}

async function buyerDetails(deps: Pick<Deps, 'db'>, buyer: Buyer): Promise<{ name: string; email: string }> {
  if (buyer.subAccountId) {
    const [s] = await deps.db.select({ name: subAccounts.name, email: subAccounts.billingEmail }).from(subAccounts).where(eq(subAccounts.id, buyer.subAccountId));
    return { name: s?.name ?? '', email: s?.email ?? 'buyer@kontor.invalid' };
  }
  const [a] = await deps.db.select({ name: agencies.name, email: agencies.billingEmail }).from(agencies).where(eq(agencies.id, buyer.agencyId));
  return { name: a?.name ?? '', email: a?.email ?? 'buyer@kontor.invalid' };
}

export const paymentMethodJson = (m: PaymentMethod) => ({
  id: m.id, gateway: m.gateway, brand: m.brand, last4: m.last4, expMonth: m.expMonth, expYear: m.expYear, isDefault: m.isDefault, createdAt: m.createdAt.toISOString(),
});

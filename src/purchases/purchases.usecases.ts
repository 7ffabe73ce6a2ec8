// Resold packages: a sub-account buys one of its agency's packages; nothing is granted before the
// payment is confirmed; a confirmed payment is granted exactly once, and retried (never dropped)
// when the grant cannot be applied yet (for example the agency's pool is short).
import { defineJob } from '../queue/job';
import { and, desc, eq, gt, gte, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../../db/client';
import {
  agencies, creditLots, departments, offerVersions, payments, purchases, subAccountDepartments, subAccounts, subscriptions, users,
  type PurchaseStatus,
} from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling, requireRole } from '../auth/policies';
import { billingAccount } from '../billing/accounts';
import { issuePaymentInvoice } from '../billing/invoice-issue';
import { chargedBy, paymentTaxFields, quoteCheckout } from '../billing/checkout-amount';
import { deliverPaymentInvoice } from '../billing/invoice-delivery';
import { offerVersion } from '../catalog/offers';
import { addDays, calendarDay, daysBetween, nthAnniversary, startOfDayInstant } from '../billing/proration';
import { requireNotSuspended, suspendedAction } from '../suspension/suspension.usecases';
import { forfeitToPool, transferToSubAccount } from '../credits/credits.usecases';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { checkbox, opaqueId, parse } from '../lib/validation';
import { dispatchEmails } from '../mail/outbox';
import { notify } from '../notifications/notify';
import { getPackage, packageVersion, requireReselling, type PackageVersion } from '../catalog/resold-packages';
import type { CheckoutStarter, PaymentStart } from '../payments/gateway';
import { createPayment, settlePayment } from '../payments/payments.usecases';
import type { SettlementHandler } from '../payments/settlement';
import { ensureFunds } from '../auto-billing/charge';
import { getSubAccount, type SubAccount } from '../tenancy/sub-accounts.usecases';
import { purchaseEmail } from './purchase-email';
import { msg } from '../lib/message';
import { mailLanguage, mailWriter } from '../mail/language';
import { emitEvent } from '../webhooks/emit';

export const GRANT_PURCHASE_JOB = 'purchase.grant';
export const RENEWAL_WINDOW_DAYS = 30;
/** A second click on "buy" within this window reuses the pending purchase instead of a new one. */
const DOUBLE_SUBMIT_MS = 15 * 60_000;

export type Purchase = typeof purchases.$inferSelect;

/** What the sub-account holds now, for the rules. */
export interface HoldingState {
  activeSubscription: { id: string; endsAt: Date; packageId: string; chatbots: number } | null;
  purchasedCredits: number;
}

export async function holdings(db: Deps['db'] | Tx, subAccountId: string, now: Date): Promise<HoldingState> {
  const [sub] = await db
    .select({ id: subscriptions.id, endsAt: subscriptions.endsAt, packageId: subscriptions.packageId, chatbots: subscriptions.chatbots })
    .from(subscriptions)
    .where(and(eq(subscriptions.subAccountId, subAccountId), eq(subscriptions.status, 'active'), gt(subscriptions.endsAt, now)))
    .orderBy(desc(subscriptions.endsAt))
    .limit(1);
  const [lots] = await db
    .select({ n: sql<number>`coalesce(sum(${creditLots.remaining}), 0)::bigint` })
    .from(creditLots)
    .innerJoin(sql`credit_accounts a`, sql`a.id = ${creditLots.accountId}`)
    .where(and(sql`a.sub_account_id = ${subAccountId}`, eq(creditLots.source, 'purchase'), gt(creditLots.remaining, 0)));
  return { activeSubscription: sub ?? null, purchasedCredits: Number(lots?.n ?? 0) };
}

/**
 * The seed's rules, checked before payment: credit or subscription, never both (switching
 * forfeits the rest of the other type, only after an explicit confirmation); a subscription is
 * renewed only when 30 days or less remain.
 */
/** The seller's (agency's) time zone, in which a term's days are counted. */
async function sellerZone(deps: Deps, agencyId: string): Promise<string> {
  const [a] = await deps.db.select({ zone: agencies.timeZone }).from(agencies).where(eq(agencies.id, agencyId));
  return a?.zone ?? 'Europe/Istanbul';
}

export function checkPurchaseRules(version: Pick<PackageVersion, 'type'>, state: HoldingState, now: Date, confirmForfeit: boolean, zone: string): { forfeits: string | null } {
  if (version.type === 'subscription' && state.activeSubscription) {
    // Calendar days in the seller's zone (DESIGN section 4): the term's last day is the day before
    // it ends; renewal is allowed on day D when (last day - D) <= 30.
    const lastDay = calendarDay(new Date(state.activeSubscription.endsAt.getTime() - 1), zone);
    if (daysBetween(calendarDay(now, zone), lastDay) > RENEWAL_WINDOW_DAYS) {
      const renewableFrom = addDays(lastDay, -RENEWAL_WINDOW_DAYS);
      throw new AppError('renewal_too_early', 409, msg('errors:purchase.renewalTooEarly', { days: RENEWAL_WINDOW_DAYS, from: renewableFrom }), { renewableFrom });
    }
  }
  let forfeits: string | null = null;
  if (version.type === 'credit' && state.activeSubscription) forfeits = 'Buying a credit package ends your subscription now; its remaining monthly credits are forfeited.';
  if (version.type === 'subscription' && !state.activeSubscription && state.purchasedCredits > 0) {
    forfeits = msg('errors:purchase.forfeitsCredits', { credits: state.purchasedCredits });
  }
  if (forfeits && !confirmForfeit) throw new AppError('forfeit_confirmation_required', 409, forfeits, { forfeits });
  return { forfeits };
}

export const buySchema = z.object({ packageId: opaqueId, confirmForfeit: checkbox.default(false) });

export interface StartedPurchase {
  purchase: Purchase;
  next: PaymentStart;
}

/** The portal's buy button: records the purchase and its pending payment; returns where to pay. */
export async function startPurchase(deps: Deps, params: { actor: Actor; input: unknown; gateway: CheckoutStarter }): Promise<StartedPurchase> {
  const { actor } = params;
  if (actor.scope !== 'sub_account') throw errors.wrongScope('sub-account');
  requireBilling(actor);
  const input = parse(buySchema, params.input);
  const pkg = await getPackage(deps, { actor, packageId: input.packageId });
  const now = deps.clock.now();
  checkPurchaseRules(pkg.version, await holdings(deps.db, actor.subAccountId!, now), now, input.confirmForfeit, await sellerZone(deps, actor.agencyId!));
  const { purchase, payment } = await deps.db.transaction(async (tx) => {
    // Serialise this sub-account's purchases: a double submit finds the first one.
    await tx.select({ id: subAccounts.id }).from(subAccounts).where(eq(subAccounts.id, actor.subAccountId!)).for('update');
    await requireNotSuspended({ db: tx, clock: deps.clock }, await billingAccount(tx, actor.agencyId!, actor.subAccountId!), suspendedAction.buying(pkg.version.name));
    const [recent] = await tx
      .select()
      .from(purchases)
      .where(and(eq(purchases.subAccountId, actor.subAccountId!), eq(purchases.packageVersionId, pkg.version.id), eq(purchases.status, 'pending_payment'), gte(purchases.createdAt, new Date(now.getTime() - DOUBLE_SUBMIT_MS))))
      .orderBy(desc(purchases.createdAt))
      .limit(1);
    if (recent) {
      const [p] = await tx.select().from(payments).where(and(eq(payments.purpose, 'package_purchase'), eq(payments.referenceId, recent.id)));
      return { purchase: recent, payment: p! };
    }
    const row = await insertPurchase(tx, { actor, version: pkg.version, method: params.gateway.kind, now });
    // The amount charged is computed here, never taken from the form (docs/tax.md).
    const amount = await purchaseAmount(tx, row);
    const pay = await createPayment(tx, {
      sellerAgencyId: row.agencyId, buyerAgencyId: row.agencyId, buyerSubAccountId: row.subAccountId, purpose: 'package_purchase', referenceId: row.id,
      ...paymentTaxFields(amount), currency: row.currency, gateway: params.gateway.kind, gatewayAccountId: params.gateway.accountId ?? null,
    }, now);
    return { purchase: row, payment: pay };
  });
  return { purchase, next: await params.gateway.start(payment) };
}

async function insertPurchase(tx: Tx, params: { actor: Actor; version: PackageVersion; method: string; now: Date; subAccountId?: string; status?: PurchaseStatus; idempotencyKey?: string | null }): Promise<Purchase> {
  const v = params.version;
  const [row] = await tx
    .insert(purchases)
    .values({
      id: newId('pur'), agencyId: v.agencyId, subAccountId: params.subAccountId ?? params.actor.subAccountId!, packageId: v.packageId, packageVersionId: v.id,
      type: v.type, priceMinor: v.priceMinor, currency: v.currency, status: params.status ?? 'pending_payment', paymentMethod: params.method,
      buyerUserId: params.actor.kind === 'user' ? params.actor.id : null, idempotencyKey: params.idempotencyKey ?? null, paidAt: params.status === 'paid' ? params.now : null, createdAt: params.now, updatedAt: params.now,
    })
    .returning();
  return row!;
}

/** What a purchase charges: its version's price, with tax added for a seller whose prices exclude it. */
async function purchaseAmount(tx: Tx, row: Purchase) {
  const version = await offerVersion(tx, row.packageVersionId);
  return quoteCheckout(tx, { buyerAgencyId: row.agencyId, buyerSubAccountId: row.subAccountId, rateBp: version?.taxRateBp ?? null, unitPriceMinor: row.priceMinor });
}

/** The id of a purchase's payment (one per purchase: payments_reference_key). */
async function paymentOfPurchase(deps: Pick<Deps, 'db'>, purchaseId: string): Promise<string | null> {
  const [p] = await deps.db.select({ id: payments.id }).from(payments).where(and(eq(payments.purpose, 'package_purchase'), eq(payments.referenceId, purchaseId)));
  return p?.id ?? null;
}

/** Marks the purchase paid inside the payment's confirming transaction. */
export async function markPurchasePaid(tx: Tx, payment: typeof payments.$inferSelect, now: Date): Promise<void> {
  const [p] = await tx.update(purchases).set({ status: 'paid', paidAt: now, updatedAt: now }).where(and(eq(purchases.id, payment.referenceId), eq(purchases.status, 'pending_payment'))).returning();
  if (p) await emitPurchaseCompleted(tx, p, payment, now);
}

/** purchase.completed for a paid package purchase (by the gateway or recorded by the agency): what its payment charged. */
function emitPurchaseCompleted(tx: Tx, p: Purchase, payment: typeof payments.$inferSelect, now: Date) {
  const { totalMinor, ...charged } = chargedBy(payment);
  return emitEvent(tx, { type: 'purchase.completed', at: now, data: { account: { agencyId: p.agencyId, subAccountId: p.subAccountId }, purchaseId: p.id, kind: 'package', packageId: p.packageId, amountMinor: totalMinor, ...charged, currency: p.currency, paidAt: now.toISOString() } });
}

/** The paid invoice of a purchase's payment (one per payment), in the settlement transaction. */
async function invoicePurchase(tx: Tx, payment: typeof payments.$inferSelect, now: Date): Promise<void> {
  const [purchase] = await tx.select().from(purchases).where(eq(purchases.id, payment.referenceId));
  if (!purchase) return;
  const version = await offerVersion(tx, purchase.packageVersionId);
  await issuePaymentInvoice(tx, {
    payment, now,
    lines: [{ kind: 'purchase', description: version?.name ?? purchase.packageId, quantity: 1, unitPriceMinor: purchase.priceMinor, amountMinor: purchase.priceMinor, rateBp: version?.taxRateBp ?? null }],
  });
}

/**
 * A payment callback for a purchase: confirmed -> paid -> granted (here, or by the retry job);
 * declined -> payment_failed, nothing granted. Replays change nothing.
 */
export async function settlePurchasePayment(
  deps: Deps,
  params: { paymentId: string; approved: boolean; reason?: string; raw: Record<string, unknown>; amountMinor?: number; currency?: string; gatewayReference?: string },
): Promise<{ outcome: string; purchaseId: string; grant: 'granted' | 'waiting' | null }> {
  const result = await settlePayment(deps, {
    ...params,
    onConfirmed: async (tx, payment) => {
      if (payment.purpose !== 'package_purchase') throw errors.badRequest('wrong_payment', 'This payment is not for a package purchase.');
      await markPurchasePaid(tx, payment, deps.clock.now());
      await invoicePurchase(tx, payment, deps.clock.now());
    },
  });
  const purchaseId = result.payment.referenceId;
  if (result.outcome === 'confirmed') await deliverPaymentInvoice(deps, result.payment.id);
  if (result.outcome === 'failed') {
    await deps.db.update(purchases).set({ status: 'payment_failed', updatedAt: deps.clock.now() }).where(and(eq(purchases.id, purchaseId), eq(purchases.status, 'pending_payment')));
  }
  const grant = result.outcome === 'confirmed' ? await grantOrQueue(deps, purchaseId) : null;
  return { outcome: result.outcome, purchaseId, grant };
}

/** Settlement of `package_purchase` payments (registered in src/composition.ts). */
export const settlePurchase: SettlementHandler = async (deps, input) => {
  const r = await settlePurchasePayment(deps, input);
  return { outcome: r.outcome, referenceId: r.purchaseId, grant: r.grant };
};

/** Tries the grant now; on failure the purchase stays paid and the tick retries it every minute. */
export async function grantOrQueue(deps: Deps, purchaseId: string): Promise<'granted' | 'waiting'> {
  const outcome = await grantPurchase(deps, purchaseId);
  return outcome === 'granted' || outcome === 'already' ? 'granted' : 'waiting';
}

/** Paid purchases not granted yet, last tried before `before`. */
export async function paidPurchaseIds(db: Deps['db'], before: Date): Promise<string[]> {
  const rows = await db.select({ id: purchases.id }).from(purchases).where(and(eq(purchases.status, 'paid'), lt(purchases.updatedAt, before))).limit(500);
  return rows.map((r) => r.id);
}

export const offlineSchema = z.object({
  packageId: opaqueId,
  payment: z.literal('offline', { error: 'payment must be "offline" (a payment received outside Kontor).' }),
  confirmForfeit: checkbox.default(false),
});

/** The agency records a purchase it was paid for outside Kontor (a bank transfer) and applies it. */
export async function recordOfflinePurchase(deps: Deps, params: { actor: Actor; subAccountId: string; input: unknown; idempotencyKey?: string | null }): Promise<Purchase> {
  const { actor } = params;
  requireRole(actor, 'admin');
  await requireReselling(deps, actor);
  const sub = await getSubAccount(deps, { actor, subAccountId: params.subAccountId });
  const input = parse(offlineSchema, params.input);
  const key = params.idempotencyKey ? parse(z.string().min(1).max(200), params.idempotencyKey) : null;
  if (key) {
    // A retried request (same Idempotency-Key) answers the purchase it already recorded.
    const [prior] = await deps.db.select().from(purchases).where(and(eq(purchases.subAccountId, sub.id), eq(purchases.idempotencyKey, key)));
    if (prior) return prior;
  }
  const pkg = await getPackage(deps, { actor, packageId: input.packageId });
  const now = deps.clock.now();
  checkPurchaseRules(pkg.version, await holdings(deps.db, sub.id, now), now, input.confirmForfeit, await sellerZone(deps, sub.agencyId));
  const purchase = await deps.db.transaction(async (tx) => {
    // Serialise this sub-account's recordings: a double submit with the same key waits for the
    // first and answers its purchase (below), never a second purchase and invoice.
    await tx.select({ id: subAccounts.id }).from(subAccounts).where(eq(subAccounts.id, sub.id)).for('update');
    if (key) {
      const [prior] = await tx.select().from(purchases).where(and(eq(purchases.subAccountId, sub.id), eq(purchases.idempotencyKey, key)));
      if (prior) return prior;
    }
    const row = await insertPurchase(tx, { actor, version: pkg.version, method: 'offline', now, subAccountId: sub.id, status: 'paid', idempotencyKey: key });
    const pay = await createPayment(tx, {
      sellerAgencyId: row.agencyId, buyerAgencyId: row.agencyId, buyerSubAccountId: row.subAccountId, purpose: 'package_purchase', referenceId: row.id,
      ...paymentTaxFields(await purchaseAmount(tx, row)), currency: row.currency, gateway: 'offline',
    }, now);
    const [paid] = await tx.update(payments).set({ status: 'confirmed', confirmedAt: now }).where(eq(payments.id, pay.id)).returning();
    // Its paid invoice, in this transaction: one per purchase (its one payment, the unique key
    // invoices_purchase_payment_key), marked paid "offline, recorded by the seller" (docs/tax.md).
    await invoicePurchase(tx, paid!, now);
    await recordAudit(tx, actor, { action: 'purchase.recorded_offline', targetType: 'purchase', targetId: row.id, subAccountId: sub.id, data: { packageId: pkg.id } }, now);
    await emitPurchaseCompleted(tx, row, paid!, now);
    return row;
  });
  const paymentId = await paymentOfPurchase(deps, purchase.id);
  if (paymentId) await deliverPaymentInvoice(deps, paymentId);
  await grantOrQueue(deps, purchase.id);
  const [fresh] = await deps.db.select().from(purchases).where(eq(purchases.id, purchase.id));
  return fresh!;
}

export type GrantOutcome = 'granted' | 'already' | 'not_paid' | 'failed';

/**
 * Applies a paid purchase, once: forfeits the other type, moves credits (and chatbots) out of the
 * pool, starts or renews the subscription, enables departments, queues the emails. If it cannot
 * (pool or chatbot slots short), nothing is applied, the attempt is recorded and the agency told.
 */
export async function grantPurchase(deps: Deps, purchaseId: string, autoBilled = false): Promise<GrantOutcome> {
  const now = deps.clock.now();
  try {
    const mailIds = await deps.db.transaction(async (tx) => {
      const [p] = await tx.select().from(purchases).where(eq(purchases.id, purchaseId)).for('update');
      if (!p) throw errors.notFound('Purchase');
      if (p.status === 'granted') return 'already' as const;
      if (p.status !== 'paid') return 'not_paid' as const;
      const v = await packageVersion(tx, p.packageVersionId);
      const [agency] = await tx.select().from(agencies).where(eq(agencies.id, p.agencyId)).for('update');
      const zone = agency!.timeZone;
      const ids: (string | null)[] = [];
      const state = await holdings(tx, p.subAccountId, now);

      if (v!.type === 'credit' && state.activeSubscription) await endSubscriptions(tx, p, 'forfeited', now);
      if (v!.type === 'subscription' && !state.activeSubscription && state.purchasedCredits > 0) await forfeitPurchasedCredits(tx, p, now);

      // A renewal takes over the current term's chatbots (allocated once, not twice): only the
      // difference is allocated or released, and the current term stops holding them.
      const renewal = v!.type === 'subscription' && state.activeSubscription ? state.activeSubscription : null;
      await allocateChatbots(tx, p, renewal ? v!.chatbots - renewal.chatbots : v!.chatbots, agency!.chatbotSlots);
      if (renewal && renewal.chatbots > 0) await tx.update(subscriptions).set({ chatbots: 0, updatedAt: now }).where(eq(subscriptions.id, renewal.id));
      if (v!.type === 'credit') {
        if (v!.credits > 0) {
          const r = await transferToSubAccount(tx, { agencyId: p.agencyId, subAccountId: p.subAccountId, credits: v!.credits, source: 'purchase', reason: 'grant', reference: `purchase:${p.id}`, idempotencyKey: `purchase:${p.id}` }, now);
          ids.push(...r.mailIds);
        }
      } else {
        // A renewal starts where the current term ends; a first subscription starts now.
        const startsAt = state.activeSubscription ? state.activeSubscription.endsAt : now;
        const startDay = calendarDay(startsAt, zone);
        const endsAt = startOfDayInstant(nthAnniversary(startDay, v!.termMonths!), zone);
        const subscriptionId = newId('sbs');
        await tx.insert(subscriptions).values({
          id: subscriptionId, agencyId: p.agencyId, subAccountId: p.subAccountId, packageId: p.packageId, packageVersionId: v!.id, purchaseId: p.id,
          monthlyCredits: v!.credits, chatbots: v!.chatbots, departmentIds: v!.departmentIds, startDay, startsAt, endsAt,
          nextGrantIndex: 0, nextGrantAt: startsAt, createdAt: now, updatedAt: now,
        });
        if (startsAt <= now) ids.push(...(await grantSubscriptionMonth(tx, subscriptionId, zone, now)));
      }
      await tx.update(purchases).set({ status: 'granted', grantedAt: now, grantAttempts: sql`${purchases.grantAttempts} + 1`, lastGrantError: null, updatedAt: now }).where(eq(purchases.id, p.id));
      // Departments: after a type switch only what is held now; then this package's own.
      await syncPackageDepartments(tx, p.agencyId, p.subAccountId, now);
      await enableDepartments(tx, p, v!.departmentIds, now);
      ids.push(await purchaseEmail(tx, { purchase: p, version: v!, agency: agency!, now }));
      return ids;
    });
    if (typeof mailIds === 'string') return mailIds;
    await dispatchEmails(deps.queue, mailIds);
    return 'granted';
  } catch (err) {
    if (!(err instanceof AppError) || !['insufficient_credits', 'insufficient_chatbots'].includes(err.code)) throw err;
    // The agency's pool or chatbot slots are short: auto-billing (when on) buys the shortfall from
    // the platform, then the grant goes on. Otherwise (or if buying fails) it waits, retried.
    let reason = err.message;
    if (!autoBilled) {
      try {
        const needs = await purchaseNeeds(deps, purchaseId, now);
        if (needs && (await ensureFunds(deps, { owner: { agencyId: needs.agencyId, subAccountId: null }, credits: needs.credits, chatbots: needs.chatbots, trigger: 'purchase', reference: `purchase:${purchaseId}` })) === 'covered') {
          return grantPurchase(deps, purchaseId, true);
        }
      } catch (billingErr) {
        if (!(billingErr instanceof AppError)) throw billingErr;
        reason = msg('errors:purchase.grantFailedAutoBilling', { reason: err.message, autoBilling: billingErr.message });
      }
    }
    await recordGrantFailure(deps, purchaseId, reason, now);
    return 'failed';
  }
}

/** What granting a paid purchase takes out of its agency now: pool credits and free chatbot slots. */
async function purchaseNeeds(deps: Deps, purchaseId: string, now: Date): Promise<{ agencyId: string; credits: number; chatbots: number } | null> {
  const [p] = await deps.db.select().from(purchases).where(eq(purchases.id, purchaseId));
  if (!p) return null;
  const v = await packageVersion(deps.db, p.packageVersionId);
  if (!v) return null;
  const state = await holdings(deps.db, p.subAccountId, now);
  const renewal = v.type === 'subscription' && state.activeSubscription ? state.activeSubscription : null;
  // A renewal starts later: its first month is granted then (by the monthly grants).
  const credits = renewal ? 0 : v.credits;
  return { agencyId: p.agencyId, credits, chatbots: Math.max(0, renewal ? v.chatbots - renewal.chatbots : v.chatbots) };
}

async function recordGrantFailure(deps: Deps, purchaseId: string, message: string, now: Date) {
  const mailId = await deps.db.transaction(async (tx) => {
    const [p] = await tx.update(purchases).set({ grantAttempts: sql`${purchases.grantAttempts} + 1`, lastGrantError: message, updatedAt: now }).where(eq(purchases.id, purchaseId)).returning();
    if (!p || p.grantAttempts !== 1) return null; // the agency is told once, on the first failure
    const [agency] = await tx.select().from(agencies).where(eq(agencies.id, p.agencyId));
    const inApp = { message: msg('email:notice.grantFailed', { reason: message }), data: { purchaseId } };
    const notice = { category: 'purchases', kind: 'purchase_grant_failed', account: { agencyId: p.agencyId, subAccountId: null }, at: now, inApp } as const;
    if (!agency?.billingEmail) return notify(tx, notice);
    // Names, never ids: the client and the package it paid for.
    const [what] = await tx.select({ client: subAccounts.name, pkg: offerVersions.name }).from(purchases)
      .innerJoin(subAccounts, eq(subAccounts.id, purchases.subAccountId)).innerJoin(offerVersions, eq(offerVersions.id, purchases.packageVersionId)).where(eq(purchases.id, p.id));
    const w = mailWriter(await mailLanguage(tx, agency.id, [agency.billingEmail]), agency.timeZone);
    const who = what ? w.t('email:grantFailed.who', { client: what.client, pkg: what.pkg }) : w.t('email:grantFailed.someone');
    return notify(tx, { ...notice, email: {
      idempotencyKey: `grant-failed:${p.id}`,
      message: {
        to: [agency.billingEmail], cc: agency.ccEmails, subject: w.t('email:grantFailed.subject'),
        text: w.t('email:grantFailed.body', { who, reason: w.text(message) }),
      },
    } });
  });
  await dispatchEmails(deps.queue, [mailId]);
}

/** Allocates (or, when negative, releases) chatbots of the agency's slots to the sub-account. */
async function allocateChatbots(tx: Tx, p: Purchase, chatbots: number, slots: number) {
  if (chatbots === 0) return;
  if (chatbots < 0) {
    await tx.update(subAccounts).set({ chatbots: sql`greatest(${subAccounts.chatbots} + ${chatbots}, 0)` }).where(eq(subAccounts.id, p.subAccountId));
    return;
  }
  const [used] = await tx.select({ n: sql<number>`coalesce(sum(${subAccounts.chatbots}), 0)::int` }).from(subAccounts).where(eq(subAccounts.agencyId, p.agencyId));
  const free = slots - Number(used?.n ?? 0);
  if (free < chatbots) throw new AppError('insufficient_chatbots', 402, msg('errors:purchase.chatbotSlotsShort', { free, needed: chatbots }));
  await tx.update(subAccounts).set({ chatbots: sql`${subAccounts.chatbots} + ${chatbots}` }).where(eq(subAccounts.id, p.subAccountId));
}

/** Grants month `next_grant_index` of a subscription from the pool; the previous monthly lot expires now. */
export async function grantSubscriptionMonth(tx: Tx, subscriptionId: string, zone: string, now: Date): Promise<(string | null)[]> {
  const [s] = await tx.select().from(subscriptions).where(eq(subscriptions.id, subscriptionId)).for('update');
  if (!s || s.status !== 'active' || !s.nextGrantAt || s.nextGrantAt > now) return [];
  const index = s.nextGrantIndex;
  const nextAt = startOfDayInstant(nthAnniversary(s.startDay, index + 1), zone);
  const expiresAt = nextAt < s.endsAt ? nextAt : s.endsAt;
  const grantedAt = s.nextGrantAt;
  const claimed = await tx.execute(sql`insert into subscription_grants (subscription_id, period_index, agency_id, credits, granted_at)
    values (${s.id}, ${index}, ${s.agencyId}, ${s.monthlyCredits}, ${grantedAt.toISOString()}::timestamptz) on conflict do nothing returning subscription_id`);
  const mailIds: (string | null)[] = [];
  if ((Array.isArray(claimed) ? claimed : (claimed as { rows: unknown[] }).rows).length > 0 && s.monthlyCredits > 0) {
    const r = await transferToSubAccount(tx, {
      agencyId: s.agencyId, subAccountId: s.subAccountId, credits: s.monthlyCredits, source: 'monthly_grant', reason: 'grant',
      reference: `subscription:${s.id}:${index}`, idempotencyKey: `subscription:${s.id}:${index}`, expiresAt,
    }, grantedAt > now ? now : grantedAt);
    mailIds.push(...r.mailIds);
  }
  await tx.update(subscriptions).set({ nextGrantIndex: index + 1, nextGrantAt: nextAt < s.endsAt ? nextAt : null, updatedAt: now }).where(eq(subscriptions.id, s.id));
  return mailIds;
}

/** Ends the sub-account's active subscriptions now; their unused monthly credits go back to the pool. */
async function endSubscriptions(tx: Tx, p: Purchase, status: 'forfeited' | 'ended', now: Date) {
  const active = await tx.select().from(subscriptions).where(and(eq(subscriptions.subAccountId, p.subAccountId), eq(subscriptions.status, 'active')));
  for (const s of active) {
    await tx.update(subscriptions).set({ status, endsAt: now < s.endsAt ? now : s.endsAt, nextGrantAt: null, updatedAt: now }).where(eq(subscriptions.id, s.id));
    if (s.chatbots > 0) await tx.update(subAccounts).set({ chatbots: sql`greatest(${subAccounts.chatbots} - ${s.chatbots}, 0)` }).where(eq(subAccounts.id, s.subAccountId));
  }
  await returnLots(tx, p, 'monthly_grant', now);
}

async function forfeitPurchasedCredits(tx: Tx, p: Purchase, now: Date) {
  await returnLots(tx, p, 'purchase', now);
}

/** A package type switch forfeits what is left of the other type (src/credits: forfeitToPool). */
async function returnLots(tx: Tx, p: Purchase, source: 'purchase' | 'monthly_grant', now: Date) {
  await forfeitToPool(tx, { agencyId: p.agencyId, subAccountId: p.subAccountId, source, reference: `purchase:${p.id}`, poolReference: `forfeit:${p.id}`, note: 'credits:note.forfeited' }, now);
}

/**
 * For agencies that restrict departments to packages: a sub-account keeps exactly the departments
 * of what it holds now (its active subscriptions, or its credit packages while it lives on credit
 * packages). Called after a forfeit and when a term ends.
 */
export async function syncPackageDepartments(tx: Tx, agencyId: string, subAccountId: string, now: Date): Promise<void> {
  const [agency] = await tx.select({ restrict: agencies.restrictDepartmentsToPackages }).from(agencies).where(eq(agencies.id, agencyId));
  if (!agency?.restrict) return;
  const state = await holdings(tx, subAccountId, now);
  const covered = new Set<string>();
  if (state.activeSubscription) {
    const subs = await tx.select({ ids: subscriptions.departmentIds }).from(subscriptions).where(and(eq(subscriptions.subAccountId, subAccountId), eq(subscriptions.status, 'active'), gt(subscriptions.endsAt, now)));
    subs.forEach((r) => r.ids.forEach((id) => covered.add(id)));
  } else if (state.purchasedCredits > 0) {
    const bought = await tx
      .select({ ids: offerVersions.departmentIds })
      .from(purchases)
      .innerJoin(offerVersions, eq(offerVersions.id, purchases.packageVersionId))
      .where(and(eq(purchases.subAccountId, subAccountId), eq(purchases.status, 'granted'), eq(purchases.type, 'credit')));
    bought.forEach((r) => r.ids.forEach((id) => covered.add(id)));
  }
  const enabled = await tx.select({ id: subAccountDepartments.departmentId }).from(subAccountDepartments).where(eq(subAccountDepartments.subAccountId, subAccountId));
  const drop = enabled.map((e) => e.id).filter((id) => !covered.has(id));
  if (drop.length) await tx.delete(subAccountDepartments).where(and(eq(subAccountDepartments.subAccountId, subAccountId), inArray(subAccountDepartments.departmentId, drop)));
}

async function enableDepartments(tx: Tx, p: Purchase, ids: string[], now: Date) {
  if (ids.length === 0) return;
  const live = await tx.select({ id: departments.id }).from(departments).where(and(eq(departments.agencyId, p.agencyId), inArray(departments.id, ids), isNull(departments.archivedAt)));
  if (live.length === 0) return;
  await tx.insert(subAccountDepartments).values(live.map((d) => ({ agencyId: p.agencyId, subAccountId: p.subAccountId, departmentId: d.id, createdAt: now }))).onConflictDoNothing();
}

export interface PurchaseRow extends Purchase {
  packageName: string;
  subAccountName: string;
  buyerEmail: string | null;
  /** For subscriptions: the term this purchase paid for. */
  subscription: { status: string; startsAt: Date; endsAt: Date; nextGrantAt: Date | null } | null;
}

export const purchaseFilterSchema = z.object({
  status: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['pending_payment', 'paid', 'granted', 'payment_failed']).optional()),
  subAccountId: z.preprocess((v) => (v === '' ? undefined : v), opaqueId.optional()),
});

/**
 * Purchases the actor may see: an agency's (all, or one sub-account's), or a sub-account's own;
 * newest first, at most `limit` (500), after the purchase `before` (of the same agency) if given.
 */
export async function listPurchases(deps: Pick<Deps, 'db'>, params: { actor: Actor; subAccountId?: string; filter?: unknown; limit?: number; before?: string; sub?: SubAccount }): Promise<PurchaseRow[]> {
  const { actor } = params;
  requireBilling(actor);
  const filter = parse(purchaseFilterSchema, params.filter ?? {});
  const subId = params.subAccountId ?? filter.subAccountId;
  // `sub`: the caller's own read of that sub-account with this actor (not read again).
  const known = subId && params.sub?.id === subId && actor.scope === 'agency' && params.sub.agencyId === actor.agencyId;
  if (subId && !known) await getSubAccount(deps, { actor, subAccountId: subId });
  else if (actor.scope === 'platform') throw errors.wrongScope('agency or sub-account');
  const rows = await deps.db
    .select({ p: purchases, packageName: offerVersions.name, subAccountName: subAccounts.name, buyerEmail: users.email, s: subscriptions })
    .from(purchases)
    .leftJoin(subscriptions, eq(subscriptions.purchaseId, purchases.id))
    .innerJoin(offerVersions, eq(offerVersions.id, purchases.packageVersionId))
    .innerJoin(subAccounts, eq(subAccounts.id, purchases.subAccountId))
    .leftJoin(users, eq(users.id, purchases.buyerUserId))
    .where(and(
      eq(purchases.agencyId, actor.agencyId!),
      actor.scope === 'sub_account' ? eq(purchases.subAccountId, actor.subAccountId!) : subId ? eq(purchases.subAccountId, subId) : undefined,
      filter.status ? eq(purchases.status, filter.status) : ne(purchases.status, 'pending_payment'),
      params.before ? sql`(${purchases.createdAt}, ${purchases.id}) < (select c.created_at, c.id from ${purchases} c where c.id = ${params.before} and c.agency_id = ${actor.agencyId!})` : undefined,
    ))
    .orderBy(desc(purchases.createdAt), desc(purchases.id))
    .limit(Math.min(params.limit ?? 500, 500));
  return rows.map((r) => ({
    ...r.p, packageName: r.packageName, subAccountName: r.subAccountName, buyerEmail: r.buyerEmail,
    subscription: r.s ? { status: r.s.status, startsAt: r.s.startsAt, endsAt: r.s.endsAt, nextGrantAt: r.s.nextGrantAt } : null,
  }));
}

export interface PackageState {
  /** Which kind of package the account lives on now (the seed's either/or rule). */
  using: 'credit' | 'subscription' | null;
  chatbots: number;
  subscription: { id: string; packageId: string; startsAt: Date; endsAt: Date; nextGrantAt: Date | null; monthlyCredits: number } | null;
}

export async function packageState(deps: Pick<Deps, 'db' | 'clock'>, subAccountId: string): Promise<PackageState> {
  const now = deps.clock.now();
  const state = await holdings(deps.db, subAccountId, now);
  const [sub] = state.activeSubscription
    ? await deps.db.select().from(subscriptions).where(eq(subscriptions.subAccountId, subAccountId)).orderBy(desc(subscriptions.endsAt)).limit(1)
    : [];
  const [row] = await deps.db.select({ chatbots: subAccounts.chatbots }).from(subAccounts).where(eq(subAccounts.id, subAccountId));
  return {
    using: state.activeSubscription ? 'subscription' : state.purchasedCredits > 0 ? 'credit' : null,
    chatbots: row?.chatbots ?? 0,
    subscription: sub ? { id: sub.id, packageId: sub.packageId, startsAt: sub.startsAt, endsAt: sub.endsAt, nextGrantAt: sub.nextGrantAt, monthlyCredits: sub.monthlyCredits } : null,
  };
}

/** A paid purchase not granted yet (pool short, crash): tried again; it is never dropped. */
export const grantPurchaseJob = defineJob({
  name: GRANT_PURCHASE_JOB,
  payload: z.object({ purchaseId: z.string().min(1) }),
  handle: (deps, { purchaseId }) => grantPurchase(deps, purchaseId),
});

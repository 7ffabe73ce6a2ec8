// Subscription actions on the billing engine (DESIGN section 6): start, cancel, reactivate,
// change, the seller's refund of a term, and extra chatbot sessions. Every action is one
// transaction under the buyer's lock (its sub-account or agency row), changes billed days only
// from "today" in the seller's time zone on, and writes the audit log. Term purchases are
// invoiced in the same transaction; the invoice is delivered (PDF, email, collection) by a job.
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../../db/client';
import { accountCharges, agencies, billingPeriods, billingSubscriptions, invoices, offers, subAccounts } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling, requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { formatMoney } from '../lib/money';
import { checkbox, opaqueId, parse, wholeNumber } from '../lib/validation';
import { billingAccount, buyerAccount, type BillingAccount } from './accounts';
import { extraSessionOffers, getBillingPackage, type BillingPackage } from '../catalog/billing-offers';
import { entitlementsOn, hasChatbotPackage, type Entitlements } from './entitlements';
import { issueTermInvoice } from './invoices.usecases';
import { dispatchInvoiceDelivery } from './invoice-delivery';
import { kontorText } from './line-text';
import { creditWholeInvoice } from './credit-notes.usecases';
import { dispatchEmails } from '../mail/outbox';
import { addDays, calendarDay, extraSessionExpiry, termEndDay, termMonthOn, termPrice, type TermMonths } from './proration';
import { requireNotSuspended, suspendedAction } from '../suspension/suspension.usecases';
import { msg } from '../lib/message';
import { emitEvent } from '../webhooks/emit';

export type BillingSubscription = typeof billingSubscriptions.$inferSelect;
export type BillingPeriod = typeof billingPeriods.$inferSelect;
export interface SubscriptionView extends BillingSubscription {
  periods: { fromDay: string; throughDay: string | null }[];
}

const conflict = (code: string, message: string, details?: Record<string, unknown>) => new AppError(code, 409, message, details);

/** Serialises one buyer's billing actions (double clicks, two tabs). */
async function lockBuyer(tx: Tx, account: BillingAccount): Promise<void> {
  if (account.subAccountId) await tx.select({ id: subAccounts.id }).from(subAccounts).where(eq(subAccounts.id, account.subAccountId)).for('update');
  else await tx.select({ id: agencies.id }).from(agencies).where(eq(agencies.id, account.agencyId)).for('update');
}

/** The account's subscriptions (newest first) with their periods. */
export async function accountSubscriptions(db: Deps['db'] | Tx, accountId: string): Promise<SubscriptionView[]> {
  const subs = await db.select().from(billingSubscriptions).where(eq(billingSubscriptions.buyerId, accountId)).orderBy(asc(billingSubscriptions.createdAt), asc(billingSubscriptions.id));
  if (subs.length === 0) return [];
  const periods = await db
    .select({ subscriptionId: billingPeriods.subscriptionId, fromDay: billingPeriods.fromDay, throughDay: billingPeriods.throughDay })
    .from(billingPeriods)
    .where(inArray(billingPeriods.subscriptionId, subs.map((s) => s.id)))
    .orderBy(asc(billingPeriods.fromDay));
  return subs.map((s) => ({ ...s, periods: periods.filter((p) => p.subscriptionId === s.id).map((p) => ({ fromDay: p.fromDay, throughDay: p.throughDay })) }));
}

/** One of the caller's subscriptions; another account's id is not found. */
async function ownSubscription(tx: Tx, account: BillingAccount, id: string): Promise<SubscriptionView> {
  const [row] = await tx.select().from(billingSubscriptions).where(and(eq(billingSubscriptions.id, id), eq(billingSubscriptions.buyerId, account.buyerId), eq(billingSubscriptions.agencyId, account.agencyId))).for('update');
  if (!row) throw errors.notFound('Subscription');
  const periods = await tx.select({ fromDay: billingPeriods.fromDay, throughDay: billingPeriods.throughDay }).from(billingPeriods).where(eq(billingPeriods.subscriptionId, id)).orderBy(asc(billingPeriods.fromDay));
  return { ...row, periods };
}

/** Live: billed today or from tomorrow on (a change's new package), not cancelled or ended. */
const isLive = (s: SubscriptionView, today: string) => s.status === 'active' && s.periods.some((p) => p.throughDay === null || p.throughDay >= today);

function checkCurrency(subs: SubscriptionView[], today: string, currency: string, ignoreId?: string): void {
  const other = subs.find((s) => s.id !== ignoreId && isLive(s, today) && s.currency !== currency);
  if (other) throw conflict('currency_mismatch', msg('errors:subscription.currencyMismatch', { other: other.currency, currency }));
}

/** Only the buyer's own seller's published packages can be bought (an agency never buys its own). */
function checkBuyable(pkg: BillingPackage, account?: BillingAccount): void {
  if (account && (pkg.sellerAgencyId !== account.sellerAgencyId || !pkg.published)) throw errors.notFound('Package');
  if (pkg.kind === 'extra_sessions') throw conflict('use_extra_sessions', 'Extra sessions are bought with POST /api/v1/extra-sessions, not as a subscription.');
}

function insertSubscriptionValues(account: BillingAccount, pkg: BillingPackage, p: { quantity: number; startDay: string; now: Date; changedFromId?: string }) {
  const term = pkg.billing === 'term';
  return {
    id: newId('bsb'), agencyId: account.agencyId, subAccountId: account.subAccountId, buyerId: account.buyerId, sellerAgencyId: account.sellerAgencyId,
    packageId: pkg.id, name: pkg.name, kind: pkg.kind, billing: pkg.billing, termMonths: pkg.termMonths, monthlyPriceMinor: pkg.monthlyPriceMinor,
    termPriceMinor: term ? termPrice(pkg.monthlyPriceMinor, pkg.termMonths as TermMonths) * p.quantity : null, currency: pkg.currency, quantity: p.quantity,
    chatbotSessions: pkg.chatbotSessions, representatives: pkg.representatives, whatsappChannels: pkg.whatsappChannels, instagramChannels: pkg.instagramChannels,
    messengerChannels: pkg.messengerChannels, modules: pkg.modules, unit: pkg.unit, status: 'active' as const, startDay: p.startDay,
    termLastDay: term ? addDays(termEndDay(p.startDay, pkg.termMonths as TermMonths), -1) : null, changedFromId: p.changedFromId ?? null, createdAt: p.now, updatedAt: p.now,
  };
}

async function insertPeriod(tx: Tx, sub: Pick<BillingSubscription, 'id' | 'agencyId' | 'buyerId' | 'sellerAgencyId'>, fromDay: string, throughDay: string | null, now: Date): Promise<void> {
  await tx.insert(billingPeriods).values({ id: newId('bpr'), subscriptionId: sub.id, agencyId: sub.agencyId, buyerId: sub.buyerId, sellerAgencyId: sub.sellerAgencyId, fromDay, throughDay, createdAt: now });
}

export const startSchema = z.object({ packageId: opaqueId, quantity: wholeNumber('quantity', 1, 10_000).default(1), confirmSwitch: checkbox.default(false) });

type Shape = Pick<BillingPackage, 'kind' | 'chatbotSessions' | 'representatives' | 'whatsappChannels' | 'instagramChannels' | 'messengerChannels'> & { modules: readonly string[]; unit: string | null };

/**
 * One package family, in its monthly and its term versions (docs/decisions.md): the catalog keeps
 * them as separate offers, so a family is recognised by what the item gives, not by its name:
 * the same kind, and for a package the same chatbot sessions, representatives and channels (and
 * modules); for an add-on the same modules; for a quantity the same unit.
 */
export function sameFamily(a: Shape, b: Shape): boolean {
  if (a.kind !== b.kind || a.kind === 'extra_sessions') return false;
  const modules = (x: Shape) => [...x.modules].sort().join(',');
  if (a.kind === 'quantity') return a.unit === b.unit;
  if (modules(a) !== modules(b)) return false;
  if (a.kind === 'addon') return true;
  return a.chatbotSessions === b.chatbotSessions && a.representatives === b.representatives && a.whatsappChannels === b.whatsappChannels
    && a.instagramChannels === b.instagramChannels && a.messengerChannels === b.messengerChannels;
}

/** Billed today or later: a period still open, or ending today or after (a cancellation today). */
const billedFrom = (s: SubscriptionView, today: string) => s.status !== 'refunded' && s.periods.some((p) => p.throughDay === null || p.throughDay >= today);

export interface SwitchPlan {
  /** The monthly subscriptions of the same family that the term replaces. */
  replaces: { subscriptionId: string; name: string; quantity: number; endsOn: string }[];
  startsOn: string;
}

/**
 * What buying `pkg` today does to the family it belongs to: a term replaces the monthly versions
 * held (they end the day before the term starts, so no day is billed twice), and nothing else may
 * overlap a term of the family. Throws the refusals; returns the switch to confirm, if any.
 */
function planSwitch(subs: SubscriptionView[], pkg: BillingPackage, today: string): SwitchPlan | null {
  const family = subs.filter((s) => s.packageId !== pkg.id && billedFrom(s, today) && sameFamily(s, pkg));
  const term = family.find((s) => s.billing === 'term');
  if (term) {
    throw conflict('family_term_held', msg('errors:subscription.termHeld', { term: term.name, through: term.termLastDay, pkg: pkg.name, from: addDays(term.termLastDay!, 1) }), { subscriptionId: term.id, termLastDay: term.termLastDay });
  }
  if (pkg.billing !== 'term' || family.length === 0) return null;
  // A change made today: the old package is billed through today and the new one starts tomorrow.
  const pending = family.find((s) => s.status === 'changed' || s.startDay > today);
  if (pending) {
    throw conflict('change_pending', msg('errors:subscription.changedToday', { pending: pending.name, pkg: pkg.name, from: addDays(today, 1) }));
  }
  return { replaces: family.map((s) => ({ subscriptionId: s.id, name: s.name, quantity: s.quantity, endsOn: addDays(today, -1) })), startsOn: today };
}

/** The confirmation a switch needs, as a message (the API's message, the confirm page's text). */
export function switchMessage(plan: SwitchPlan, pkg: Pick<BillingPackage, 'name'>): string {
  const names = plan.replaces.map((r) => (r.quantity > 1 ? [r.name, 'x', r.quantity].join(' ') : r.name)).join(', ');
  return msg('errors:subscription.confirmSwitch', { pkg: pkg.name, names, endsOn: plan.replaces[0]!.endsOn, startsOn: plan.startsOn });
}

/**
 * Starts a subscription today: a monthly one is billed from today (postpaid, on the next 1st's
 * invoice); a term is invoiced now for its whole term and ends by itself.
 */
export async function startSubscription(deps: Deps, params: { actor: Actor; input: unknown }): Promise<BillingSubscription> {
  requireBilling(params.actor);
  const account = await buyerAccount(deps.db, params.actor);
  const input = parse(startSchema, params.input);
  const pkg = await getBillingPackage(deps, { actor: params.actor, packageId: input.packageId });
  checkBuyable(pkg, account);
  if (pkg.kind !== 'quantity' && input.quantity !== 1) throw new AppError('validation_failed', 422, 'Only quantity items take a quantity.', { fields: { quantity: 'Only quantity items take a quantity.' } });
  const now = deps.clock.now();
  const today = calendarDay(now, account.zone);
  const { sub, invoiceId } = await deps.db.transaction(async (tx) => {
    await lockBuyer(tx, account);
    await requireNotSuspended({ db: tx, clock: deps.clock }, account, suspendedAction.starting(pkg.name));
    const subs = await accountSubscriptions(tx, account.buyerId);
    if (subs.some((s) => s.packageId === pkg.id && isLive(s, today))) throw conflict('already_subscribed', msg('errors:subscription.alreadyHaveChange', { name: pkg.name }));
    const plan = planSwitch(subs, pkg, today);
    const replaced = plan?.replaces ?? [];
    if (plan && !input.confirmSwitch) throw conflict('switch_confirmation_required', switchMessage(plan, pkg), { replaces: plan.replaces, startsOn: plan.startsOn });
    checkCurrency(subs.filter((s) => !replaced.some((r) => r.subscriptionId === s.id)), today, pkg.currency);
    const [row] = await tx.insert(billingSubscriptions).values(insertSubscriptionValues(account, pkg, { quantity: input.quantity, startDay: today, now, changedFromId: replaced[0]?.subscriptionId })).returning();
    const sub = row!;
    await insertPeriod(tx, sub, today, sub.termLastDay, now);
    for (const r of replaced) {
      // The monthly version is billed through yesterday; a period that had not begun before today goes.
      await tx.delete(billingPeriods).where(and(eq(billingPeriods.subscriptionId, r.subscriptionId), sql`${billingPeriods.fromDay} >= ${today}::date`));
      await tx.update(billingPeriods).set({ throughDay: r.endsOn }).where(and(eq(billingPeriods.subscriptionId, r.subscriptionId), sql`(${billingPeriods.throughDay} is null or ${billingPeriods.throughDay} >= ${today}::date)`));
      await tx.update(billingSubscriptions).set({ status: 'changed', changedToId: sub.id, updatedAt: now }).where(eq(billingSubscriptions.id, r.subscriptionId));
      await recordAudit(tx, params.actor, { action: 'subscription.switched_to_term', targetType: 'billing_subscription', targetId: r.subscriptionId, agencyId: account.agencyId, subAccountId: account.subAccountId, data: { day: today, endsOn: r.endsOn, toSubscriptionId: sub.id, packageId: pkg.id } }, now);
    }
    const invoiceId = sub.billing === 'term' ? await issueTermInvoice(tx, { account, sub, now }) : null;
    await recordAudit(tx, params.actor, { action: 'subscription.started', targetType: 'billing_subscription', targetId: sub.id, agencyId: account.agencyId, subAccountId: account.subAccountId, data: { packageId: pkg.id, quantity: input.quantity, day: today, invoiceId } }, now);
    await emitEvent(tx, { type: 'subscription.started', at: now, data: { account: { agencyId: account.agencyId, subAccountId: account.subAccountId }, subscriptionId: sub.id, packageId: pkg.id, quantity: input.quantity, day: today } });
    return { sub, invoiceId };
  });
  if (invoiceId) await dispatchInvoiceDelivery(deps.queue, [invoiceId]);
  return sub;
}

/**
 * Cancels a monthly subscription: billed through today inclusive and usable until today ends.
 * A change's new package that has not started yet (it starts tomorrow) is dropped unbilled.
 */
export async function cancelSubscription(deps: Deps, params: { actor: Actor; subscriptionId: string }): Promise<SubscriptionView> {
  requireBilling(params.actor);
  const account = await buyerAccount(deps.db, params.actor);
  const now = deps.clock.now();
  const today = calendarDay(now, account.zone);
  await deps.db.transaction(async (tx) => {
    await lockBuyer(tx, account);
    const sub = await ownSubscription(tx, account, params.subscriptionId);
    if (sub.billing === 'term') throw conflict('term_not_cancellable', 'Term packages cannot be cancelled; they end by themselves at the end of the term. For an accidental purchase, contact your provider.');
    if (sub.status === 'cancelled') throw conflict('already_cancelled', lastDay(sub) ? msg('errors:subscription.alreadyCancelled', { through: lastDay(sub) }) : 'errors:subscription.alreadyCancelledNoDay');
    if (sub.status !== 'active') throw conflict('not_active', msg('errors:subscription.nothingToCancel', { status: `errors:subscription.status.${sub.status}` }));
    const open = sub.periods.find((p) => p.throughDay === null);
    if (open && open.fromDay > today) {
      await tx.delete(billingPeriods).where(and(eq(billingPeriods.subscriptionId, sub.id), sql`${billingPeriods.fromDay} > ${today}::date`));
    } else if (open) {
      await tx.update(billingPeriods).set({ throughDay: today }).where(and(eq(billingPeriods.subscriptionId, sub.id), isNull(billingPeriods.throughDay)));
    }
    await tx.update(billingSubscriptions).set({ status: 'cancelled', cancelledAt: now, updatedAt: now }).where(eq(billingSubscriptions.id, sub.id));
    // An agency that cancels its plan is on no plan (its features end with today).
    if (sub.kind === 'plan') await tx.update(agencies).set({ planCode: null, updatedAt: now }).where(eq(agencies.id, account.agencyId));
    await recordAudit(tx, params.actor, { action: 'subscription.cancelled', targetType: 'billing_subscription', targetId: sub.id, agencyId: account.agencyId, subAccountId: account.subAccountId, data: { day: today } }, now);
    await emitEvent(tx, { type: 'subscription.cancelled', at: now, data: { account: { agencyId: account.agencyId, subAccountId: account.subAccountId }, subscriptionId: sub.id, day: today } });
  });
  return getSubscription(deps, { actor: params.actor, subscriptionId: params.subscriptionId });
}

const lastDay = (s: SubscriptionView) => s.periods.reduce<string | null>((m, p) => (p.throughDay && (!m || p.throughDay > m) ? p.throughDay : m), null);

/**
 * Reactivates a cancelled monthly subscription, billed again from today (with the terms it had).
 * Cancelled and reactivated on the same day, its last period simply continues: no day is billed twice.
 */
export async function reactivateSubscription(deps: Deps, params: { actor: Actor; subscriptionId: string }): Promise<SubscriptionView> {
  requireBilling(params.actor);
  const account = await buyerAccount(deps.db, params.actor);
  const now = deps.clock.now();
  const today = calendarDay(now, account.zone);
  await deps.db.transaction(async (tx) => {
    await lockBuyer(tx, account);
    const sub = await ownSubscription(tx, account, params.subscriptionId);
    await requireNotSuspended({ db: tx, clock: deps.clock }, account, suspendedAction.reactivating(sub.name));
    if (sub.status !== 'cancelled') throw conflict('not_cancelled', sub.status === 'active' ? 'This subscription is active; only a cancelled one can be reactivated.' : msg('errors:subscription.notReactivatable', { status: `errors:subscription.status.${sub.status}` }));
    const subs = await accountSubscriptions(tx, account.buyerId);
    if (subs.some((s) => s.id !== sub.id && s.packageId === sub.packageId && isLive(s, today))) throw conflict('already_subscribed', msg('errors:subscription.alreadyHaveOther', { name: sub.name }));
    if (sub.kind === 'plan' && subs.some((s) => s.id !== sub.id && s.kind === 'plan' && s.status === 'active' && isLive(s, today))) throw conflict('already_subscribed', msg('errors:subscription.alreadyHaveOther', { name: sub.name }));
    checkCurrency(subs, today, sub.currency, sub.id);
    if (sub.kind === 'plan') await tx.update(agencies).set({ planCode: sql`(select ${offers.code} from ${offers} where ${offers.id} = ${sub.packageId})`, updatedAt: now }).where(eq(agencies.id, account.agencyId));
    const from = sub.startDay > today ? sub.startDay : today;
    const last = sub.periods.at(-1);
    if (last && last.throughDay !== null && last.throughDay >= addDays(from, -1)) {
      // Cancelled today (or yesterday): the same period goes on.
      await tx.update(billingPeriods).set({ throughDay: null }).where(and(eq(billingPeriods.subscriptionId, sub.id), eq(billingPeriods.fromDay, last.fromDay)));
    } else {
      await insertPeriod(tx, sub, from, null, now);
    }
    await tx.update(billingSubscriptions).set({ status: 'active', cancelledAt: null, updatedAt: now }).where(eq(billingSubscriptions.id, sub.id));
    await recordAudit(tx, params.actor, { action: 'subscription.reactivated', targetType: 'billing_subscription', targetId: sub.id, agencyId: account.agencyId, subAccountId: account.subAccountId, data: { day: from } }, now);
  });
  return getSubscription(deps, { actor: params.actor, subscriptionId: params.subscriptionId });
}

export const changeSchema = z.object({ packageId: opaqueId, quantity: wholeNumber('quantity', 1, 10_000).optional() });

/**
 * Changes a monthly subscription to another monthly package of the same kind (or the same
 * quantity item with another quantity): the old one is billed through today, the new one from
 * tomorrow; today the higher-priced one is in effect. Returns the new subscription.
 */
export async function changeSubscription(deps: Deps, params: { actor: Actor; subscriptionId: string; input: unknown }): Promise<SubscriptionView> {
  requireBilling(params.actor);
  const account = await buyerAccount(deps.db, params.actor);
  const input = parse(changeSchema, params.input);
  const pkg = await getBillingPackage(deps, { actor: params.actor, packageId: input.packageId });
  checkBuyable(pkg, account);
  const now = deps.clock.now();
  const today = calendarDay(now, account.zone);
  const tomorrow = addDays(today, 1);
  const newId_ = await deps.db.transaction(async (tx) => {
    await lockBuyer(tx, account);
    const sub = await ownSubscription(tx, account, params.subscriptionId);
    await requireNotSuspended({ db: tx, clock: deps.clock }, account, pkg.id === sub.packageId ? suspendedAction.changingQuantity(sub.name) : suspendedAction.changing(sub.name, pkg.name));
    if (sub.billing === 'term') throw conflict('term_not_changeable', 'A term package cannot be changed; it ends by itself at the end of its term.');
    if (sub.status !== 'active') throw conflict('not_active', msg('errors:subscription.notChangeable', { status: sub.status === 'changed' ? 'errors:subscription.status.alreadyChanged' : `errors:subscription.status.${sub.status}` }));
    if (sub.startDay > today) throw conflict('change_pending', msg('errors:subscription.startsTomorrow', { from: sub.startDay }));
    const quantity = input.quantity ?? (pkg.id === sub.packageId ? sub.quantity : 1);
    if (pkg.kind !== 'quantity' && quantity !== 1) throw new AppError('validation_failed', 422, 'Only quantity items take a quantity.', { fields: { quantity: 'Only quantity items take a quantity.' } });
    if (pkg.id === sub.packageId && quantity === sub.quantity) throw conflict('same_package', sub.kind === 'quantity' ? msg('errors:subscription.samePackageQuantity', { name: sub.name, quantity: sub.quantity }) : msg('errors:subscription.samePackage', { name: sub.name }));
    if (pkg.billing !== 'monthly') throw conflict('change_to_term', 'A monthly package can be changed to another monthly package. To move to a term package, buy it and cancel this one.');
    if (pkg.kind !== sub.kind || pkg.unit !== sub.unit) throw conflict('incompatible_change', sub.unit ? `errors:subscription.incompatibleUnit.${sub.unit}` : `errors:subscription.incompatible.${sub.kind}`);
    const subs = await accountSubscriptions(tx, account.buyerId);
    if (pkg.id !== sub.packageId && subs.some((s) => s.packageId === pkg.id && isLive(s, today))) throw conflict('already_subscribed', msg('errors:subscription.alreadyHave', { name: pkg.name }));
    checkCurrency(subs, today, pkg.currency, sub.id);
    await tx.update(billingPeriods).set({ throughDay: today }).where(and(eq(billingPeriods.subscriptionId, sub.id), isNull(billingPeriods.throughDay)));
    const [row] = await tx.insert(billingSubscriptions).values(insertSubscriptionValues(account, pkg, { quantity, startDay: tomorrow, now, changedFromId: sub.id })).returning();
    await insertPeriod(tx, row!, tomorrow, null, now);
    await tx.update(billingSubscriptions).set({ status: 'changed', changedToId: row!.id, updatedAt: now }).where(eq(billingSubscriptions.id, sub.id));
    await recordAudit(tx, params.actor, { action: 'subscription.changed', targetType: 'billing_subscription', targetId: sub.id, agencyId: account.agencyId, subAccountId: account.subAccountId, data: { day: today, toSubscriptionId: row!.id, packageId: pkg.id, quantity } }, now);
    await emitEvent(tx, { type: 'subscription.changed', at: now, data: { account: { agencyId: account.agencyId, subAccountId: account.subAccountId }, subscriptionId: sub.id, toSubscriptionId: row!.id, packageId: pkg.id, quantity, day: today } });
    return row!.id;
  });
  return getSubscription(deps, { actor: params.actor, subscriptionId: newId_ });
}

/**
 * The platform puts an agency on a plan (a `plan` offer of its catalog), or off any plan (null):
 * the billing engine's monthly rules, inside the caller's transaction (the caller holds the agency
 * row's lock). No plan yet: the plan subscription starts today, billed from today (the first
 * month prorated by day on the next 1st's invoice). Another plan: the engine's change, the old
 * plan billed through today and the new one from tomorrow (today the dearer one is in effect).
 * No plan: the engine's cancellation, billed through today and in effect until today ends.
 * Returns the subscription now running (or starting tomorrow), or null.
 */
export async function setAgencyPlan(tx: Tx, params: { actor: Actor; agencyId: string; plan: BillingPackage | null; now: Date }): Promise<string | null> {
  const { actor, plan, now } = params;
  if (plan && (plan.kind !== 'plan' || plan.sellerAgencyId !== null || plan.billing !== 'monthly')) throw errors.notFound('Plan');
  const account = await billingAccount(tx, params.agencyId, null);
  const today = calendarDay(now, account.zone);
  const subs = await accountSubscriptions(tx, account.buyerId);
  const current = subs.find((s) => s.kind === 'plan' && s.status === 'active' && isLive(s, today));
  const whom = { agencyId: account.agencyId, subAccountId: null };
  if (current && plan && current.packageId === plan.id) return current.id;
  if (current && current.startDay > today) {
    // A change made today: the plan chosen today starts tomorrow; choosing again replaces it unbilled.
    await tx.delete(billingPeriods).where(eq(billingPeriods.subscriptionId, current.id));
    await tx.update(billingSubscriptions).set({ status: 'cancelled', cancelledAt: now, updatedAt: now }).where(eq(billingSubscriptions.id, current.id));
    const previous = subs.find((s) => s.id === current.changedFromId && s.status === 'changed');
    if (previous) {
      await tx.update(billingPeriods).set({ throughDay: null }).where(and(eq(billingPeriods.subscriptionId, previous.id), eq(billingPeriods.throughDay, today)));
      await tx.update(billingSubscriptions).set({ status: 'active', changedToId: null, updatedAt: now }).where(eq(billingSubscriptions.id, previous.id));
      await recordAudit(tx, actor, { action: 'plan.change_undone', targetType: 'billing_subscription', targetId: current.id, agencyId: account.agencyId, data: { day: today, backTo: previous.id } }, now);
      return setAgencyPlan(tx, params);
    }
  } else if (current && !plan) {
    await tx.update(billingPeriods).set({ throughDay: today }).where(and(eq(billingPeriods.subscriptionId, current.id), isNull(billingPeriods.throughDay)));
    await tx.update(billingSubscriptions).set({ status: 'cancelled', cancelledAt: now, updatedAt: now }).where(eq(billingSubscriptions.id, current.id));
    await recordAudit(tx, actor, { action: 'subscription.cancelled', targetType: 'billing_subscription', targetId: current.id, agencyId: account.agencyId, data: { day: today, plan: true } }, now);
    await emitEvent(tx, { type: 'subscription.cancelled', at: now, data: { account: whom, subscriptionId: current.id, day: today } });
    return null;
  } else if (current && plan) {
    checkCurrency(subs, today, plan.currency, current.id);
    const tomorrow = addDays(today, 1);
    await tx.update(billingPeriods).set({ throughDay: today }).where(and(eq(billingPeriods.subscriptionId, current.id), isNull(billingPeriods.throughDay)));
    await tx.update(billingSubscriptions).set({ status: 'changed', updatedAt: now }).where(eq(billingSubscriptions.id, current.id));
    const [row] = await tx.insert(billingSubscriptions).values(insertSubscriptionValues(account, plan, { quantity: 1, startDay: tomorrow, now, changedFromId: current.id })).returning();
    await insertPeriod(tx, row!, tomorrow, null, now);
    await tx.update(billingSubscriptions).set({ changedToId: row!.id }).where(eq(billingSubscriptions.id, current.id));
    await recordAudit(tx, actor, { action: 'subscription.changed', targetType: 'billing_subscription', targetId: current.id, agencyId: account.agencyId, data: { day: today, toSubscriptionId: row!.id, packageId: plan.id, plan: true } }, now);
    await emitEvent(tx, { type: 'subscription.changed', at: now, data: { account: whom, subscriptionId: current.id, toSubscriptionId: row!.id, packageId: plan.id, quantity: 1, day: today } });
    return row!.id;
  }
  if (!plan) return null;
  checkCurrency(subs, today, plan.currency);
  // A plan cancelled today is billed for today already: the same plan goes on, another starts tomorrow.
  const endedToday = subs.find((s) => s.kind === 'plan' && s.status === 'cancelled' && s.periods.some((p) => p.throughDay === today));
  if (endedToday && endedToday.packageId === plan.id) {
    await tx.update(billingPeriods).set({ throughDay: null }).where(and(eq(billingPeriods.subscriptionId, endedToday.id), eq(billingPeriods.throughDay, today)));
    await tx.update(billingSubscriptions).set({ status: 'active', cancelledAt: null, updatedAt: now }).where(eq(billingSubscriptions.id, endedToday.id));
    await recordAudit(tx, actor, { action: 'subscription.reactivated', targetType: 'billing_subscription', targetId: endedToday.id, agencyId: account.agencyId, data: { day: today, plan: true } }, now);
    return endedToday.id;
  }
  const startDay = endedToday ? addDays(today, 1) : today;
  const [row] = await tx.insert(billingSubscriptions).values(insertSubscriptionValues(account, plan, { quantity: 1, startDay, now, changedFromId: endedToday?.id })).returning();
  await insertPeriod(tx, row!, startDay, null, now);
  await recordAudit(tx, actor, { action: 'subscription.started', targetType: 'billing_subscription', targetId: row!.id, agencyId: account.agencyId, data: { packageId: plan.id, quantity: 1, day: startDay, plan: true } }, now);
  await emitEvent(tx, { type: 'subscription.started', at: now, data: { account: whom, subscriptionId: row!.id, packageId: plan.id, quantity: 1, day: startDay } });
  return row!.id;
}

export const refundSchema = z.object({ reason: z.string({ error: 'A reason is required.' }).trim().min(3, 'Say why the purchase is refunded (3 characters or more).').max(500) });

/**
 * The seller's admin refunds an accidental term purchase: the term ends now, its invoice is
 * credited whole by a credit note (emailed with its PDF), which ends the invoice as refunded when
 * it was paid (returning the money is the gateway's part) or void when it was awaiting payment;
 * an invoice still being issued (draft) is voided before it goes out. Audit-logged with its reason.
 */
export async function refundTermSubscription(deps: Deps, params: { actor: Actor; subscriptionId: string; input: unknown }): Promise<SubscriptionView> {
  const { actor } = params;
  requireRole(actor, 'admin');
  requireBilling(actor);
  if (actor.scope === 'sub_account') throw errors.wrongScope('platform or agency');
  const input = parse(refundSchema, params.input);
  const now = deps.clock.now();
  const sellerAgencyId = actor.scope === 'platform' ? null : actor.agencyId!;
  const [found] = await deps.db
    .select()
    .from(billingSubscriptions)
    .where(and(eq(billingSubscriptions.id, params.subscriptionId), sellerAgencyId ? eq(billingSubscriptions.sellerAgencyId, sellerAgencyId) : isNull(billingSubscriptions.sellerAgencyId)));
  if (!found) throw errors.notFound('Subscription');
  const account = await billingAccount(deps.db, found.agencyId, found.subAccountId);
  const today = calendarDay(now, account.zone);
  const mailId = await deps.db.transaction(async (tx) => {
    await lockBuyer(tx, account);
    const sub = await ownSubscription(tx, account, found.id);
    if (sub.billing !== 'term') throw conflict('not_a_term', 'Only term packages are refunded this way; monthly packages are cancelled by the buyer.');
    if (sub.status === 'refunded') throw conflict('already_refunded', 'This purchase was already refunded.');
    if (sub.status !== 'active') throw conflict('not_active', msg('errors:subscription.nothingToRefund', { status: `errors:subscription.termStatus.${sub.status}` }));
    const through = today < sub.startDay ? sub.startDay : today;
    await tx.update(billingPeriods).set({ throughDay: through }).where(eq(billingPeriods.subscriptionId, sub.id));
    await tx.update(billingSubscriptions).set({ status: 'refunded', cancelledAt: now, updatedAt: now }).where(eq(billingSubscriptions.id, sub.id));
    const [inv] = await tx.select().from(invoices).where(and(eq(invoices.subscriptionId, sub.id), eq(invoices.kind, 'term'))).for('update');
    // An issued invoice (awaiting payment or paid) is credited whole: the credit note ends it as
    // void or refunded. One still being issued (draft: never delivered) is voided before it goes out.
    const credit = inv && inv.status !== 'draft' ? await creditWholeInvoice(tx, { invoice: inv, reason: input.reason, by: actor, now }) : null;
    if (inv?.status === 'draft') await tx.update(invoices).set({ status: 'void', updatedAt: now }).where(eq(invoices.id, inv.id));
    await recordAudit(tx, actor, {
      action: 'subscription.refunded', targetType: 'billing_subscription', targetId: sub.id, agencyId: account.agencyId, subAccountId: account.subAccountId,
      data: { reason: input.reason, invoiceId: inv?.id ?? null, invoiceStatusBefore: inv?.status ?? null, creditNoteId: credit?.id ?? null, amountMinor: sub.termPriceMinor, currency: sub.currency, day: today },
    }, now);
    return credit?.mailId ?? null;
  });
  await dispatchEmails(deps.queue, [mailId]);
  const [row] = await accountSubscriptions(deps.db, account.buyerId).then((all) => all.filter((s) => s.id === found.id));
  return row!;
}

export async function listSubscriptions(deps: Pick<Deps, 'db'>, params: { actor: Actor }): Promise<SubscriptionView[]> {
  const account = await buyerAccount(deps.db, params.actor);
  return (await accountSubscriptions(deps.db, account.buyerId)).reverse();
}

export async function getSubscription(deps: Pick<Deps, 'db'>, params: { actor: Actor; subscriptionId: string }): Promise<SubscriptionView> {
  const account = await buyerAccount(deps.db, params.actor);
  const row = (await accountSubscriptions(deps.db, account.buyerId)).find((s) => s.id === params.subscriptionId);
  if (!row) throw errors.notFound('Subscription');
  return row;
}

export type ExtraSessionCharge = typeof accountCharges.$inferSelect;
export const extraSessionsSchema = z.object({ quantity: wholeNumber('quantity', 1, 1000), packageId: opaqueId.optional() });

/**
 * Buys blocks of extra chatbot sessions: needs a chatbot package in effect today; active at once;
 * cannot be cancelled; billed in full on this month's invoice; gone at 00:00 on the next 1st.
 */
export async function buyExtraSessions(deps: Deps, params: { actor: Actor; input: unknown }): Promise<ExtraSessionCharge> {
  requireBilling(params.actor);
  const account = await buyerAccount(deps.db, params.actor);
  const input = parse(extraSessionsSchema, params.input);
  const offer = (await extraSessionOffers(deps.db, account.sellerAgencyId)).find((o) => !input.packageId || o.id === input.packageId);
  if (!offer) throw input.packageId ? errors.notFound('Package') : conflict('extra_sessions_not_offered', 'Your provider does not sell extra sessions.');
  const now = deps.clock.now();
  const today = calendarDay(now, account.zone);
  const charge = await deps.db.transaction(async (tx) => {
    await lockBuyer(tx, account);
    await requireNotSuspended({ db: tx, clock: deps.clock }, account, suspendedAction.buyingExtraSessions);
    const subs = await accountSubscriptions(tx, account.buyerId);
    if (!hasChatbotPackage(subs, today)) throw conflict('chatbot_package_required', 'Extra sessions need an active chatbot package. Subscribe to a chatbot package first.');
    checkCurrency(subs, today, offer.currency);
    const sessions = offer.chatbotSessions * input.quantity;
    const [row] = await tx
      .insert(accountCharges)
      .values({
        id: newId('chg'), agencyId: account.agencyId, subAccountId: account.subAccountId, buyerId: account.buyerId, sellerAgencyId: account.sellerAgencyId,
        kind: 'extra_sessions', ...kontorText('billing:line.extraSessions', { name: offer.name, sessions, quantity: input.quantity, perBlock: offer.chatbotSessions }),
        day: today, quantity: input.quantity, unitPriceMinor: offer.monthlyPriceMinor, amountMinor: offer.monthlyPriceMinor * input.quantity, currency: offer.currency,
        sessions, expiresAt: extraSessionExpiry(now, account.zone), createdAt: now,
      })
      .returning();
    await recordAudit(tx, params.actor, { action: 'extra_sessions.bought', targetType: 'account_charge', targetId: row!.id, agencyId: account.agencyId, subAccountId: account.subAccountId, data: { quantity: input.quantity, sessions, amount: formatMoney(row!.amountMinor, row!.currency, 'en') } }, now);
    return row!;
  });
  return charge;
}

/** Unexpired extra sessions of an account at `now`. */
export async function extraSessionsAt(db: Deps['db'] | Tx, accountId: string, now: Date): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`coalesce(sum(${accountCharges.sessions}), 0)::int` })
    .from(accountCharges)
    .where(and(eq(accountCharges.buyerId, accountId), eq(accountCharges.kind, 'extra_sessions'), sql`${accountCharges.expiresAt} > ${now.toISOString()}::timestamptz`));
  return Number(row?.n ?? 0);
}

export interface CurrentEntitlements extends Entitlements {
  day: string;
  /** Term packages in effect: the quota month they are in (quotas restart at each monthly anniversary). */
  termQuotas: { subscriptionId: string; name: string; index: number; from: string; until: string }[];
}

/** What the account may use now. */
/** `subscriptions`: the account's subscriptions (accountSubscriptions) when the caller reads them anyway. */
export async function currentEntitlements(deps: { db: Deps['db'] | Tx; clock: Deps['clock'] }, account: BillingAccount, subscriptions?: Promise<SubscriptionView[]>): Promise<CurrentEntitlements> {
  const now = deps.clock.now();
  const day = calendarDay(now, account.zone);
  const subs = await (subscriptions ?? accountSubscriptions(deps.db, account.buyerId));
  const e = entitlementsOn(subs, day, await extraSessionsAt(deps.db, account.buyerId, now));
  const termQuotas = subs
    .filter((s) => s.billing === 'term' && e.inEffect.includes(s.id))
    .flatMap((s) => {
      const m = termMonthOn(s.startDay, s.termMonths as TermMonths, day);
      return m ? [{ subscriptionId: s.id, name: s.name, index: m.index, from: m.from, until: m.until }] : [];
    });
  return { ...e, day, termQuotas };
}

export async function myEntitlements(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor }): Promise<CurrentEntitlements> {
  return currentEntitlements(deps, await buyerAccount(deps.db, params.actor));
}

// The client's (sub-account's) home: its balance, what it holds, the month's invoice so far and
// the estimate, and what needs its action, each with the page that resolves it. Read-only; the
// same view serves the portal and the agency's read-only "view as this client".
import { and, eq } from 'drizzle-orm';
import { creditAccounts, offerVersions, purchases } from '../../db/schema';
import type { Actor } from '../auth/actor';
import { billingAccount } from '../billing/accounts';
import { subscriptionsInEffect } from '../billing/entitlements';
import { predictInvoice } from '../billing/prediction';
import { calendarDay } from '../billing/proration';
import { accountSubscriptions } from '../billing/subscriptions.usecases';
import type { Deps } from '../deps';
import { entitlementStatus } from '../entitlements/entitlements.usecases';
import { formatterFor } from '../i18n/format';
import { tFor, type Lang } from '../i18n/i18n';
import { holdings } from '../purchases/purchases.usecases';
import { suspensionOf } from '../suspension/suspension.usecases';

export interface ClientHome {
  zone: string;
  balance: number;
  threshold: number | null;
  /** What the client holds now: billed packages in effect and its prepaid package. */
  holding: { name: string; detail: string }[];
  /** This month's invoice: so far and the estimate at the month's end (null without billed items). */
  invoice: { currency: string; soFarMinor: number; estimateMinor: number; cutOffDay: string } | null;
  /** What needs the client's action, most urgent first, each with where to act. */
  actions: { text: string; href: string; label: string }[];
}

/** The texts are written in `lang` (the reader's), days in the seller's zone. */
export async function clientHome(deps: Pick<Deps, 'db' | 'clock'>, ref: { agencyId: string; subAccountId: string }, lang: Lang): Promise<ClientHome> {
  const now = deps.clock.now();
  const account = await billingAccount(deps.db, ref.agencyId, ref.subAccountId);
  const today = calendarDay(now, account.zone);
  const t = tFor(lang);
  const fmt = formatterFor(lang, account.zone);
  const money = fmt.money;
  const item = (what: string, n: number) => t(`dashboard:client.item.${what}`, { count: n, n: fmt.number(n) });
  // Reads as the client would (the agency's preview passes its client's reference, not its own actor).
  const asClient: Actor = { kind: 'system', id: 'client-home', scope: 'sub_account', agencyId: ref.agencyId, subAccountId: ref.subAccountId, role: 'member', billing: true };

  const [acc] = await deps.db.select({ balance: creditAccounts.balance, threshold: creditAccounts.lowBalanceThreshold }).from(creditAccounts)
    .where(and(eq(creditAccounts.agencyId, ref.agencyId), eq(creditAccounts.subAccountId, ref.subAccountId)));
  const balance = acc?.balance ?? 0;
  const threshold = acc?.threshold ?? null;

  const subs = subscriptionsInEffect(await accountSubscriptions(deps.db, account.buyerId), today);
  const holding = subs.map((s) => ({
    name: s.quantity > 1 ? t('dashboard:client.times', { name: s.name, quantity: fmt.number(s.quantity) }) : s.name,
    detail: s.billing === 'term' ? t('dashboard:client.termUntil', { day: fmt.day(s.termLastDay) }) : t('dashboard:client.perMonth', { amount: money(s.monthlyPriceMinor * s.quantity, s.currency) }),
  }));
  const prepaid = await holdings(deps.db, ref.subAccountId, now);
  if (prepaid.activeSubscription) holding.push({ name: t('dashboard:client.prepaid'), detail: t('dashboard:client.prepaidUntil', { day: fmt.date(prepaid.activeSubscription.endsAt) }) });

  const prediction = subs.some((s) => s.billing === 'monthly') ? await predictInvoice(deps, { actor: asClient }) : null;
  const invoice = prediction?.currency ? { currency: prediction.currency, soFarMinor: prediction.soFarMinor, estimateMinor: prediction.estimateMinor, cutOffDay: prediction.cutOffDay } : null;

  const actions: ClientHome['actions'] = [];
  const suspension = await suspensionOf(deps, account);
  if (suspension.overdue.length) {
    const owed = suspension.amountDue.map((a) => money(a.minor, a.currency)).join(' + ');
    const count = suspension.overdue.length;
    actions.push({
      text: t(suspension.suspended ? 'dashboard:client.pausedOverdue' : 'dashboard:client.overdue', { count, n: fmt.number(count), owed }),
      href: '/portal/billing', label: t('dashboard:client.payOverdue'),
    });
  } else if (suspension.suspended) {
    const key = suspension.reasons.includes('provider') ? 'dashboard:client.pausedByProvider' : 'dashboard:client.pausedBySeller';
    actions.push({ text: t(key, { seller: account.sellerName }), href: '/portal/billing', label: t('dashboard:client.seeWhy') });
  }
  const status = await entitlementStatus(deps, account);
  for (const l of status.overLimits) {
    actions.push({
      text: t('dashboard:client.overLimit', { used: item(l.item, l.used), limit: fmt.number(l.limit), remove: item(l.item, l.over), add: fmt.number(l.over) }),
      href: '/portal/billing', label: t('dashboard:client.fixOnBilling'),
    });
  }
  const waiting = await deps.db.select({ name: offerVersions.name }).from(purchases).innerJoin(offerVersions, eq(offerVersions.id, purchases.packageVersionId))
    .where(and(eq(purchases.subAccountId, ref.subAccountId), eq(purchases.status, 'paid')));
  for (const w of waiting) actions.push({ text: t('dashboard:client.waitingCredits', { name: w.name, seller: account.sellerName }), href: '/portal/purchases', label: t('dashboard:client.seePurchase') });
  if (threshold !== null && balance < threshold) {
    actions.push({ text: t('dashboard:client.lowBalance', { count: balance, n: fmt.number(balance), threshold: fmt.number(threshold) }), href: '/portal/packages', label: t('dashboard:client.buyCredits') });
  }

  return { zone: account.zone, balance, threshold, holding, invoice, actions };
}

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
import { formatMoney } from '../lib/money';
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

export async function clientHome(deps: Pick<Deps, 'db' | 'clock'>, ref: { agencyId: string; subAccountId: string }, locale: string): Promise<ClientHome> {
  const now = deps.clock.now();
  const account = await billingAccount(deps.db, ref.agencyId, ref.subAccountId);
  const today = calendarDay(now, account.zone);
  const money = (minor: number, currency: string) => formatMoney(minor, currency, locale);
  // Reads as the client would (the agency's preview passes its client's reference, not its own actor).
  const asClient: Actor = { kind: 'system', id: 'client-home', scope: 'sub_account', agencyId: ref.agencyId, subAccountId: ref.subAccountId, role: 'member', billing: true };

  const [acc] = await deps.db.select({ balance: creditAccounts.balance, threshold: creditAccounts.lowBalanceThreshold }).from(creditAccounts)
    .where(and(eq(creditAccounts.agencyId, ref.agencyId), eq(creditAccounts.subAccountId, ref.subAccountId)));
  const balance = acc?.balance ?? 0;
  const threshold = acc?.threshold ?? null;

  const subs = subscriptionsInEffect(await accountSubscriptions(deps.db, account.accountId), today);
  const holding = subs.map((s) => ({
    name: s.quantity > 1 ? `${s.name} x ${s.quantity}` : s.name,
    detail: s.billing === 'term' ? `prepaid term until ${s.termLastDay}` : `${money(s.monthlyPriceMinor * s.quantity, s.currency)} a month`,
  }));
  const prepaid = await holdings(deps.db, ref.subAccountId, now);
  if (prepaid.activeSubscription) holding.push({ name: 'Prepaid subscription', detail: `credits every month until ${calendarDay(prepaid.activeSubscription.endsAt, account.zone)}` });

  const prediction = subs.some((s) => s.billing === 'monthly') ? await predictInvoice(deps, { actor: asClient }) : null;
  const invoice = prediction?.currency ? { currency: prediction.currency, soFarMinor: prediction.soFarMinor, estimateMinor: prediction.estimateMinor, cutOffDay: prediction.cutOffDay } : null;

  const actions: ClientHome['actions'] = [];
  const suspension = await suspensionOf(deps, account);
  if (suspension.overdue.length) {
    const owed = suspension.amountDue.map((a) => money(a.minor, a.currency)).join(' + ');
    actions.push({
      text: suspension.suspended
        ? `Your account is paused: ${suspension.overdue.length} invoices are overdue (${owed}). Paying brings it back at once.`
        : `${suspension.overdue.length === 1 ? 'One invoice is' : `${suspension.overdue.length} invoices are`} overdue (${owed}).`,
      href: '/portal/billing', label: 'Pay overdue invoices',
    });
  } else if (suspension.suspended) {
    actions.push({ text: `Your account is paused by ${suspension.reasons.includes('provider') ? 'your provider\'s own suspension' : account.sellerName}. Contact ${account.sellerName} to lift it.`, href: '/portal/billing', label: 'See why' });
  }
  const status = await entitlementStatus(deps, account);
  for (const l of status.overLimits) actions.push({ text: l.guidance, href: '/portal/billing', label: 'Fix it on the billing page' });
  const waiting = await deps.db.select({ name: offerVersions.name }).from(purchases).innerJoin(offerVersions, eq(offerVersions.id, purchases.packageVersionId))
    .where(and(eq(purchases.subAccountId, ref.subAccountId), eq(purchases.status, 'paid')));
  for (const w of waiting) actions.push({ text: `${w.name} is paid; its credits arrive as soon as ${account.sellerName} has topped up (automatically, nothing to do).`, href: '/portal/purchases', label: 'See the purchase' });
  if (threshold !== null && balance < threshold) actions.push({ text: `Your balance (${balance.toLocaleString('en-US')} credits) is below your alert of ${threshold.toLocaleString('en-US')}.`, href: '/portal/packages', label: 'Buy credits' });

  return { zone: account.zone, balance, threshold, holding, invoice, actions };
}

// Invoice prediction: the current month's invoice so far (days elapsed including today) and at
// month end if nothing changes, line by line, each line from the day it took effect, and the
// month day by day for a chart. Same lines as the cut (invoice-lines.ts), so the estimate is
// what the 1st will bill unless something changes.
import { and, eq, gte, isNull, lte } from 'drizzle-orm';
import { accountCharges } from '../../db/schema';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { buyerAccount } from './accounts';
import { monthLines, monthOf, nextMonth, totalOf, type ChargeInput, type MonthlySubscriptionInput } from './invoice-lines';
import { calendarDay, formatDay } from './proration';
import { accountSubscriptions, type SubscriptionView } from './subscriptions.usecases';
import { sellerTax } from '../tax/seller-settings';
import { buyerParty, offerRates, taxLines } from './invoice-issue';

export interface PredictedLine {
  kind: 'monthly' | 'extra_sessions' | 'topup';
  subscriptionId: string | null;
  description: string;
  /** A text Kontor writes, as a message read in the reader's language (docs/i18n.md); null: the seller's own text. */
  descriptionKey: string | null;
  /** The first billed day of the month: a change, start or reactivation shows from its day. */
  fromDay: string;
  throughDay: string;
  daysSoFar: number | null;
  daysAtMonthEnd: number | null;
  daysInMonth: number | null;
  monthlyPriceMinor: number | null;
  soFarMinor: number;
  estimateMinor: number;
  note: string | null;
}

export interface Prediction {
  period: string;
  periodStart: string;
  periodEnd: string;
  today: string;
  daysElapsed: number;
  daysInMonth: number;
  /** When the invoice will be cut: 00:00 on the next 1st, seller's zone (a day). */
  cutOffDay: string;
  currency: string | null;
  soFarMinor: number;
  estimateMinor: number;
  lines: PredictedLine[];
  /** Running total per day: actual through today, estimated after. */
  chart: { day: string; amountMinor: number; estimated: boolean }[];
  /** Term packages held this month: prepaid, on their own invoices. */
  prepaid: { subscriptionId: string; name: string; fromDay: string; throughDay: string }[];
  /**
   * The seller's tax on the month's lines (null while the seller charges none): so far and at
   * month end, net, tax by rate and total, as the cut will compute them. With tax, soFarMinor and
   * estimateMinor are these totals (what the buyer will pay); the lines stay at the stated prices.
   */
  tax: null | {
    priceMode: 'exclusive' | 'inclusive';
    soFar: { netMinor: number; taxMinor: number; totalMinor: number };
    estimate: { netMinor: number; taxMinor: number; totalMinor: number; byRate: { rateBp: number; netMinor: number; taxMinor: number }[] };
  };
}

function noteOf(s: SubscriptionView | undefined, byId: Map<string, SubscriptionView>, fromDay: string, throughDay: string, monthFirst: string, monthLast: string): string | null {
  if (!s) return null;
  const parts: string[] = [];
  if (fromDay > monthFirst) {
    const from = s.changedFromId ? byId.get(s.changedFromId) : undefined;
    parts.push(from && s.startDay === fromDay ? `changed from ${from.name}, from ${fromDay}` : s.startDay === fromDay ? `started ${fromDay}` : `reactivated ${fromDay}`);
  }
  if (throughDay < monthLast) {
    if (s.status === 'changed' && s.changedToId) parts.push(`changed to ${byId.get(s.changedToId)?.name ?? 'another package'} after ${throughDay}`);
    else if (s.status === 'cancelled') parts.push(`cancelled, billed through ${throughDay}`);
  } else if (s.status === 'cancelled') {
    parts.push(`cancelled, billed through ${throughDay}`);
  }
  return parts.length ? parts.join('; ') : null;
}

export async function predictInvoice(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor }): Promise<Prediction> {
  const account = await buyerAccount(deps.db, params.actor);
  const now = deps.clock.now();
  const today = calendarDay(now, account.zone);
  const month = monthOf(today);
  const all = await accountSubscriptions(deps.db, account.buyerId);
  const byId = new Map(all.map((s) => [s.id, s]));
  const monthly: MonthlySubscriptionInput[] = all
    .filter((s) => s.billing === 'monthly')
    .map((s) => ({ subscriptionId: s.id, name: s.name, quantity: s.quantity, monthlyPriceMinor: s.monthlyPriceMinor, currency: s.currency, periods: s.periods.map((p) => ({ from: p.fromDay, through: p.throughDay })), rateBp: null as number | null }));
  const seller = await sellerTax(deps.db, account.sellerAgencyId);
  if (seller && monthly.length > 0) {
    const rates = await offerRates(deps.db, all.map((s) => s.packageId));
    for (const m of monthly) m.rateBp = rates.get(byId.get(m.subscriptionId)!.packageId) ?? null;
  }
  const chargeRows = await deps.db
    .select()
    .from(accountCharges)
    .where(and(eq(accountCharges.buyerId, account.buyerId), isNull(accountCharges.invoiceId), gte(accountCharges.day, month.first), lte(accountCharges.day, month.last)));
  const charges: ChargeInput[] = chargeRows.map((c) => ({
    chargeId: c.id, kind: c.kind, description: c.description, descriptionKey: c.descriptionKey, day: c.day, quantity: c.quantity, unitPriceMinor: c.unitPriceMinor, amountMinor: c.amountMinor, currency: c.currency,
  }));
  const soFar = monthLines(month, monthly, charges, today);
  const full = monthLines(month, monthly, charges);
  const soFarByKey = new Map(soFar.map((l) => [l.subscriptionId ?? l.chargeId, l]));
  const lines: PredictedLine[] = full.map((l) => {
    const s = soFarByKey.get(l.subscriptionId ?? l.chargeId);
    return {
      kind: l.kind, subscriptionId: l.subscriptionId, description: l.description, descriptionKey: l.descriptionKey, fromDay: l.fromDay, throughDay: l.throughDay,
      daysSoFar: l.activeDays === null ? null : (s?.activeDays ?? 0), daysAtMonthEnd: l.activeDays, daysInMonth: l.daysInMonth,
      monthlyPriceMinor: l.kind === 'monthly' ? l.unitPriceMinor : null, soFarMinor: s?.amountMinor ?? 0, estimateMinor: l.amountMinor,
      note: l.subscriptionId ? noteOf(byId.get(l.subscriptionId), byId, l.fromDay, l.throughDay, month.first, month.last) : null,
    };
  });
  const chart: Prediction['chart'] = [];
  for (let d = 1; d <= month.days; d++) {
    const day = formatDay(month.year, month.month, d);
    chart.push({ day, amountMinor: totalOf(monthLines(month, monthly, charges, day)), estimated: day > today });
  }
  const prepaid = all
    .filter((s) => s.billing === 'term' && s.status !== 'refunded' && s.startDay <= month.last && (s.termLastDay ?? '') >= month.first)
    .map((s) => ({ subscriptionId: s.id, name: s.name, fromDay: s.startDay, throughDay: s.termLastDay! }));
  const buyer = seller ? await buyerParty(deps.db, account.buyerId) : null;
  const taxedSoFar = seller ? taxLines(soFar, seller, buyer).totals : null;
  const taxedFull = seller ? taxLines(full, seller, buyer).totals : null;
  const tax: Prediction['tax'] = seller && taxedSoFar && taxedFull ? {
    priceMode: seller.mode,
    soFar: { netMinor: taxedSoFar.net, taxMinor: taxedSoFar.tax, totalMinor: taxedSoFar.total },
    estimate: { netMinor: taxedFull.net, taxMinor: taxedFull.tax, totalMinor: taxedFull.total, byRate: taxedFull.byRate.map((r) => ({ rateBp: r.rateBp, netMinor: r.net, taxMinor: r.tax })) },
  } : null;
  return {
    period: month.period, periodStart: month.first, periodEnd: month.last, today, daysElapsed: Number(today.slice(8, 10)), daysInMonth: month.days,
    cutOffDay: nextMonth(month).first, currency: full[0]?.currency ?? all.find((s) => s.status === 'active')?.currency ?? null,
    soFarMinor: taxedSoFar?.total ?? totalOf(soFar), estimateMinor: taxedFull?.total ?? totalOf(full), lines, chart, prepaid, tax,
  };
}

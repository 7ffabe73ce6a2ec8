// The lines of one account's month (pure: no I/O). Used by the monthly cut (the whole month) and
// by the prediction (the month so far, and to its end). Proration is proration.ts's: active days
// of the month in the seller's calendar, monthly price x days / days in month, rounded half-up
// once per line; one-off charges (extra sessions, on-account top-ups) in full.
import { offerLineText } from './line-text';
import { daysInMonth, formatDay, prorateLine, type ActivePeriod, type CalendarDay } from './proration';

export interface MonthlySubscriptionInput {
  subscriptionId: string;
  name: string;
  quantity: number;
  /** Monthly price of one unit. */
  monthlyPriceMinor: number;
  currency: string;
  periods: ActivePeriod[];
  /** The offer's own tax rate; null or absent: the seller's default. */
  rateBp?: number | null;
}

export interface ChargeInput {
  chargeId: string;
  kind: 'extra_sessions' | 'topup';
  description: string;
  /** The charge's description as a message (account_charges.description_key), null for old charges. */
  descriptionKey?: string | null;
  day: CalendarDay;
  quantity: number;
  unitPriceMinor: number;
  amountMinor: number;
  currency: string;
}

export interface ComputedLine {
  kind: 'monthly' | 'extra_sessions' | 'topup';
  subscriptionId: string | null;
  chargeId: string | null;
  description: string;
  /** A text Kontor writes, as a message (invoice_lines.description_key, docs/i18n.md); null: as written. */
  descriptionKey: string | null;
  /** First and last billed day of the month (a charge: its day). */
  fromDay: CalendarDay;
  throughDay: CalendarDay;
  activeDays: number | null;
  daysInMonth: number | null;
  quantity: number;
  unitPriceMinor: number;
  amountMinor: number;
  currency: string;
  /** The offer's own tax rate (null: the seller's default). The amount is as the seller states it; tax comes at issue. */
  rateBp: number | null;
}

export interface MonthBounds {
  year: number;
  month: number;
  first: CalendarDay;
  last: CalendarDay;
  days: number;
  /** 'YYYY-MM' */
  period: string;
}

export function monthBounds(year: number, month: number): MonthBounds {
  const days = daysInMonth(year, month);
  return { year, month, days, first: formatDay(year, month, 1), last: formatDay(year, month, days), period: formatDay(year, month, 1).slice(0, 7) };
}

/** The month a 'YYYY-MM' period or a calendar day is in. */
export function monthOf(dayOrPeriod: string): MonthBounds {
  return monthBounds(Number(dayOrPeriod.slice(0, 4)), Number(dayOrPeriod.slice(5, 7)));
}

export function nextMonth(m: MonthBounds): MonthBounds {
  return m.month === 12 ? monthBounds(m.year + 1, 1) : monthBounds(m.year, m.month + 1);
}

export function previousMonth(m: MonthBounds): MonthBounds {
  return m.month === 1 ? monthBounds(m.year - 1, 12) : monthBounds(m.year, m.month - 1);
}

/**
 * An account's lines for a month. With `through`, only days up to and including it count (the
 * amount so far); without, the whole month. Lines without a billed day are left out.
 */
export function monthLines(m: MonthBounds, subs: readonly MonthlySubscriptionInput[], charges: readonly ChargeInput[], through?: CalendarDay): ComputedLine[] {
  const cap = through && through < m.last ? through : m.last;
  const lines: ComputedLine[] = [];
  // Ids are time-ordered: lines of the same first day come in the order they were bought.
  for (const s of [...subs].sort((x, y) => (x.subscriptionId < y.subscriptionId ? -1 : x.subscriptionId > y.subscriptionId ? 1 : 0))) {
    let from: CalendarDay | null = null;
    let to: CalendarDay | null = null;
    // Clipped to this month, a period is a range of days of the month ('YYYY-MM-DD'.slice(8)); a
    // day covered by two periods counts once. (Hot loop of the cut: no Date, no Set.)
    const covered = new Uint8Array(32);
    let active = 0;
    for (const p of s.periods) {
      const a = p.from < m.first ? m.first : p.from;
      const b = p.through === null || p.through > cap ? cap : p.through;
      if (a > b) continue;
      if (from === null || a < from) from = a;
      if (to === null || b > to) to = b;
      for (let d = Number(a.slice(8, 10)), last = Number(b.slice(8, 10)); d <= last; d++) {
        if (covered[d] === 0) {
          covered[d] = 1;
          active++;
        }
      }
    }
    if (from === null || to === null) continue;
    const price = s.monthlyPriceMinor * s.quantity;
    lines.push({
      kind: 'monthly', subscriptionId: s.subscriptionId, chargeId: null, ...offerLineText(s.name, s.quantity),
      fromDay: from, throughDay: to, activeDays: active, daysInMonth: m.days, quantity: s.quantity, unitPriceMinor: price, amountMinor: prorateLine(price, active, m.days), currency: s.currency,
      rateBp: s.rateBp ?? null,
    });
  }
  for (const c of charges) {
    if (c.day > cap) continue;
    lines.push({
      kind: c.kind, subscriptionId: null, chargeId: c.chargeId, description: c.description, descriptionKey: c.descriptionKey ?? null, fromDay: c.day, throughDay: c.day, activeDays: null, daysInMonth: null,
      quantity: c.quantity, unitPriceMinor: c.unitPriceMinor, amountMinor: c.amountMinor, currency: c.currency, rateBp: null,
    });
  }
  // Stable order: by first day, monthly items before one-off charges of the same day.
  return lines.sort((a, b) => (a.fromDay < b.fromDay ? -1 : a.fromDay > b.fromDay ? 1 : a.kind === b.kind ? 0 : a.kind === 'monthly' ? -1 : 1));
}

export const totalOf = (lines: readonly Pick<ComputedLine, 'amountMinor'>[]) => lines.reduce((t, l) => t + l.amountMinor, 0);

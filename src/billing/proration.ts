/**
 * Pure proration rules of the subscription billing engine (DESIGN.md section 6).
 *
 * Everything here is a calendar-day computation: an instant is first mapped to a
 * calendar day ('YYYY-MM-DD') in the seller's IANA time zone, and from then on only
 * whole days are counted. That is why DST never changes a bill: a 23- or 25-hour day
 * is still one day. Money is integer minor units; rounding is done with BigInt so the
 * half-up step is exact for any safe-integer price.
 */
import { DateTime } from 'luxon';

export const DEFAULT_SELLER_ZONE = 'Europe/Istanbul';

/** A calendar day in the seller's zone, 'YYYY-MM-DD'. */
export type CalendarDay = string;

export type ProrationErrorCode =
  | 'INVALID_AMOUNT'
  | 'INVALID_DAYS'
  | 'INVALID_DAY'
  | 'INVALID_MONTH'
  | 'INVALID_PERIOD'
  | 'INVALID_INSTANT'
  | 'INVALID_ZONE'
  | 'INVALID_TERM';

/** Thrown for any bad input; callers can branch on `code` instead of the message. */
export class ProrationError extends Error {
  override readonly name = 'ProrationError';
  readonly code: ProrationErrorCode;
  constructor(code: ProrationErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

// ---------------------------------------------------------------------------
// Calendar days (no time zone involved: plain proleptic Gregorian arithmetic)
// ---------------------------------------------------------------------------

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

function assertYearMonth(year: number, month: number): void {
  if (!Number.isInteger(year) || year < 1 || year > 9999) {
    throw new ProrationError('INVALID_MONTH', `year must be an integer 1..9999, got ${year}`);
  }
  if (!Number.isInteger(month) || month < 1 || month > 12) {
    throw new ProrationError('INVALID_MONTH', `month must be an integer 1..12, got ${month}`);
  }
}

/** Days in a month; `month` is 1..12 (not JS's 0..11). */
export function daysInMonth(year: number, month: number): number {
  assertYearMonth(year, month);
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export function formatDay(year: number, month: number, day: number): CalendarDay {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Strictly parses 'YYYY-MM-DD' and rejects impossible dates such as 2026-02-29. */
export function parseDay(day: CalendarDay): { year: number; month: number; day: number } {
  const m = typeof day === 'string' ? DAY_RE.exec(day) : null;
  if (!m) throw new ProrationError('INVALID_DAY', `not a YYYY-MM-DD calendar day: ${String(day)}`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const d = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || d < 1 || d > daysInMonth(year, month)) {
    throw new ProrationError('INVALID_DAY', `no such calendar day: ${day}`);
  }
  return { year, month, day: d };
}

// Day <-> day number through UTC, which has no DST, so one day is exactly 86 400 000 ms.
// setUTCFullYear is used because Date.UTC maps years 0..99 to 1900..1999.
function toDayNumber(day: CalendarDay): number {
  const p = parseDay(day);
  const d = new Date(0);
  d.setUTCFullYear(p.year, p.month - 1, p.day);
  return Math.round(d.getTime() / MS_PER_DAY);
}

function fromDayNumber(n: number): CalendarDay {
  const d = new Date(n * MS_PER_DAY);
  return formatDay(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

/** Whole calendar days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: CalendarDay, to: CalendarDay): number {
  return toDayNumber(to) - toDayNumber(from);
}

export function addDays(day: CalendarDay, n: number): CalendarDay {
  if (!Number.isInteger(n)) throw new ProrationError('INVALID_DAYS', `days to add must be an integer, got ${n}`);
  return fromDayNumber(toDayNumber(day) + n);
}

// ---------------------------------------------------------------------------
// Instants <-> calendar days in the seller's zone
// ---------------------------------------------------------------------------

function inZone(instant: Date, zone: string): DateTime {
  if (!(instant instanceof Date) || Number.isNaN(instant.getTime())) {
    throw new ProrationError('INVALID_INSTANT', 'instant must be a valid Date');
  }
  const dt = DateTime.fromJSDate(instant, { zone });
  if (!dt.isValid) throw new ProrationError('INVALID_ZONE', `unsupported time zone: ${zone}`);
  return dt;
}

/** The calendar day an instant falls on in `zone`. */
export function calendarDay(instant: Date, zone: string = DEFAULT_SELLER_ZONE): CalendarDay {
  const dt = inZone(instant, zone);
  return formatDay(dt.year, dt.month, dt.day);
}

/**
 * The first instant of a calendar day in `zone`. If local midnight does not exist
 * (a DST gap at 00:00, e.g. America/Santiago), the day starts at the first existing
 * local time, which is what luxon produces by shifting forward.
 */
export function startOfDayInstant(day: CalendarDay, zone: string = DEFAULT_SELLER_ZONE): Date {
  const p = parseDay(day);
  const dt = DateTime.fromObject({ year: p.year, month: p.month, day: p.day }, { zone });
  if (!dt.isValid) throw new ProrationError('INVALID_ZONE', `unsupported time zone: ${zone}`);
  return dt.toJSDate();
}

/** 00:00 local on the 1st of the month after the one `instant` falls in. */
export function firstOfNextMonthInstant(instant: Date, zone: string = DEFAULT_SELLER_ZONE): Date {
  const dt = inZone(instant, zone);
  const next = dt.month === 12 ? formatDay(dt.year + 1, 1, 1) : formatDay(dt.year, dt.month + 1, 1);
  return startOfDayInstant(next, zone);
}

/** Extra sessions are never prorated and die at the start of the next month (exclusive). */
export function extraSessionExpiry(purchasedAt: Date, zone: string = DEFAULT_SELLER_ZONE): Date {
  return firstOfNextMonthInstant(purchasedAt, zone);
}

// ---------------------------------------------------------------------------
// Monthly items
// ---------------------------------------------------------------------------

/** An inclusive range of billed days; `through: null` means still active. */
export interface ActivePeriod {
  from: CalendarDay;
  through: CalendarDay | null;
}

/**
 * Number of distinct days of `year`-`month` covered by any period. Days are marked in
 * a per-month set rather than summed, so overlapping periods (cancel and reactivate on
 * the same day) and duplicates never bill a day twice.
 */
export function activeDaysInMonth(periods: readonly ActivePeriod[], year: number, month: number): number {
  const dim = daysInMonth(year, month);
  const monthFirst = toDayNumber(formatDay(year, month, 1));
  const monthLast = monthFirst + dim - 1;
  const billed = new Set<number>();
  for (const period of periods) {
    const from = toDayNumber(period.from);
    // Open-ended periods run forever; clipping to this month happens below.
    const through = period.through === null ? Number.POSITIVE_INFINITY : toDayNumber(period.through);
    if (through < from) {
      throw new ProrationError('INVALID_PERIOD', `period ends (${period.through}) before it starts (${period.from})`);
    }
    for (let d = Math.max(from, monthFirst); d <= Math.min(through, monthLast); d++) billed.add(d);
  }
  return billed.size;
}

function assertMinor(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ProrationError('INVALID_AMOUNT', `${what} must be a non-negative safe integer (minor units), got ${value}`);
  }
}

/** Half-up integer division of non-negative BigInts: floor((2n + d) / 2d). */
function divHalfUp(numerator: bigint, denominator: bigint): number {
  return Number((2n * numerator + denominator) / (2n * denominator));
}

/**
 * monthly price x activeDays / daysInMonth, rounded half-up ONCE for the whole line.
 * Rounding a daily price first would drift (1000/31 per day x 31 = 992, not 1000).
 */
export function prorateLine(monthlyPriceMinor: number, activeDays: number, daysInMonthCount: number): number {
  assertMinor(monthlyPriceMinor, 'monthly price');
  if (!Number.isInteger(daysInMonthCount) || daysInMonthCount < 28 || daysInMonthCount > 31) {
    throw new ProrationError('INVALID_DAYS', `days in month must be an integer 28..31, got ${daysInMonthCount}`);
  }
  if (!Number.isInteger(activeDays) || activeDays < 0 || activeDays > daysInMonthCount) {
    throw new ProrationError('INVALID_DAYS', `active days must be an integer 0..${daysInMonthCount}, got ${activeDays}`);
  }
  // Result never exceeds the price, so converting back to number is always safe.
  return divHalfUp(BigInt(monthlyPriceMinor) * BigInt(activeDays), BigInt(daysInMonthCount));
}

export interface MonthlyLine {
  activeDays: number;
  daysInMonth: number;
  amountMinor: number;
}

/** One invoice line for a monthly item in `year`-`month`. */
export function monthlyLine(
  monthlyPriceMinor: number,
  periods: readonly ActivePeriod[],
  year: number,
  month: number,
): MonthlyLine {
  const dim = daysInMonth(year, month);
  const activeDays = activeDaysInMonth(periods, year, month);
  return { activeDays, daysInMonth: dim, amountMinor: prorateLine(monthlyPriceMinor, activeDays, dim) };
}

// ---------------------------------------------------------------------------
// Package changes
// ---------------------------------------------------------------------------

/** Change on day c: old billed through c, new billed from c + 1. */
export function changeBoundaries(changeDay: CalendarDay): { oldThrough: CalendarDay; newFrom: CalendarDay } {
  return { oldThrough: changeDay, newFrom: addDays(changeDay, 1) };
}

/**
 * Which package grants entitlements on the change day itself: the higher-priced one.
 * On a tie the old one stays, matching what is billed for that day.
 */
export function packageInEffectOnChangeDay<P extends { priceMinor: number }>(old: P, next: P): P {
  assertMinor(old.priceMinor, 'old package price');
  assertMinor(next.priceMinor, 'new package price');
  return next.priceMinor > old.priceMinor ? next : old;
}

export interface PackageChange<P extends { priceMinor: number }> {
  day: CalendarDay;
  from: P;
  to: P;
}

/** Package in effect on `day` given one change: old before, higher-priced on, new after. */
export function packageInEffectOn<P extends { priceMinor: number }>(change: PackageChange<P>, day: CalendarDay): P {
  const d = toDayNumber(day);
  const c = toDayNumber(change.day);
  if (d < c) return change.from;
  if (d > c) return change.to;
  return packageInEffectOnChangeDay(change.from, change.to);
}

// ---------------------------------------------------------------------------
// Term packages (prepaid 3 / 6 / 12 months)
// ---------------------------------------------------------------------------

export type TermMonths = 3 | 6 | 12;

const TERM_DISCOUNT_PERCENT: Record<TermMonths, number> = { 3: 10, 6: 20, 12: 30 };

export function termDiscountPercent(months: TermMonths): number {
  // Runtime check too: months often arrives from a form or JSON.
  const pct = (TERM_DISCOUNT_PERCENT as Record<number, number | undefined>)[months];
  if (pct === undefined) throw new ProrationError('INVALID_TERM', `term must be 3, 6 or 12 months, got ${months}`);
  return pct;
}

/** monthly price x months x (100 - discount) / 100, rounded half-up once. */
export function termPrice(monthlyPriceMinor: number, months: TermMonths): number {
  assertMinor(monthlyPriceMinor, 'monthly price');
  const pct = termDiscountPercent(months);
  const total = divHalfUp(BigInt(monthlyPriceMinor) * BigInt(months) * BigInt(100 - pct), 100n);
  if (!Number.isSafeInteger(total)) throw new ProrationError('INVALID_AMOUNT', 'term price exceeds safe integer range');
  return total;
}

/**
 * The n-th monthly anniversary of `startDay` (n = 0 is the start itself), clamped to
 * the month's last day. Always computed from the original day-of-month so that a Jan 31
 * start gives Feb 28 then Mar 31, not a chained Mar 28.
 */
export function nthAnniversary(startDay: CalendarDay, n: number): CalendarDay {
  if (!Number.isInteger(n) || n < 0) throw new ProrationError('INVALID_TERM', `anniversary index must be a non-negative integer, got ${n}`);
  const s = parseDay(startDay);
  const monthIndex = s.month - 1 + n;
  const year = s.year + Math.floor(monthIndex / 12);
  const month = (monthIndex % 12) + 1;
  return formatDay(year, month, Math.min(s.day, daysInMonth(year, month)));
}

/** Days on which the monthly quota (re)starts: the start and each anniversary inside the term. */
export function monthlyAnniversaries(startDay: CalendarDay, months: TermMonths): CalendarDay[] {
  termDiscountPercent(months);
  return Array.from({ length: months }, (_, i) => nthAnniversary(startDay, i));
}

/** First day no longer covered by the term (exclusive end). */
export function termEndDay(startDay: CalendarDay, months: TermMonths): CalendarDay {
  termDiscountPercent(months);
  return nthAnniversary(startDay, months);
}

/**
 * The quota month of a term that `day` falls in: index 0..months-1 and its
 * [from, until) range, or null outside the term.
 */
export function termMonthOn(
  startDay: CalendarDay,
  months: TermMonths,
  day: CalendarDay,
): { index: number; from: CalendarDay; until: CalendarDay } | null {
  const d = toDayNumber(day);
  if (d < toDayNumber(startDay) || d >= toDayNumber(termEndDay(startDay, months))) return null;
  for (let i = months - 1; i >= 0; i--) {
    const from = nthAnniversary(startDay, i);
    if (toDayNumber(from) <= d) return { index: i, from, until: nthAnniversary(startDay, i + 1) };
  }
  return null;
}

/**
 * Table-driven tests for the proration rules (DESIGN.md section 6). Every expected value
 * in the tables is worked out by hand from the rules (the arithmetic is in the comments);
 * none is computed by calling the module under test.
 */
import { expect } from 'chai';
import {
  ProrationError,
  activeDaysInMonth,
  addDays,
  calendarDay,
  changeBoundaries,
  daysInMonth,
  extraSessionExpiry,
  firstOfNextMonthInstant,
  monthlyAnniversaries,
  monthlyLine,
  nthAnniversary,
  packageInEffectOn,
  packageInEffectOnChangeDay,
  prorateLine,
  startOfDayInstant,
  termDiscountPercent,
  termEndDay,
  termMonthOn,
  termPrice,
  type ActivePeriod,
  type ProrationErrorCode,
  type TermMonths,
} from '../../src/billing/proration';

const NY = 'America/New_York';
const IST = 'Europe/Istanbul';

function expectProrationError(fn: () => unknown, code: ProrationErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a ProrationError').to.be.instanceOf(ProrationError);
  expect((caught as ProrationError).code).to.equal(code);
}

describe('billing/proration', () => {
  describe('daysInMonth', () => {
    const cases: [number, number, number][] = [
      [2026, 1, 31],
      [2026, 2, 28],
      [2028, 2, 29], // leap year
      [2100, 2, 28], // divisible by 100, not by 400
      [2000, 2, 29], // divisible by 400
      [2026, 4, 30],
      [2026, 12, 31],
    ];
    for (const [year, month, days] of cases) {
      it(`${year}-${month} has ${days} days`, () => expect(daysInMonth(year, month)).to.equal(days));
    }
  });

  describe('monthly line: active days and amount', () => {
    interface Case {
      name: string;
      price: number;
      periods: ActivePeriod[];
      year: number;
      month: number;
      days: number;
      dim: number;
      amount: number;
    }
    const cases: Case[] = [
      // Full months are exactly the monthly price, whatever the month length.
      { name: 'full 28-day month (Feb 2026)', price: 2800, periods: [{ from: '2026-01-15', through: null }], year: 2026, month: 2, days: 28, dim: 28, amount: 2800 },
      { name: 'full 29-day month (Feb 2028, leap)', price: 2900, periods: [{ from: '2027-12-01', through: null }], year: 2028, month: 2, days: 29, dim: 29, amount: 2900 },
      { name: 'full 30-day month (Apr 2026)', price: 4999, periods: [{ from: '2026-04-01', through: '2026-04-30' }], year: 2026, month: 4, days: 30, dim: 30, amount: 4999 },
      // 1000/31 per day rounded = 32, x31 = 992; the line must still be 1000.
      { name: 'full 31-day month (Jan 2026), price not divisible by 31', price: 1000, periods: [{ from: '2025-06-01', through: '2026-03-01' }], year: 2026, month: 1, days: 31, dim: 31, amount: 1000 },
      // Purchase mid-month: billed from the purchase day through month end.
      { name: 'purchase Feb 15 in a 28-day month', price: 2800, periods: [{ from: '2026-02-15', through: null }], year: 2026, month: 2, days: 14, dim: 28, amount: 1400 },
      { name: 'purchase Feb 15 in a 29-day month', price: 2900, periods: [{ from: '2028-02-15', through: null }], year: 2028, month: 2, days: 15, dim: 29, amount: 1500 },
      // 1000 x 10 / 29 = 344.83 -> 345
      { name: 'purchase Feb 20 2028, uneven', price: 1000, periods: [{ from: '2028-02-20', through: null }], year: 2028, month: 2, days: 10, dim: 29, amount: 345 },
      { name: 'purchase Apr 11 in a 30-day month', price: 3000, periods: [{ from: '2026-04-11', through: null }], year: 2026, month: 4, days: 20, dim: 30, amount: 2000 },
      { name: 'purchase Jan 16 in a 31-day month', price: 3100, periods: [{ from: '2026-01-16', through: null }], year: 2026, month: 1, days: 16, dim: 31, amount: 1600 },
      { name: 'purchase on the last day of the month', price: 3100, periods: [{ from: '2026-01-31', through: null }], year: 2026, month: 1, days: 1, dim: 31, amount: 100 },
      // Cancel on day 20 of a 31-day month: days 1..20 inclusive.
      { name: 'cancel on Jan 20 (31-day month)', price: 3100, periods: [{ from: '2025-12-05', through: '2026-01-20' }], year: 2026, month: 1, days: 20, dim: 31, amount: 2000 },
      // 1000 x 20 / 31 = 645.16 -> 645 (per-day rounding would give 32 x 20 = 640)
      { name: 'cancel on Jan 20, uneven price', price: 1000, periods: [{ from: '2025-12-05', through: '2026-01-20' }], year: 2026, month: 1, days: 20, dim: 31, amount: 645 },
      { name: 'cancel on the 1st: that day is billed', price: 3100, periods: [{ from: '2025-12-10', through: '2026-01-01' }], year: 2026, month: 1, days: 1, dim: 31, amount: 100 },
      { name: 'purchase and cancel on the same day', price: 3100, periods: [{ from: '2026-01-10', through: '2026-01-10' }], year: 2026, month: 1, days: 1, dim: 31, amount: 100 },
      // Cancel and reactivate on day 20: day 20 is in both periods but billed once -> 31 days.
      { name: 'cancel and reactivate the same day', price: 3100, periods: [{ from: '2026-01-01', through: '2026-01-20' }, { from: '2026-01-20', through: null }], year: 2026, month: 1, days: 31, dim: 31, amount: 3100 },
      // Cancel 20, reactivate 25: 1..20 (20) + 25..31 (7) = 27 -> 3100 x 27 / 31 = 2700
      { name: 'cancel Jan 20, reactivate Jan 25', price: 3100, periods: [{ from: '2026-01-01', through: '2026-01-20' }, { from: '2026-01-25', through: null }], year: 2026, month: 1, days: 27, dim: 31, amount: 2700 },
      { name: 'adjacent periods', price: 3100, periods: [{ from: '2026-01-01', through: '2026-01-10' }, { from: '2026-01-11', through: '2026-01-31' }], year: 2026, month: 1, days: 31, dim: 31, amount: 3100 },
      { name: 'duplicate periods counted once', price: 3100, periods: [{ from: '2026-01-05', through: '2026-01-14' }, { from: '2026-01-05', through: '2026-01-14' }], year: 2026, month: 1, days: 10, dim: 31, amount: 1000 },
      { name: 'period entirely before the month', price: 3100, periods: [{ from: '2025-11-01', through: '2025-12-31' }], year: 2026, month: 1, days: 0, dim: 31, amount: 0 },
      { name: 'period entirely after the month', price: 3100, periods: [{ from: '2026-02-01', through: null }], year: 2026, month: 1, days: 0, dim: 31, amount: 0 },
      { name: 'no periods', price: 3100, periods: [], year: 2026, month: 1, days: 0, dim: 31, amount: 0 },
      // 100 x 10 / 30 = 33.33 -> 33 (per-day rounding: 3 x 10 = 30)
      { name: '10 days of a 30-day month, small price', price: 100, periods: [{ from: '2026-04-21', through: null }], year: 2026, month: 4, days: 10, dim: 30, amount: 33 },
    ];
    for (const c of cases) {
      it(c.name, () => {
        expect(activeDaysInMonth(c.periods, c.year, c.month)).to.equal(c.days);
        expect(monthlyLine(c.price, c.periods, c.year, c.month)).to.deep.equal({ activeDays: c.days, daysInMonth: c.dim, amountMinor: c.amount });
      });
    }
  });

  describe('prorateLine rounds half-up once per line', () => {
    const cases: { price: number; days: number; dim: number; expected: number; why: string }[] = [
      { price: 1000, days: 15, dim: 30, expected: 500, why: 'exact' },
      { price: 1001, days: 15, dim: 30, expected: 501, why: '500.5 rounds up' },
      { price: 1, days: 14, dim: 28, expected: 1, why: '0.5 rounds up' },
      { price: 3, days: 14, dim: 28, expected: 2, why: '1.5 rounds up' },
      { price: 5, days: 15, dim: 30, expected: 3, why: '2.5 rounds up (not half-even)' },
      { price: 10001, days: 14, dim: 28, expected: 5001, why: '5000.5 rounds up' },
      { price: 1, days: 15, dim: 31, expected: 0, why: '0.484 rounds down' },
      { price: 1, days: 16, dim: 31, expected: 1, why: '0.516 rounds up' },
      { price: 999, days: 10, dim: 31, expected: 322, why: '322.258 rounds down' },
      { price: 0, days: 10, dim: 31, expected: 0, why: 'free item' },
      { price: 5000, days: 0, dim: 30, expected: 0, why: 'no active days' },
      { price: 12345, days: 31, dim: 31, expected: 12345, why: 'full 31-day month' },
      { price: 9999, days: 28, dim: 28, expected: 9999, why: 'full 28-day month' },
      { price: 9999, days: 29, dim: 29, expected: 9999, why: 'full 29-day month' },
      // 9007199254740991 / 2 = 4503599627370495.5 -> ...496; float arithmetic would lose this.
      { price: Number.MAX_SAFE_INTEGER, days: 15, dim: 30, expected: 4503599627370496, why: 'largest safe price, half' },
      { price: Number.MAX_SAFE_INTEGER, days: 31, dim: 31, expected: Number.MAX_SAFE_INTEGER, why: 'largest safe price, full' },
    ];
    for (const c of cases) {
      it(`${c.price} x ${c.days}/${c.dim} = ${c.expected} (${c.why})`, () => {
        expect(prorateLine(c.price, c.days, c.dim)).to.equal(c.expected);
      });
    }

    // perDay = round(price / dim) x days, worked out by hand, to show the line differs.
    const perDayDiffers: { price: number; days: number; dim: number; perLine: number; perDay: number }[] = [
      { price: 1000, days: 31, dim: 31, perLine: 1000, perDay: 992 }, // 32 x 31
      { price: 1000, days: 20, dim: 31, perLine: 645, perDay: 640 }, // 645.16 vs 32 x 20
      { price: 100, days: 10, dim: 30, perLine: 33, perDay: 30 }, // 33.33 vs 3 x 10
      { price: 1000, days: 3, dim: 28, perLine: 107, perDay: 108 }, // 107.14 vs 36 x 3
    ];
    for (const c of perDayDiffers) {
      it(`${c.price} x ${c.days}/${c.dim}: per-line ${c.perLine}, not per-day ${c.perDay}`, () => {
        expect(c.perLine).to.not.equal(c.perDay);
        expect(prorateLine(c.price, c.days, c.dim)).to.equal(c.perLine);
      });
    }
  });

  describe('package change on day c', () => {
    const basic = { id: 'basic', priceMinor: 3100 };
    const pro = { id: 'pro', priceMinor: 6200 };
    const cases = [
      // Up on Jan 20: Basic 1..20 = 3100 x 20/31 = 2000; Pro 21..31 = 6200 x 11/31 = 2200.
      { name: 'change up on Jan 20', from: basic, to: pro, day: '2026-01-20', oldAmount: 2000, newAmount: 2200, onPrev: basic, onDay: pro, onNext: pro },
      // Down on the same day: Pro 1..20 = 4000; Basic 21..31 = 1100. Pro (higher) still on day 20.
      { name: 'change down on Jan 20', from: pro, to: basic, day: '2026-01-20', oldAmount: 4000, newAmount: 1100, onPrev: pro, onDay: pro, onNext: basic },
      // Change on the last day: new item starts on Feb 1, so nothing in January.
      { name: 'change up on Jan 31', from: basic, to: pro, day: '2026-01-31', oldAmount: 3100, newAmount: 0, onPrev: basic, onDay: pro, onNext: pro },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const { oldThrough, newFrom } = changeBoundaries(c.day);
        expect(oldThrough).to.equal(c.day);
        const oldLine = monthlyLine(c.from.priceMinor, [{ from: '2025-12-01', through: oldThrough }], 2026, 1);
        const newLine = monthlyLine(c.to.priceMinor, [{ from: newFrom, through: null }], 2026, 1);
        expect(oldLine.amountMinor).to.equal(c.oldAmount);
        expect(newLine.amountMinor).to.equal(c.newAmount);
        // The change day is billed exactly once, on the old item.
        expect(oldLine.activeDays + newLine.activeDays).to.equal(31);
        const change = { day: c.day, from: c.from, to: c.to };
        expect(packageInEffectOn(change, addDays(c.day, -1))).to.equal(c.onPrev);
        expect(packageInEffectOn(change, c.day)).to.equal(c.onDay);
        expect(packageInEffectOn(change, addDays(c.day, 1))).to.equal(c.onNext);
      });
    }

    const boundaries: [string, string][] = [
      ['2026-01-20', '2026-01-21'],
      ['2026-12-31', '2027-01-01'],
      ['2028-02-28', '2028-02-29'],
      ['2026-02-28', '2026-03-01'],
    ];
    for (const [day, newFrom] of boundaries) {
      it(`change on ${day}: new item billed from ${newFrom}`, () => {
        expect(changeBoundaries(day)).to.deep.equal({ oldThrough: day, newFrom });
      });
    }

    const onChangeDay: { old: number; next: number; winner: 'old' | 'next' }[] = [
      { old: 1000, next: 2000, winner: 'next' },
      { old: 2000, next: 1000, winner: 'old' },
      { old: 1500, next: 1500, winner: 'old' }, // tie: the billed (old) package stays
    ];
    for (const c of onChangeDay) {
      it(`on the change day ${c.old} -> ${c.next}: ${c.winner} is in effect`, () => {
        const old = { priceMinor: c.old };
        const next = { priceMinor: c.next };
        expect(packageInEffectOnChangeDay(old, next)).to.equal(c.winner === 'old' ? old : next);
      });
    }
  });

  describe('term packages', () => {
    const discounts: [TermMonths, number][] = [[3, 10], [6, 20], [12, 30]];
    for (const [months, pct] of discounts) {
      it(`${months}-month discount is ${pct}%`, () => expect(termDiscountPercent(months)).to.equal(pct));
    }

    const prices: { monthly: number; months: TermMonths; expected: number; why: string }[] = [
      { monthly: 1000, months: 3, expected: 2700, why: '3000 x 0.9' },
      { monthly: 1000, months: 6, expected: 4800, why: '6000 x 0.8' },
      { monthly: 1000, months: 12, expected: 8400, why: '12000 x 0.7' },
      { monthly: 999, months: 3, expected: 2697, why: '2997 x 0.9 = 2697.3' },
      { monthly: 5, months: 3, expected: 14, why: '15 x 0.9 = 13.5 rounds up' },
      { monthly: 1005, months: 3, expected: 2714, why: '3015 x 0.9 = 2713.5 rounds up' },
      { monthly: 1, months: 12, expected: 8, why: '12 x 0.7 = 8.4' },
      { monthly: 3, months: 6, expected: 14, why: '18 x 0.8 = 14.4' },
      { monthly: 1234, months: 12, expected: 10366, why: '14808 x 0.7 = 10365.6' },
      { monthly: 1999, months: 6, expected: 9595, why: '11994 x 0.8 = 9595.2' },
      { monthly: 0, months: 12, expected: 0, why: 'free' },
    ];
    for (const c of prices) {
      it(`${c.months} months of ${c.monthly} = ${c.expected} (${c.why})`, () => {
        expect(termPrice(c.monthly, c.months)).to.equal(c.expected);
      });
    }

    const terms: { start: string; months: TermMonths; resets: string[]; end: string }[] = [
      {
        // 12 months bought on Jan 31: every reset is clamped from the original day 31.
        start: '2026-01-31',
        months: 12,
        resets: ['2026-01-31', '2026-02-28', '2026-03-31', '2026-04-30', '2026-05-31', '2026-06-30', '2026-07-31', '2026-08-31', '2026-09-30', '2026-10-31', '2026-11-30', '2026-12-31'],
        end: '2027-01-31',
      },
      { start: '2028-01-31', months: 3, resets: ['2028-01-31', '2028-02-29', '2028-03-31'], end: '2028-04-30' },
      { start: '2026-08-31', months: 6, resets: ['2026-08-31', '2026-09-30', '2026-10-31', '2026-11-30', '2026-12-31', '2027-01-31'], end: '2027-02-28' },
      {
        start: '2028-02-29',
        months: 12,
        resets: ['2028-02-29', '2028-03-29', '2028-04-29', '2028-05-29', '2028-06-29', '2028-07-29', '2028-08-29', '2028-09-29', '2028-10-29', '2028-11-29', '2028-12-29', '2029-01-29'],
        end: '2029-02-28',
      },
      { start: '2026-03-15', months: 3, resets: ['2026-03-15', '2026-04-15', '2026-05-15'], end: '2026-06-15' },
      { start: '2026-11-30', months: 3, resets: ['2026-11-30', '2026-12-30', '2027-01-30'], end: '2027-02-28' },
    ];
    for (const t of terms) {
      it(`${t.months} months from ${t.start}: resets and end ${t.end}`, () => {
        expect(monthlyAnniversaries(t.start, t.months)).to.deep.equal(t.resets);
        expect(termEndDay(t.start, t.months)).to.equal(t.end);
      });
    }

    const nth: [string, number, string][] = [
      ['2026-01-31', 0, '2026-01-31'],
      ['2026-01-31', 1, '2026-02-28'],
      ['2026-01-31', 2, '2026-03-31'], // from the original 31, not chained from Feb 28
      ['2026-01-31', 13, '2027-02-28'],
      ['2026-01-31', 25, '2028-02-29'],
      ['2026-12-15', 1, '2027-01-15'],
    ];
    for (const [start, n, expected] of nth) {
      it(`anniversary ${n} of ${start} is ${expected}`, () => expect(nthAnniversary(start, n)).to.equal(expected));
    }

    const quotaMonths: [string, { index: number; from: string; until: string } | null][] = [
      ['2026-01-30', null], // before the start
      ['2026-01-31', { index: 0, from: '2026-01-31', until: '2026-02-28' }],
      ['2026-02-27', { index: 0, from: '2026-01-31', until: '2026-02-28' }],
      ['2026-02-28', { index: 1, from: '2026-02-28', until: '2026-03-31' }],
      ['2026-03-30', { index: 1, from: '2026-02-28', until: '2026-03-31' }],
      ['2026-03-31', { index: 2, from: '2026-03-31', until: '2026-04-30' }],
      ['2026-12-31', { index: 11, from: '2026-12-31', until: '2027-01-31' }],
      ['2027-01-30', { index: 11, from: '2026-12-31', until: '2027-01-31' }],
      ['2027-01-31', null], // end is exclusive
    ];
    for (const [day, expected] of quotaMonths) {
      it(`12-month term from 2026-01-31, quota month on ${day}`, () => {
        expect(termMonthOn('2026-01-31', 12, day)).to.deep.equal(expected);
      });
    }
  });

  describe('calendarDay maps instants into the seller zone', () => {
    const cases: { instant: string; zone: string; day: string; why: string }[] = [
      // Europe/Istanbul is UTC+3 all year: 21:00-23:59 UTC is already the next day.
      { instant: '2026-01-31T20:59:59.999Z', zone: IST, day: '2026-01-31', why: '23:59:59.999 local' },
      { instant: '2026-01-31T21:00:00.000Z', zone: IST, day: '2026-02-01', why: '00:00 local' },
      { instant: '2026-01-31T23:59:00.000Z', zone: IST, day: '2026-02-01', why: '02:59 local' },
      { instant: '2026-01-31T23:59:59.999Z', zone: IST, day: '2026-02-01', why: '02:59:59.999 local' },
      { instant: '2026-07-15T21:30:00.000Z', zone: IST, day: '2026-07-16', why: 'summer, still UTC+3' },
      { instant: '2026-12-31T21:00:00.000Z', zone: IST, day: '2027-01-01', why: 'year rollover' },
      { instant: '2028-02-28T22:15:00.000Z', zone: IST, day: '2028-02-29', why: 'leap day' },
      { instant: '2026-03-29T21:00:00.000Z', zone: IST, day: '2026-03-30', why: 'EU DST start does not apply' },
      { instant: '2026-10-25T21:00:00.000Z', zone: IST, day: '2026-10-26', why: 'EU DST end does not apply' },
      // America/New_York, DST starts 2026-03-08 02:00 EST -> 03:00 EDT.
      { instant: '2026-03-08T04:59:59.000Z', zone: NY, day: '2026-03-07', why: '23:59:59 EST' },
      { instant: '2026-03-08T05:00:00.000Z', zone: NY, day: '2026-03-08', why: '00:00 EST' },
      { instant: '2026-03-08T06:59:59.000Z', zone: NY, day: '2026-03-08', why: '01:59:59 EST, before the jump' },
      { instant: '2026-03-08T07:00:00.000Z', zone: NY, day: '2026-03-08', why: '03:00 EDT, after the jump' },
      { instant: '2026-03-09T03:59:59.000Z', zone: NY, day: '2026-03-08', why: '23:59:59 EDT' },
      { instant: '2026-03-09T04:00:00.000Z', zone: NY, day: '2026-03-09', why: '00:00 EDT' },
      { instant: '2026-03-09T04:30:00.000Z', zone: NY, day: '2026-03-09', why: '00:30 EDT (a fixed EST offset would say Mar 8)' },
      // DST ends 2026-11-01 02:00 EDT -> 01:00 EST.
      { instant: '2026-11-01T03:59:59.000Z', zone: NY, day: '2026-10-31', why: '23:59:59 EDT' },
      { instant: '2026-11-01T04:00:00.000Z', zone: NY, day: '2026-11-01', why: '00:00 EDT' },
      { instant: '2026-11-01T05:30:00.000Z', zone: NY, day: '2026-11-01', why: 'first 01:30 (EDT)' },
      { instant: '2026-11-01T06:30:00.000Z', zone: NY, day: '2026-11-01', why: 'second 01:30 (EST)' },
      { instant: '2026-11-02T04:30:00.000Z', zone: NY, day: '2026-11-01', why: '23:30 EST (a fixed EDT offset would say Nov 2)' },
      { instant: '2026-11-02T04:59:59.000Z', zone: NY, day: '2026-11-01', why: '23:59:59 EST' },
      { instant: '2026-11-02T05:00:00.000Z', zone: NY, day: '2026-11-02', why: '00:00 EST' },
    ];
    for (const c of cases) {
      it(`${c.instant} in ${c.zone} is ${c.day} (${c.why})`, () => {
        expect(calendarDay(new Date(c.instant), c.zone)).to.equal(c.day);
      });
    }

    it('defaults to Europe/Istanbul', () => {
      expect(calendarDay(new Date('2026-01-31T21:00:00.000Z'))).to.equal('2026-02-01');
    });

    it('a 23-hour DST day is still one billed day', () => {
      // Active only on Mar 8 (NY): from its first instant to its last.
      const from = calendarDay(new Date('2026-03-08T05:00:00.000Z'), NY);
      const through = calendarDay(new Date('2026-03-09T03:59:59.000Z'), NY);
      expect(activeDaysInMonth([{ from, through }], 2026, 3)).to.equal(1);
      // Mar 8..31 = 24 days of 31: 3100 x 24 / 31 = 2400.
      expect(monthlyLine(3100, [{ from, through: null }], 2026, 3).amountMinor).to.equal(2400);
    });
  });

  describe('startOfDayInstant', () => {
    const cases: { day: string; zone: string; instant: string; why: string }[] = [
      { day: '2026-02-01', zone: IST, instant: '2026-01-31T21:00:00.000Z', why: 'UTC+3' },
      { day: '2026-03-08', zone: NY, instant: '2026-03-08T05:00:00.000Z', why: 'DST start day begins in EST' },
      { day: '2026-03-09', zone: NY, instant: '2026-03-09T04:00:00.000Z', why: 'first full EDT day' },
      { day: '2026-11-01', zone: NY, instant: '2026-11-01T04:00:00.000Z', why: 'DST end day begins in EDT' },
      { day: '2026-11-02', zone: NY, instant: '2026-11-02T05:00:00.000Z', why: 'first full EST day' },
      // Chile springs forward at local midnight: 00:00 -04 does not exist, day starts 01:00 -03.
      { day: '2026-09-06', zone: 'America/Santiago', instant: '2026-09-06T04:00:00.000Z', why: 'midnight in a DST gap' },
    ];
    for (const c of cases) {
      it(`${c.day} in ${c.zone} starts at ${c.instant} (${c.why})`, () => {
        const start = startOfDayInstant(c.day, c.zone);
        expect(start.toISOString()).to.equal(c.instant);
        expect(calendarDay(start, c.zone)).to.equal(c.day);
      });
    }

    const lengths: { day: string; hours: number }[] = [
      { day: '2026-03-08', hours: 23 },
      { day: '2026-03-10', hours: 24 },
      { day: '2026-11-01', hours: 25 },
    ];
    for (const c of lengths) {
      it(`${c.day} in New York lasts ${c.hours} hours`, () => {
        const ms = startOfDayInstant(addDays(c.day, 1), NY).getTime() - startOfDayInstant(c.day, NY).getTime();
        expect(ms).to.equal(c.hours * 3_600_000);
      });
    }
  });

  describe('extra sessions expire at 00:00 local on the 1st of next month', () => {
    const cases: { bought: string; zone: string; expires: string; why: string }[] = [
      { bought: '2026-01-31T20:59:00.000Z', zone: IST, expires: '2026-01-31T21:00:00.000Z', why: 'Jan 31 23:59 local -> one minute later' },
      { bought: '2026-01-31T20:59:59.999Z', zone: IST, expires: '2026-01-31T21:00:00.000Z', why: 'last millisecond of January' },
      { bought: '2026-01-31T21:00:00.000Z', zone: IST, expires: '2026-02-28T21:00:00.000Z', why: 'Feb 1 00:00 local -> Mar 1 00:00' },
      { bought: '2026-06-15T09:00:00.000Z', zone: IST, expires: '2026-06-30T21:00:00.000Z', why: 'mid-month -> Jul 1 00:00' },
      { bought: '2026-12-31T20:59:00.000Z', zone: IST, expires: '2026-12-31T21:00:00.000Z', why: 'Dec 31 23:59 -> Jan 1 next year' },
      { bought: '2028-02-29T20:59:00.000Z', zone: IST, expires: '2028-02-29T21:00:00.000Z', why: 'leap day 23:59' },
      { bought: '2026-03-01T04:59:00.000Z', zone: NY, expires: '2026-03-01T05:00:00.000Z', why: 'Feb 28 23:59 EST' },
      { bought: '2026-03-08T12:00:00.000Z', zone: NY, expires: '2026-04-01T04:00:00.000Z', why: 'bought on DST day, expires in EDT' },
      { bought: '2026-04-01T03:59:00.000Z', zone: NY, expires: '2026-04-01T04:00:00.000Z', why: 'Mar 31 23:59 EDT' },
      { bought: '2026-11-01T03:59:00.000Z', zone: NY, expires: '2026-11-01T04:00:00.000Z', why: 'Oct 31 23:59 EDT' },
      { bought: '2026-10-15T12:00:00.000Z', zone: NY, expires: '2026-11-01T04:00:00.000Z', why: 'Nov 1 00:00 is still EDT' },
      { bought: '2026-12-01T04:59:00.000Z', zone: NY, expires: '2026-12-01T05:00:00.000Z', why: 'Nov 30 23:59 EST' },
    ];
    for (const c of cases) {
      it(`${c.bought} in ${c.zone} expires ${c.expires} (${c.why})`, () => {
        expect(extraSessionExpiry(new Date(c.bought), c.zone).toISOString()).to.equal(c.expires);
        expect(firstOfNextMonthInstant(new Date(c.bought), c.zone).toISOString()).to.equal(c.expires);
      });
    }

    it('defaults to Europe/Istanbul', () => {
      expect(extraSessionExpiry(new Date('2026-01-31T20:59:00.000Z')).toISOString()).to.equal('2026-01-31T21:00:00.000Z');
    });
  });

  describe('bad input throws ProrationError', () => {
    const cases: { name: string; fn: () => unknown; code: ProrationErrorCode }[] = [
      { name: 'negative price', fn: () => prorateLine(-1, 1, 31), code: 'INVALID_AMOUNT' },
      { name: 'fractional price', fn: () => prorateLine(10.5, 1, 31), code: 'INVALID_AMOUNT' },
      { name: 'NaN price', fn: () => prorateLine(Number.NaN, 1, 31), code: 'INVALID_AMOUNT' },
      { name: 'unsafe price', fn: () => prorateLine(2 ** 53, 1, 31), code: 'INVALID_AMOUNT' },
      { name: 'fractional days', fn: () => prorateLine(1000, 1.5, 31), code: 'INVALID_DAYS' },
      { name: 'negative days', fn: () => prorateLine(1000, -1, 31), code: 'INVALID_DAYS' },
      { name: 'more days than the month', fn: () => prorateLine(1000, 32, 31), code: 'INVALID_DAYS' },
      { name: 'impossible month length', fn: () => prorateLine(1000, 10, 27), code: 'INVALID_DAYS' },
      { name: 'through before from', fn: () => activeDaysInMonth([{ from: '2026-01-20', through: '2026-01-19' }], 2026, 1), code: 'INVALID_PERIOD' },
      { name: 'through before from, outside the month', fn: () => activeDaysInMonth([{ from: '2025-05-10', through: '2025-05-01' }], 2026, 1), code: 'INVALID_PERIOD' },
      { name: 'impossible day', fn: () => activeDaysInMonth([{ from: '2026-02-29', through: null }], 2026, 2), code: 'INVALID_DAY' },
      { name: 'badly formatted day', fn: () => activeDaysInMonth([{ from: '2026-1-5', through: null }], 2026, 1), code: 'INVALID_DAY' },
      { name: 'month 13', fn: () => activeDaysInMonth([], 2026, 13), code: 'INVALID_MONTH' },
      { name: 'month 0', fn: () => daysInMonth(2026, 0), code: 'INVALID_MONTH' },
      { name: 'fractional year', fn: () => daysInMonth(2026.5, 1), code: 'INVALID_MONTH' },
      { name: 'negative term price', fn: () => termPrice(-5, 3), code: 'INVALID_AMOUNT' },
      { name: 'fractional term price', fn: () => termPrice(1.5, 3), code: 'INVALID_AMOUNT' },
      { name: 'unsupported term length', fn: () => termPrice(1000, 4 as TermMonths), code: 'INVALID_TERM' },
      { name: 'unsupported term for anniversaries', fn: () => monthlyAnniversaries('2026-01-01', 1 as TermMonths), code: 'INVALID_TERM' },
      { name: 'negative anniversary', fn: () => nthAnniversary('2026-01-31', -1), code: 'INVALID_TERM' },
      { name: 'fractional anniversary', fn: () => nthAnniversary('2026-01-31', 1.5), code: 'INVALID_TERM' },
      { name: 'invalid instant', fn: () => calendarDay(new Date('not a date'), IST), code: 'INVALID_INSTANT' },
      { name: 'unknown zone', fn: () => calendarDay(new Date('2026-01-01T00:00:00Z'), 'Mars/Olympus_Mons'), code: 'INVALID_ZONE' },
      { name: 'unknown zone for start of day', fn: () => startOfDayInstant('2026-01-01', 'Mars/Olympus_Mons'), code: 'INVALID_ZONE' },
      { name: 'impossible day for start of day', fn: () => startOfDayInstant('2026-02-29', IST), code: 'INVALID_DAY' },
      { name: 'fractional days to add', fn: () => addDays('2026-01-01', 0.5), code: 'INVALID_DAYS' },
      { name: 'negative package price', fn: () => packageInEffectOnChangeDay({ priceMinor: -1 }, { priceMinor: 1 }), code: 'INVALID_AMOUNT' },
    ];
    for (const c of cases) {
      it(c.name, () => expectProrationError(c.fn, c.code));
    }

    it('is an Error with a name', () => {
      const err = new ProrationError('INVALID_DAY', 'x');
      expect(err).to.be.instanceOf(Error);
      expect(err.name).to.equal('ProrationError');
    });
  });
});

/** The month's lines of one account (pure), against the proration rules; amounts worked out by hand. */
import { expect } from 'chai';
import { activeDaysInMonth } from '../../src/billing/proration';
import { monthBounds, monthLines } from '../../src/billing/invoice-lines';

const sub = (periods: [string, string | null][], price = 3100, quantity = 1) => ({
  subscriptionId: 'bsb_1', name: 'Chatbot', quantity, monthlyPriceMinor: price, currency: 'TRY', periods: periods.map(([from, through]) => ({ from, through })),
});

describe('billing/invoice-lines: a month of one account', () => {
  const march = monthBounds(2026, 3);
  const cases: [string, [string, string | null][], number, number, string, string][] = [
    // name, periods, active days, amount (3100 a month, 31 days: 100 a day), first, last
    ['all month from before', [['2026-01-15', null]], 31, 3100, '2026-03-01', '2026-03-31'],
    ['from the 10th', [['2026-03-10', null]], 22, 2200, '2026-03-10', '2026-03-31'],
    ['through the 20th', [['2026-02-01', '2026-03-20']], 20, 2000, '2026-03-01', '2026-03-20'],
    ['two periods, a gap 11..19', [['2026-02-01', '2026-03-10'], ['2026-03-20', null]], 22, 2200, '2026-03-01', '2026-03-31'],
    ['overlapping periods count a day once', [['2026-03-01', '2026-03-10'], ['2026-03-10', '2026-03-12']], 12, 1200, '2026-03-01', '2026-03-12'],
    ['one day', [['2026-03-31', '2026-03-31']], 1, 100, '2026-03-31', '2026-03-31'],
  ];
  for (const [name, periods, days, amount, first, last] of cases) {
    it(name, () => {
      const [line] = monthLines(march, [sub(periods)], []);
      expect(line).to.include({ activeDays: days, daysInMonth: 31, amountMinor: amount, fromDay: first, throughDay: last });
      // The same count as the proration module's own.
      expect(activeDaysInMonth(periods.map(([from, through]) => ({ from, through })), 2026, 3)).to.equal(days);
    });
  }

  it('a period outside the month gives no line; a quantity multiplies the monthly price', () => {
    expect(monthLines(march, [sub([['2026-01-01', '2026-02-28']])], [])).to.deep.equal([]);
    // 2 x 1000 for 12 of 31 days: 2000 x 12 / 31 = 774.19 -> 774.
    expect(monthLines(march, [sub([['2026-03-20', null]], 1000, 2)], [])[0]).to.include({ description: 'Chatbot x 2', unitPriceMinor: 2000, amountMinor: 774 });
  });

  it('so far: only days through the given day count; a charge after it is left out', () => {
    const charge = { chargeId: 'chg_1', kind: 'extra_sessions' as const, description: 'Extra', day: '2026-03-25', quantity: 1, unitPriceMinor: 500, amountMinor: 500, currency: 'TRY' };
    const soFar = monthLines(march, [sub([['2026-03-05', null]])], [charge], '2026-03-14');
    expect(soFar.map((l) => [l.kind, l.activeDays, l.amountMinor])).to.deep.equal([['monthly', 10, 1000]]);
    const full = monthLines(march, [sub([['2026-03-05', null]])], [charge]);
    expect(full.map((l) => [l.kind, l.activeDays, l.amountMinor])).to.deep.equal([['monthly', 27, 2700], ['extra_sessions', null, 500]]);
  });

  it('February of a leap year: a full month is the price, half of it rounds half-up once', () => {
    const feb = monthBounds(2028, 2);
    expect(monthLines(feb, [sub([['2028-01-10', null]], 2900)], [])[0]).to.include({ activeDays: 29, amountMinor: 2900 });
    // 1001 x 15 / 29 = 517.76 -> 518.
    expect(monthLines(feb, [sub([['2028-02-15', null]], 1001)], [])[0]).to.include({ activeDays: 15, amountMinor: 518 });
  });
});

import { expect } from 'chai';
import { tFor } from '../../src/i18n/i18n';
import { parseTaxRate, rateText, roundDiv, sumLines, taxInvoice, taxLine } from '../../src/tax/tax';

// Every expected figure below is worked out by hand in the comment beside it (amounts in kuruş).
describe('tax per line (DESIGN section 10)', () => {
  describe('prices without tax (exclusive): tax = round(net x rate)', () => {
    it('20%: 100.00 carries 20.00; 12.34 carries 2.47 (2.468 rounded)', () => {
      expect(taxLine(10_000, 2000, 'exclusive')).to.deep.equal({ net: 10_000, tax: 2000, total: 12_000, rateBp: 2000 });
      expect(taxLine(1234, 2000, 'exclusive')).to.deep.equal({ net: 1234, tax: 247, total: 1481, rateBp: 2000 });
    });

    it('10%: exactly half a kuruş rounds up (0.05 -> 0.01, 0.15 -> 0.02, 0.25 -> 0.03, never to even)', () => {
      expect(taxLine(5, 1000, 'exclusive').tax).to.equal(1); // 0.5
      expect(taxLine(15, 1000, 'exclusive').tax).to.equal(2); // 1.5
      expect(taxLine(25, 1000, 'exclusive').tax).to.equal(3); // 2.5 (banker's rounding would give 2)
      expect(taxLine(14, 1000, 'exclusive').tax).to.equal(1); // 1.4
    });

    it('1%: 0.50 carries 0.01 (0.5 up), 2.50 carries 0.03 (2.5 up), 0.49 carries nothing', () => {
      expect(taxLine(50, 100, 'exclusive').tax).to.equal(1);
      expect(taxLine(250, 100, 'exclusive').tax).to.equal(3);
      expect(taxLine(49, 100, 'exclusive').tax).to.equal(0);
    });

    it('8.5%: 1.00 carries 0.09 (8.5 up), 3.00 carries 0.26 (25.5 up), 10.00 carries 0.85', () => {
      expect(taxLine(100, 850, 'exclusive').tax).to.equal(9);
      expect(taxLine(300, 850, 'exclusive').tax).to.equal(26);
      expect(taxLine(1000, 850, 'exclusive').tax).to.equal(85);
      expect(taxLine(19_999, 850, 'exclusive').tax).to.equal(1700); // 1699.915
    });

    it('0%: no tax, the total is the net', () => {
      expect(taxLine(123_456, 0, 'exclusive')).to.deep.equal({ net: 123_456, tax: 0, total: 123_456, rateBp: 0 });
    });

    it('a negative line (discount, credit) carries exactly the opposite tax: half a kuruş rounds away from zero', () => {
      expect(taxLine(-5, 1000, 'exclusive')).to.deep.equal({ net: -5, tax: -1, total: -6, rateBp: 1000 }); // -0.5
      expect(taxLine(-1234, 2000, 'exclusive')).to.deep.equal({ net: -1234, tax: -247, total: -1481, rateBp: 2000 }); // -246.8
      for (const [amount, rate] of [[1234, 2000], [5, 1000], [300, 850], [250, 100]] as const) {
        expect(taxLine(-amount, rate, 'exclusive').tax).to.equal(-taxLine(amount, rate, 'exclusive').tax);
      }
    });

    it('large amounts keep every digit: 1,000,000,000.00 at 20% and 999,999,999.99 at 8.5%', () => {
      expect(taxLine(100_000_000_000, 2000, 'exclusive')).to.deep.equal({ net: 100_000_000_000, tax: 20_000_000_000, total: 120_000_000_000, rateBp: 2000 });
      // 99,999,999,999 x 850 / 10000 = 8,499,999,999.915 -> 8,500,000,000
      expect(taxLine(99_999_999_999, 850, 'exclusive').tax).to.equal(8_500_000_000);
    });
  });

  describe('prices with tax (inclusive): net = round(gross x 100 / (100 + rate%)), tax = gross - net', () => {
    it('20%: 120.00 is 100.00 + 20.00; 1.00 is 0.83 + 0.17 (83.33 rounded)', () => {
      expect(taxLine(12_000, 2000, 'inclusive')).to.deep.equal({ net: 10_000, tax: 2000, total: 12_000, rateBp: 2000 });
      expect(taxLine(100, 2000, 'inclusive')).to.deep.equal({ net: 83, tax: 17, total: 100, rateBp: 2000 });
    });

    it('20%: 0.03 is exactly 0.025 net, which rounds up to 0.03 and leaves no tax', () => {
      expect(taxLine(3, 2000, 'inclusive')).to.deep.equal({ net: 3, tax: 0, total: 3, rateBp: 2000 }); // 3 / 1.2 = 2.5
      expect(taxLine(1, 2000, 'inclusive')).to.deep.equal({ net: 1, tax: 0, total: 1, rateBp: 2000 }); // 0.833
    });

    it('10%: 0.11 is 0.10 + 0.01; 0.21 is 0.19 + 0.02 (19.09 rounded)', () => {
      expect(taxLine(11, 1000, 'inclusive')).to.deep.equal({ net: 10, tax: 1, total: 11, rateBp: 1000 });
      expect(taxLine(21, 1000, 'inclusive')).to.deep.equal({ net: 19, tax: 2, total: 21, rateBp: 1000 });
    });

    it('8.5%: 108.50 is 100.00 + 8.50; 10.00 is 9.22 + 0.78 (921.66 rounded)', () => {
      expect(taxLine(10_850, 850, 'inclusive')).to.deep.equal({ net: 10_000, tax: 850, total: 10_850, rateBp: 850 });
      expect(taxLine(1000, 850, 'inclusive')).to.deep.equal({ net: 922, tax: 78, total: 1000, rateBp: 850 });
    });

    it('1%: 1.01 is 1.00 + 0.01; 0%: the whole gross is net', () => {
      expect(taxLine(101, 100, 'inclusive')).to.deep.equal({ net: 100, tax: 1, total: 101, rateBp: 100 });
      expect(taxLine(999, 0, 'inclusive')).to.deep.equal({ net: 999, tax: 0, total: 999, rateBp: 0 });
    });

    it('a negative gross mirrors the positive one (-0.03 at 20% is -2.5 net, rounded to -0.03)', () => {
      expect(taxLine(-3, 2000, 'inclusive')).to.deep.equal({ net: -3, tax: 0, total: -3, rateBp: 2000 });
      expect(taxLine(-100, 2000, 'inclusive')).to.deep.equal({ net: -83, tax: -17, total: -100, rateBp: 2000 });
    });

    it('large amounts keep every digit: 1,000,000,000.00 gross at 20%', () => {
      // 100,000,000,000 / 1.2 = 83,333,333,333.33 -> 83,333,333,333; tax is the rest
      expect(taxLine(100_000_000_000, 2000, 'inclusive')).to.deep.equal({ net: 83_333_333_333, tax: 16_666_666_667, total: 100_000_000_000, rateBp: 2000 });
    });
  });

  describe('invoice totals', () => {
    it('are the sums of the lines, with the breakdown by rate (highest first): net + tax = total', () => {
      const { lines, totals } = taxInvoice([{ amount: 1234, rateBp: 2000 }, { amount: 5, rateBp: 1000 }, { amount: 10_000, rateBp: 2000 }], 'exclusive');
      expect(lines.map((l) => l.tax)).to.deep.equal([247, 1, 2000]);
      expect(totals).to.deep.equal({
        net: 11_239,
        tax: 2248,
        total: 13_487,
        byRate: [{ rateBp: 2000, net: 11_234, tax: 2247 }, { rateBp: 1000, net: 5, tax: 1 }],
      });
      expect(totals.net + totals.tax).to.equal(totals.total);
    });

    it('never recompute tax on the total: three lines of 0.03 at 20% carry 0.01 each, 0.03 in all (not 0.02)', () => {
      const { totals } = taxInvoice([{ amount: 3, rateBp: 2000 }, { amount: 3, rateBp: 2000 }, { amount: 3, rateBp: 2000 }], 'exclusive');
      expect(totals.tax).to.equal(3); // 0.6 -> 1 per line; round(9 x 0.2) would be 2
    });

    it('in inclusive prices the total is the sum of the gross lines, split into net and tax per rate', () => {
      const { totals } = taxInvoice([{ amount: 100, rateBp: 2000 }, { amount: 1000, rateBp: 850 }, { amount: 11, rateBp: 1000 }], 'inclusive');
      expect(totals).to.deep.equal({
        net: 83 + 922 + 10,
        tax: 17 + 78 + 1,
        total: 1111,
        byRate: [{ rateBp: 2000, net: 83, tax: 17 }, { rateBp: 1000, net: 10, tax: 1 }, { rateBp: 850, net: 922, tax: 78 }],
      });
    });

    it('a discount line reduces its rate\'s net and tax', () => {
      const { totals } = taxInvoice([{ amount: 10_000, rateBp: 2000 }, { amount: -1000, rateBp: 2000 }], 'exclusive');
      expect(totals).to.deep.equal({ net: 9000, tax: 1800, total: 10_800, byRate: [{ rateBp: 2000, net: 9000, tax: 1800 }] });
    });

    it('refuses a line whose total is not its net plus its tax', () => {
      expect(() => sumLines([{ net: 100, tax: 20, total: 121, rateBp: 2000 }])).to.throw(RangeError);
    });
  });

  it('refuses fractional amounts and rates outside 0-10000 hundredths of a percent', () => {
    expect(() => taxLine(10.5, 2000, 'exclusive')).to.throw(RangeError);
    expect(() => taxLine(100, 20.5, 'exclusive')).to.throw(RangeError);
    expect(() => taxLine(100, -1, 'exclusive')).to.throw(RangeError);
    expect(() => taxLine(100, 10_001, 'inclusive')).to.throw(RangeError);
  });

  it('roundDiv rounds half away from zero', () => {
    expect([roundDiv(5n, 2n), roundDiv(-5n, 2n), roundDiv(4n, 3n), roundDiv(-4n, 3n), roundDiv(5n, 3n)]).to.deep.equal([3n, -3n, 1n, -1n, 2n]);
  });

  it('rateText writes a rate with two decimals for machines', () => {
    expect([rateText(2000), rateText(850), rateText(0), rateText(10_000), rateText(5)]).to.deep.equal(['20.00', '8.50', '0.00', '100.00', '0.05']);
  });
});

describe('tax rates typed by people', () => {
  it('reads percent with a dot or a comma, with or without a % sign', () => {
    const cases: [string, number][] = [['20', 2000], ['8.5', 850], ['0,5', 50], ['%20', 2000], ['20 %', 2000], ['0', 0], ['100', 10_000], ['8.25', 825], [' 10 ', 1000], ['007', 700], ['1.', 100], ['.5', 50], ['8.500', 850]];
    for (const [text, bp] of cases) expect(parseTaxRate(text), text).to.equal(bp);
  });

  it('refuses a rate outside 0-100', () => {
    for (const text of ['101', '100.01', '-1', '-0.5', '1000']) expect(parseTaxRate(text), text).to.equal('tax:rate.outOfRange');
  });

  it('refuses more than two decimals', () => {
    for (const text of ['8.555', '0,125', '20.001']) expect(parseTaxRate(text), text).to.equal('tax:rate.tooManyDecimals');
  });

  it('refuses what is not a number, and an empty field', () => {
    for (const text of ['abc', '1e2', '20.5.1', '2O', '.', '%']) expect(parseTaxRate(text), text).to.equal('tax:rate.notANumber');
    expect(parseTaxRate('')).to.equal('tax:rate.required');
    expect(parseTaxRate(undefined)).to.equal('tax:rate.required');
  });

  it('explains each refusal in plain English and Turkish', () => {
    const en = tFor('en'), tr = tFor('tr');
    expect(en('tax:rate.outOfRange')).to.equal('The tax rate must be between 0 and 100.');
    expect(en('tax:rate.tooManyDecimals')).to.equal('Use at most two decimals for the tax rate, for example 8.25.');
    expect(tr('tax:rate.outOfRange')).to.equal('Vergi oranı 0 ile 100 arasında olmalıdır.');
    expect(tr('tax:rate.tooManyDecimals')).to.equal('Vergi oranında en fazla iki ondalık basamak kullanın, örneğin 8,25.');
    for (const key of ['tax:rate.required', 'tax:rate.notANumber']) expect(en(key)).to.not.equal(key);
  });
});

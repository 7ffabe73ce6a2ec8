/**
 * Tax on invoice lines (DESIGN section 10), in integers only.
 *
 * - A rate is an integer number of hundredths of a percent ("basis points"): 2000 is 20.00%,
 *   850 is 8.50%, 0 is 0%. Rates run from 0 to 10000 (100%).
 * - Amounts are integer minor units (kuruş, cents). Products are taken in BigInt, so a line of
 *   up to 1e11 minor units (the largest price Kontor accepts) times any rate never loses a digit.
 * - Tax is computed once per line and rounded half-up to the minor unit, "half-up" meaning half
 *   away from zero: 0.5 kuruş becomes 1, -0.5 becomes -1. A reversing (negative) line therefore
 *   carries exactly the opposite tax of the line it reverses.
 *   exclusive prices: tax = round(net x rate);  inclusive prices: net = round(gross x 100 / (100 + rate%)), tax = gross - net.
 * - Invoice totals are sums of the lines, never a tax recomputed on a total: net + tax = total,
 *   with the same sums per rate for the breakdown.
 */

/** Tax rates are hundredths of a percent: 2000 = 20.00%. */
export type RateBp = number;
export const MAX_RATE_BP = 10_000;

/** Whether the seller's prices already include tax (inclusive) or tax comes on top (exclusive). */
export type PriceMode = 'exclusive' | 'inclusive';

export interface TaxedLine {
  /** Amount without tax, in minor units. */
  net: number;
  /** Tax, in minor units. */
  tax: number;
  /** net + tax. */
  total: number;
  rateBp: RateBp;
}

/** Integer division rounded half away from zero (d > 0). */
export function roundDiv(n: bigint, d: bigint): bigint {
  if (d <= 0n) throw new RangeError('roundDiv needs a positive divisor');
  const negative = n < 0n;
  const a = negative ? -n : n;
  let q = a / d;
  if ((a % d) * 2n >= d) q += 1n;
  return negative ? -q : q;
}

const isRate = (r: unknown): r is RateBp => Number.isSafeInteger(r) && (r as number) >= 0 && (r as number) <= MAX_RATE_BP;

function toSafe(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new RangeError(`${what} is out of the safe integer range`);
  return Number(v);
}

/**
 * Tax of one line. `amount` is the line's price in minor units as the seller states it: without
 * tax for exclusive prices, with tax for inclusive prices. Negative amounts (discounts, credits)
 * are taxed symmetrically.
 */
export function taxLine(amount: number, rateBp: RateBp, mode: PriceMode): TaxedLine {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`line amount must be an integer number of minor units, got ${amount}`);
  if (!isRate(rateBp)) throw new RangeError(`tax rate must be an integer from 0 to ${MAX_RATE_BP} hundredths of a percent, got ${rateBp}`);
  const a = BigInt(amount);
  const r = BigInt(rateBp);
  if (mode === 'exclusive') {
    const tax = roundDiv(a * r, 10_000n);
    return { net: amount, tax: toSafe(tax, 'tax'), total: toSafe(a + tax, 'total'), rateBp };
  }
  // gross x 100 / (100 + rate%) with the rate in hundredths of a percent: gross x 10000 / (10000 + bp).
  const net = roundDiv(a * 10_000n, 10_000n + r);
  return { net: toSafe(net, 'net'), tax: toSafe(a - net, 'tax'), total: amount, rateBp };
}

export interface RateTotal {
  rateBp: RateBp;
  net: number;
  tax: number;
}

export interface TaxTotals {
  net: number;
  tax: number;
  total: number;
  /** One entry per rate present on the lines, highest rate first. */
  byRate: RateTotal[];
}

/** Invoice totals: sums of the lines, and the same sums per rate. */
export function sumLines(lines: readonly TaxedLine[]): TaxTotals {
  let net = 0n;
  let tax = 0n;
  const per = new Map<RateBp, { net: bigint; tax: bigint }>();
  for (const l of lines) {
    if (l.net + l.tax !== l.total) throw new RangeError(`line total ${l.total} is not net ${l.net} + tax ${l.tax}`);
    net += BigInt(l.net);
    tax += BigInt(l.tax);
    const p = per.get(l.rateBp) ?? { net: 0n, tax: 0n };
    p.net += BigInt(l.net);
    p.tax += BigInt(l.tax);
    per.set(l.rateBp, p);
  }
  const byRate = [...per.entries()]
    .sort(([a], [b]) => b - a)
    .map(([rateBp, p]) => ({ rateBp, net: toSafe(p.net, 'net'), tax: toSafe(p.tax, 'tax') }));
  return { net: toSafe(net, 'net'), tax: toSafe(tax, 'tax'), total: toSafe(net + tax, 'total'), byRate };
}

/** Taxes every line of an invoice in one pricing mode and sums them. */
export function taxInvoice(lines: readonly { amount: number; rateBp: RateBp }[], mode: PriceMode): { lines: TaxedLine[]; totals: TaxTotals } {
  const taxed = lines.map((l) => taxLine(l.amount, l.rateBp, mode));
  return { lines: taxed, totals: sumLines(taxed) };
}

/** A rate as plain decimal text with two decimals, as machines read it: 2000 -> "20.00", 850 -> "8.50". */
export function rateText(rateBp: RateBp): string {
  if (!isRate(rateBp)) throw new RangeError(`not a tax rate: ${rateBp}`);
  return `${Math.trunc(rateBp / 100)}.${String(rateBp % 100).padStart(2, '0')}`;
}

/**
 * A tax rate typed by a person, in percent: "20", "8.5", "0,5", "%20", "20 %". At most two
 * decimals, from 0 to 100, parsed from its digits (never through a float). Returns the rate in
 * hundredths of a percent, or what is wrong as a key of the `tax` catalog.
 */
export function parseTaxRate(raw: unknown): RateBp | string {
  let s = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : '';
  if (s === '') return 'tax:rate.required';
  s = s.replace(/^%\s*/, '').replace(/\s*%$/, '');
  const m = /^([+-]?)(\d*)(?:[.,](\d*))?$/.exec(s);
  if (!m || (m[2] === '' && !m[3])) return 'tax:rate.notANumber';
  const whole = m[2]!.replace(/^0+(?=\d)/, '');
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  if (m[1] === '-' && /[1-9]/.test(whole + fraction)) return 'tax:rate.outOfRange';
  if (whole.length > 3) return 'tax:rate.outOfRange';
  if (fraction.length > 2) return 'tax:rate.tooManyDecimals';
  const bp = Number(whole || '0') * 100 + Number(fraction.padEnd(2, '0'));
  if (bp > MAX_RATE_BP) return 'tax:rate.outOfRange';
  return bp;
}

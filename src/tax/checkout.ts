// What a checkout charges (DESIGN section 10; docs/tax.md "What a checkout charges"): the one
// computation every checkout uses for the amount it stores on the payment, so the paid invoice
// issued later (src/billing/invoice-issue.ts, issuePaymentInvoice) adds up to what was charged.
import { taxLine, type PriceMode, type RateBp } from './tax';

/** What a checkout needs of the seller's tax settings: null when the seller charges no tax. */
export interface CheckoutSellerTax {
  mode: PriceMode;
  defaultRateBp: RateBp;
}

export interface CheckoutAmount {
  /** The seller's price mode, or null when it charges no tax (the amount is the stated price). */
  mode: PriceMode | null;
  /** The rate of the line (0 when the seller charges no tax or the buyer is exempt). */
  rateBp: RateBp;
  /** The line's stated price: unit price x quantity. */
  priceMinor: number;
  net: number;
  tax: number;
  /** What the buyer pays (before any installment surcharge): net + tax. */
  total: number;
  /** The tax by rate (one entry: a checkout sells one line). */
  byRate: { rateBp: RateBp; net: number; tax: number }[];
}

/**
 * The amount of one checkout line: `quantity` x `unitPriceMinor` as the seller states it, taxed
 * once for the whole line (half-up, src/tax/tax.ts) at the offer version's own rate or else the
 * seller's default. A seller whose prices exclude tax gets price + tax; one whose prices include
 * it gets the price (split into net + tax); a seller with tax off, and a buyer exempt from tax
 * (reverse charge), pay the stated price with no tax.
 */
export function checkoutAmount(seller: CheckoutSellerTax | null, offerRateBp: RateBp | null | undefined, unitPriceMinor: number, quantity = 1, opts: { buyerExempt?: boolean } = {}): CheckoutAmount {
  if (!Number.isSafeInteger(unitPriceMinor) || unitPriceMinor < 0) throw new RangeError(`a price must be a non-negative integer number of minor units, got ${unitPriceMinor}`);
  if (!Number.isSafeInteger(quantity) || quantity < 1) throw new RangeError(`a quantity must be a positive integer, got ${quantity}`);
  const priceMinor = unitPriceMinor * quantity;
  if (!Number.isSafeInteger(priceMinor)) throw new RangeError('the price is out of the safe integer range');
  if (!seller) return { mode: null, rateBp: 0, priceMinor, net: priceMinor, tax: 0, total: priceMinor, byRate: [{ rateBp: 0, net: priceMinor, tax: 0 }] };
  const rateBp = opts.buyerExempt ? 0 : (offerRateBp ?? seller.defaultRateBp);
  const line = taxLine(priceMinor, rateBp, seller.mode);
  return { mode: seller.mode, rateBp, priceMinor, net: line.net, tax: line.tax, total: line.total, byRate: [{ rateBp, net: line.net, tax: line.tax }] };
}

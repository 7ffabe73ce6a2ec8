// The amount a checkout charges, computed on the server when the checkout starts and stored with
// the payment (docs/tax.md "What a checkout charges"). Every checkout (a package bought in the
// portal, an agency's top-ups and chatbot slots, WhatsApp balance, automatic top-ups charged to a
// card, purchases recorded as paid offline) calls `quoteCheckout` and creates its payment with
// `paymentTaxFields`; the paid invoice is then issued from what the payment stored.
import type { DbOrTx } from '../../db/client';
import { sellerTax } from '../tax/seller-settings';
import { checkoutAmount, type CheckoutAmount } from '../tax/checkout';
import type { RateBp } from '../tax/tax';
import { billingAccount } from './accounts';
import { buyerParty } from './invoice-issue';

export type { CheckoutAmount } from '../tax/checkout';

export interface CheckoutQuoteInput {
  /** The buyer: an agency (buying from the platform) or one of its sub-accounts (from the agency). */
  buyerAgencyId: string;
  buyerSubAccountId: string | null;
  /** The offer version's own rate; null or absent: the seller's default. */
  rateBp?: RateBp | null;
  unitPriceMinor: number;
  quantity?: number;
}

/** The seller's tax now, the offer's rate and the buyer's exemption applied to the price (src/tax/checkout.ts). */
export async function quoteCheckout(db: DbOrTx, q: CheckoutQuoteInput): Promise<CheckoutAmount> {
  const account = await billingAccount(db, q.buyerAgencyId, q.buyerSubAccountId);
  const seller = await sellerTax(db, account.sellerAgencyId);
  const buyer = seller ? await buyerParty(db, account.buyerId) : null;
  return checkoutAmount(seller, q.rateBp ?? null, q.unitPriceMinor, q.quantity ?? 1, { buyerExempt: buyer?.kind === 'exempt' });
}

/** The payment's columns for a quoted checkout: the amount charged and the tax within it. */
export function paymentTaxFields(a: CheckoutAmount): { amountMinor: number; priceMode: CheckoutAmount['mode']; taxRateBp: RateBp | null; taxMinor: number } {
  return { amountMinor: a.total, priceMode: a.mode, taxRateBp: a.mode ? a.rateBp : null, taxMinor: a.tax };
}

/**
 * Quotes several prices for one buyer (a page listing offers): the seller's tax and the buyer's
 * exemption read once, each price taxed by `checkoutAmount` as its checkout will.
 */
export async function checkoutQuoter(db: DbOrTx, buyer: { agencyId: string; subAccountId: string | null }): Promise<(unitPriceMinor: number, rateBp?: RateBp | null, quantity?: number) => CheckoutAmount> {
  const account = await billingAccount(db, buyer.agencyId, buyer.subAccountId);
  const seller = await sellerTax(db, account.sellerAgencyId);
  const exempt = seller ? (await buyerParty(db, account.buyerId))?.kind === 'exempt' : false;
  return (unitPriceMinor, rateBp, quantity = 1) => checkoutAmount(seller, rateBp ?? null, unitPriceMinor, quantity, { buyerExempt: exempt });
}

/** What a settled payment charged, as its checkout stored it (docs/tax.md): what emails and webhooks report. */
export interface Charged {
  /** The price without tax (the stated price for a seller charging no tax). */
  netMinor: number;
  taxMinor: number;
  /** The rate the checkout used; null: the seller charged no tax. */
  taxRateBp: RateBp | null;
  /** Paid in installments: the surcharge, its tax within (docs/installments.md); else 0. */
  installmentSurchargeMinor: number;
  /** The amount charged: net + tax + surcharge. */
  totalMinor: number;
}

export function chargedBy(p: { amountMinor: number; taxMinor?: number | null; taxRateBp?: number | null; priceMode?: string | null; installmentSurchargeMinor?: number | null }): Charged {
  const surcharge = p.installmentSurchargeMinor ?? 0;
  const tax = p.taxMinor ?? 0;
  return { netMinor: p.amountMinor - surcharge - tax, taxMinor: tax, taxRateBp: p.priceMode ? (p.taxRateBp ?? 0) : null, installmentSurchargeMinor: surcharge, totalMinor: p.amountMinor };
}

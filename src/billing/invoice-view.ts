// How an invoice's tax and parties read (the invoice page, the PDF, the API): net, tax by rate and
// total from its lines (the sums the issuer stored), and each party's identity as lines of text.
import type { BuyerParty, SellerParty } from '../../db/schema';
import { sumLines, type TaxTotals } from '../tax/tax';
import { rateInput } from '../tax/identity';

import type { Translate } from '../i18n/i18n';

/** Net, tax by rate and total of an invoice, from its lines (total = the stored total). */
export function invoiceTaxSummary(inv: { lines: readonly { amountMinor: number; taxMinor?: number | null; taxRateBp?: number | null }[] }): TaxTotals {
  // Rows from before the tax columns (or built by hand) read as 0% and no tax.
  return sumLines(inv.lines.map((l) => ({ net: l.amountMinor, tax: l.taxMinor ?? 0, total: l.amountMinor + (l.taxMinor ?? 0), rateBp: l.taxRateBp ?? 0 })));
}

/** A rate as people read it in their language: 20, 8.5 / 8,5. */
export const rateLabel = (rateBp: number, lang: string) => (lang === 'tr' ? rateInput(rateBp).replace('.', ',') : rateInput(rateBp));

const addressLines = (a: SellerParty['address']) => [a.line1, a.line2, [a.postalCode, a.district, a.city].filter(Boolean).join(' '), a.country].filter((x): x is string => Boolean(x));

/** The seller's identity as printed. */
export function sellerPartyLines(p: SellerParty, t: Translate): string[] {
  return [p.legalName, ...addressLines(p.address), t('tax:party.taxOffice', { office: p.taxOffice }), t(p.taxNumber.length === 11 ? 'tax:party.tckn' : 'tax:party.vkn', { n: p.taxNumber })];
}

/** The buyer's identity as printed. */
export function buyerPartyLines(p: BuyerParty, t: Translate): string[] {
  if (p.kind === 'company') {
    return [p.legalName, ...addressLines(p.address), t('tax:party.taxOffice', { office: p.taxOffice }), t('tax:party.vkn', { n: p.vkn }), ...(p.eInvoiceRegistered ? [t('tax:party.eInvoice')] : [])];
  }
  if (p.kind === 'person') return [`${p.firstName} ${p.familyName}`, ...addressLines(p.address), t('tax:party.tckn', { n: p.tckn })];
  return [p.name, ...addressLines(p.address), ...(p.foreignTaxId ? [t('tax:party.foreignTaxId', { id: p.foreignTaxId })] : []), t('tax:party.exempt', { reason: p.reason })];
}

export interface InvoiceTaxView {
  /** Issued with tax (the seller had tax on): show the breakdown and the parties. */
  taxed: boolean;
  summary: TaxTotals;
  rates: { rate: string; net: number; tax: number }[];
  seller: string[] | null;
  buyer: string[] | null;
  priceMode: 'exclusive' | 'inclusive' | null;
  /** A line's rate as read: "20", "8,5". */
  rateOf: (rateBp: number) => string;
}

/** Everything the invoice page and the PDF print about tax, in the reader's language. */
export function invoiceTaxView(
  inv: { priceMode?: 'exclusive' | 'inclusive' | null; sellerParty?: SellerParty | null; buyerParty?: BuyerParty | null; lines: readonly { amountMinor: number; taxMinor?: number | null; taxRateBp?: number | null }[] },
  t: Translate,
  lang: string,
): InvoiceTaxView {
  const summary = invoiceTaxSummary(inv);
  return {
    taxed: inv.priceMode === 'exclusive' || inv.priceMode === 'inclusive',
    summary,
    rates: summary.byRate.map((r) => ({ rate: rateLabel(r.rateBp, lang), net: r.net, tax: r.tax })),
    seller: inv.sellerParty ? sellerPartyLines(inv.sellerParty, t) : null,
    buyer: inv.buyerParty ? buyerPartyLines(inv.buyerParty, t) : null,
    priceMode: inv.priceMode ?? null,
    rateOf: (rateBp: number) => rateLabel(rateBp, lang),
  };
}

// The one invoice issuer (DESIGN section 10; docs/tax.md): numbers an invoice in its seller's
// gapless series, taxes its lines and snapshots both parties, in the caller's transaction. Term
// purchases and payments taken at once (credit packs, top-ups, chatbot slots, WhatsApp balance)
// issue through `issueInvoice`; the monthly cut, set-based, numbers its batch itself and taxes
// each account's lines with the same pure `taxLines`.
import { and, eq, inArray } from 'drizzle-orm';
import type { DbOrTx, Tx } from '../../db/client';
import { billingAddresses, invoiceLines, invoices, offers, offerVersions, type BuyerParty, type Currency, type InvoiceLineKind, type SellerParty } from '../../db/schema';
import { newId } from '../lib/ids';
import { sellerTax, type SellerTax } from '../tax/seller-settings';
import { sumLines, taxLine, type PriceMode, type RateBp, type TaxTotals } from '../tax/tax';
import { billingAccount, type BillingAccount } from './accounts';
import { buyerPartyOf } from './billing-addresses.usecases';
import { allocateInvoiceNumbers } from './invoice-numbers';
import { kontorText } from './line-text';
import { addDays, calendarDay } from './proration';

/** One line to issue. `amountMinor` is the price as the seller states it (with tax when its prices include tax). */
export interface IssueLine {
  kind: InvoiceLineKind;
  description: string;
  /** A text Kontor writes, as a message read in the reader's language (invoice_lines.description_key). */
  descriptionKey?: string | null;
  quantity?: number;
  unitPriceMinor: number;
  amountMinor: number;
  /** The offer's own rate; null or absent: the seller's default. */
  rateBp?: RateBp | null;
  /**
   * The stated amount includes tax whatever the invoice's price mode (an installment surcharge: a
   * share of an amount charged with its tax, docs/installments.md).
   */
  taxIncluded?: boolean;
  subscriptionId?: string | null;
  chargeId?: string | null;
  fromDay?: string | null;
  throughDay?: string | null;
  activeDays?: number | null;
  daysInMonth?: number | null;
}

export interface TaxedIssueLine extends IssueLine {
  /** Net amount (what amount_minor stores), tax and rate. */
  netMinor: number;
  taxMinor: number;
  taxRateBp: RateBp;
}

export interface TaxedInvoice {
  lines: TaxedIssueLine[];
  totals: TaxTotals;
  priceMode: PriceMode | null;
  sellerParty: SellerParty | null;
  buyerParty: BuyerParty | null;
}

/**
 * Taxes an invoice's lines (pure). A seller without tax on: every line at 0, net = the stated
 * amount, no price mode and no snapshots (the invoice reads as before tax). With tax on: each
 * line at its own rate or the seller's default, in the seller's price mode, rounded once per line
 * (src/tax/tax.ts); a buyer exempt from the seller's tax (reverse charge) pays no tax: its lines
 * are at 0% and the stated price stands.
 */
export function taxLines(lines: readonly IssueLine[], seller: SellerTax | null, buyer: BuyerParty | null): TaxedInvoice {
  const mode: PriceMode = seller?.mode ?? 'exclusive';
  const rateOf = (l: IssueLine): RateBp => (!seller || buyer?.kind === 'exempt' ? 0 : (l.rateBp ?? seller.defaultRateBp));
  const taxed = lines.map((l) => taxLine(l.amountMinor, rateOf(l), l.taxIncluded ? 'inclusive' : mode));
  const totals = sumLines(taxed);
  return {
    lines: lines.map((l, i) => ({ ...l, netMinor: taxed[i]!.net, taxMinor: taxed[i]!.tax, taxRateBp: taxed[i]!.rateBp })),
    totals,
    priceMode: seller ? seller.mode : null,
    sellerParty: seller ? seller.party : null,
    buyerParty: seller ? buyer : null,
  };
}

/** Offers' own tax rates (their current versions'), by offer id; absent or null: the seller's default. */
export async function offerRates(db: DbOrTx, offerIds: readonly string[]): Promise<Map<string, number | null>> {
  if (offerIds.length === 0) return new Map();
  const rows = await db.select({ id: offers.id, rate: offerVersions.taxRateBp }).from(offers).innerJoin(offerVersions, eq(offerVersions.id, offers.currentVersionId)).where(inArray(offers.id, [...new Set(offerIds)]));
  return new Map(rows.map((r) => [r.id, r.rate]));
}

/** The buyer's tax identity from its default billing address (null: none given). */
export async function buyerParty(tx: DbOrTx, accountId: string): Promise<BuyerParty | null> {
  const [a] = await tx.select().from(billingAddresses).where(and(eq(billingAddresses.buyerId, accountId), eq(billingAddresses.isDefault, true))).limit(1);
  return a ? buyerPartyOf(a) : null;
}

/** The account's default billing address, as printed on an invoice issued now. */
export async function addressSnapshot(tx: Tx, accountId: string): Promise<Record<string, string | null> | null> {
  const [a] = await tx.select().from(billingAddresses).where(and(eq(billingAddresses.buyerId, accountId), eq(billingAddresses.isDefault, true))).limit(1);
  return a ? { name: a.name, line1: a.line1, line2: a.line2, city: a.city, postalCode: a.postalCode, country: a.country, taxId: a.taxId } : null;
}

export interface IssueInvoice {
  account: BillingAccount;
  kind: 'term' | 'purchase';
  periodStart: string;
  periodEnd: string;
  currency: Currency;
  lines: readonly IssueLine[];
  now: Date;
  subscriptionId?: string | null;
  /** A payment taken at once: the invoice is issued paid by it (and one per payment: a unique key). */
  paidBy?: { paymentId: string };
  /**
   * Tax the stated amounts in this mode instead of the seller's current one: a payment is invoiced
   * in the mode its checkout computed the amount charged in (issuePaymentInvoice).
   */
  mode?: PriceMode;
}

export interface IssuedInvoice {
  id: string;
  number: number;
  totalMinor: number;
  taxMinor: number;
}

/**
 * Issues one invoice in the caller's transaction: the seller's next number, the lines taxed, both
 * parties snapshotted. Unpaid invoices start as drafts and are delivered and collected by the
 * delivery job; paid ones (`paidBy`) are delivered by it too and never collected.
 */
export async function issueInvoice(tx: Tx, p: IssueInvoice): Promise<IssuedInvoice> {
  const { account, now } = p;
  if (p.lines.length === 0) throw new RangeError('an invoice needs at least one line');
  const [seller, buyer, address] = [await sellerTax(tx, account.sellerAgencyId), await buyerParty(tx, account.buyerId), await addressSnapshot(tx, account.buyerId)];
  const taxed = taxLines(p.lines, seller && p.mode ? { ...seller, mode: p.mode } : seller, buyer);
  const issueDay = calendarDay(now, account.zone);
  const number = await allocateInvoiceNumbers(tx, account.sellerKey, 1);
  const id = newId('inv');
  await tx.insert(invoices).values({
    id, agencyId: account.agencyId, subAccountId: account.subAccountId, buyerId: account.buyerId, sellerAgencyId: account.sellerAgencyId, sellerKey: account.sellerKey,
    number, kind: p.kind, period: null, periodStart: p.periodStart, periodEnd: p.periodEnd, issueDay, dueDay: p.paidBy ? issueDay : addDays(issueDay, account.dueDays), currency: p.currency,
    totalMinor: taxed.totals.total, taxMinor: taxed.totals.tax, priceMode: taxed.priceMode, sellerParty: taxed.sellerParty, buyerParty: taxed.buyerParty,
    status: 'draft', paidAt: p.paidBy ? now : null, paymentId: p.paidBy?.paymentId ?? null,
    subscriptionId: p.subscriptionId ?? null, billingAddress: address, createdAt: now, updatedAt: now,
  });
  await tx.insert(invoiceLines).values(taxed.lines.map((l, i) => ({
    id: newId('inl'), invoiceId: id, agencyId: account.agencyId, position: i + 1, kind: l.kind, subscriptionId: l.subscriptionId ?? null, chargeId: l.chargeId ?? null,
    description: l.description, descriptionKey: l.descriptionKey ?? null, fromDay: l.fromDay ?? null, throughDay: l.throughDay ?? null, activeDays: l.activeDays ?? null, daysInMonth: l.daysInMonth ?? null,
    quantity: l.quantity ?? 1, unitPriceMinor: l.unitPriceMinor, amountMinor: l.netMinor, taxRateBp: l.taxRateBp, taxMinor: l.taxMinor,
  })));
  // Lines go in while the invoice is a draft: the database refuses them once it is issued
  // (docs/credit-notes.md). A paid invoice is issued paid at once, in the same transaction.
  if (p.paidBy) await tx.update(invoices).set({ status: 'paid' }).where(eq(invoices.id, id));
  return { id, number, totalMinor: taxed.totals.total, taxMinor: taxed.totals.tax };
}

export interface PaymentInvoice {
  /**
   * The settled payment: its id keys the invoice (one per payment), its amount is what was
   * charged, and its checkout tax (price mode, rate, tax; src/billing/checkout-amount.ts) says how.
   */
  payment: {
    id: string; buyerAgencyId: string; buyerSubAccountId: string | null; amountMinor: number; currency: string; installments?: number | null; installmentSurchargeMinor?: number;
    priceMode?: PriceMode | null; taxRateBp?: RateBp | null; taxMinor?: number;
  };
  /** What was bought, at the seller's stated prices (net for a seller whose prices exclude tax). */
  lines: readonly IssueLine[];
  now: Date;
}

/**
 * The invoice of a payment taken at once (a credit pack, a top-up, chatbot slots, WhatsApp
 * balance, an automatic top-up, a purchase recorded as paid offline), issued paid in the payment's
 * settlement (or recording) transaction. Idempotent: a second callback of the same payment finds
 * its invoice (and the unique key refuses a second one).
 *
 * The invoice is for what was charged (docs/tax.md). It is issued in the price mode the checkout
 * computed the amount in, at the rate it used: for a seller whose prices exclude tax, net = the
 * stated price and tax on top, total = the amount charged. An installment surcharge is its own
 * line, tax included. Should the lines not add up to the amount charged (the seller's settings or
 * the buyer's exemption changed between checkout and payment, or a payment started before the
 * checkout added tax), the amount charged is read as tax included: the invoice never claims more,
 * or less, than was paid.
 */
export async function issuePaymentInvoice(tx: Tx, p: PaymentInvoice): Promise<IssuedInvoice & { created: boolean }> {
  const [existing] = await tx.select().from(invoices).where(and(eq(invoices.kind, 'purchase'), eq(invoices.paymentId, p.payment.id)));
  if (existing) return { id: existing.id, number: existing.number, totalMinor: existing.totalMinor, taxMinor: existing.taxMinor, created: false };
  if (p.lines.length === 0) throw new RangeError('an invoice needs at least one line');
  const account = await billingAccount(tx, p.payment.buyerAgencyId, p.payment.buyerSubAccountId);
  const today = calendarDay(p.now, account.zone);
  const seller = await sellerTax(tx, account.sellerAgencyId);
  const charged = p.payment.amountMinor;
  const checkoutMode = p.payment.priceMode ?? null;
  // The checkout's rate applies to what it sold (its one line).
  let lines: IssueLine[] = p.lines.map((l) => (checkoutMode && p.payment.taxRateBp != null ? { ...l, rateBp: p.payment.taxRateBp } : l));
  // Paid in installments with a surcharge: the surcharge is its own line (docs/installments.md), at
  // the rate of what was bought, with its tax within (it is a share of the amount with tax).
  const surcharge = p.payment.installmentSurchargeMinor ?? 0;
  if (surcharge > 0) {
    lines.push({ kind: 'surcharge', ...kontorText('installments:invoiceLine', { count: p.payment.installments ?? 0 }), quantity: 1, unitPriceMinor: surcharge, amountMinor: surcharge, rateBp: lines[0]?.rateBp ?? null, taxIncluded: true });
  }
  // A payment whose checkout computed no tax: what was charged is the stated price (with tax, if
  // the seller charges tax now).
  let mode: PriceMode = checkoutMode ?? 'inclusive';
  const buyer = seller ? await buyerParty(tx, account.buyerId) : null;
  if (!seller || taxLines(lines, { ...seller, mode }, buyer).totals.total !== charged) {
    const others = lines.slice(1).reduce((t, l) => t + l.amountMinor, 0);
    lines = [{ ...lines[0]!, amountMinor: charged - others }, ...lines.slice(1)];
    mode = 'inclusive';
  }
  const issued = await issueInvoice(tx, { account, kind: 'purchase', periodStart: today, periodEnd: today, currency: p.payment.currency as Currency, lines, now: p.now, paidBy: { paymentId: p.payment.id }, mode });
  return { ...issued, created: true };
}

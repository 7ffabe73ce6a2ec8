// An issued invoice (its row, its lines and both parties' snapshots) as the plain document model
// renderUblTr turns into UBL-TR XML. Pure: the ETTN and the series come from the caller, which
// stores them (src/einvoice/send.ts), so the same invoice always maps to the same document.
import type { BuyerParty, PartyAddress, SellerParty } from '../../db/schema/parties';
import { localize, tFor } from '../i18n/i18n';
import { msg } from '../lib/message';
import { chooseProfile, type Currency, type DocumentKind, type DocumentLine, type EInvoiceDocument, type Party, type PostalAddress } from './ubl-tr';

/** What the mapping reads of an invoice row (db/schema/billing.ts `invoices`). */
export interface IssuedInvoice {
  number: number;
  issueDay: string;
  /** When it was issued: its time of day goes on the document, in Turkey's time. */
  createdAt: Date;
  currency: string;
  totalMinor: number;
  taxMinor: number;
  priceMode: 'exclusive' | 'inclusive' | null;
  sellerParty: SellerParty | null;
  buyerParty: BuyerParty | null;
}

/** What the mapping reads of its lines (`invoice_lines`), in position order. */
export interface IssuedLine {
  description: string;
  /** A text Kontor wrote on the line, as a catalog message (docs/i18n.md): sent in Turkish. */
  descriptionKey?: string | null;
  quantity: number;
  amountMinor: number;
  taxRateBp: number;
  taxMinor: number;
}

export interface MappingOptions {
  kind: DocumentKind;
  /** The seller's 3-character GİB series for this kind of document (KNT, KNI...). */
  series: string;
  /** The stored ETTN. */
  uuid: string;
  /** The seller sends to registered buyers in TICARIFATURA (they accept or reject). */
  commercial?: boolean;
  /** A credit note: the invoice it reverses, by its GİB number and issue day. */
  creditedInvoice?: { number: string; issueDate: string };
}

export type MappingResult = { ok: true; document: EInvoiceDocument } | { ok: false; reason: string };

export const TURKEY_ZONE = 'Europe/Istanbul';
export const SERIES = /^[A-Z0-9]{3}$/;

/**
 * The GİB number of a Kontor number: the seller's series, the issue year and the number on 9
 * digits (KNT + 2026 + 000000042). Kontor's numbers are gapless per seller and never reused, so
 * the GİB number is unique per seller and stable: the same invoice always gets the same number.
 */
export function gibNumber(series: string, issueDay: string, number: number): string {
  if (!SERIES.test(series)) throw new Error(`series ${series} is not 3 capital letters or digits`);
  if (!Number.isSafeInteger(number) || number < 1 || number > 999_999_999) throw new Error(`number ${number} does not fit GİB's 9 digits`);
  return `${series}${issueDay.slice(0, 4)}${String(number).padStart(9, '0')}`;
}

/** YYYY-MM-DD and HH:MM:SS of a moment in Turkey's time. */
export function turkeyDateTime(at: Date): { date: string; time: string } {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: TURKEY_ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '00';
  return { date: `${get('year')}-${get('month')}-${get('day')}`, time: `${get('hour')}:${get('minute')}:${get('second')}` };
}

/**
 * The issue time on the document: the moment the invoice was recorded, in Turkey's time, when
 * that falls on its issue day; otherwise (an invoice dated by the seller's calendar or the test
 * clock to another day) the start of the issue day, so date and time never contradict each other.
 */
export function issueTimeOf(issueDay: string, createdAt: Date): string {
  const t = turkeyDateTime(createdAt);
  return t.date === issueDay ? t.time : '00:00:00';
}

const countryName = (code: string): string => {
  if (code === 'TR') return 'Türkiye';
  try {
    return new Intl.DisplayNames(['tr'], { type: 'region' }).of(code) ?? code;
  } catch {
    return code;
  }
};

function postal(a: PartyAddress): PostalAddress {
  const street = [a.line1, a.line2].filter((s) => s && s.trim()).join(' ');
  return {
    street,
    // GİB asks for the district (ilçe); an address without one names its city's centre.
    district: a.district?.trim() || 'Merkez',
    city: a.city,
    ...(a.postalCode ? { postalCode: a.postalCode } : {}),
    countryCode: a.country.toUpperCase(),
    countryName: countryName(a.country.toUpperCase()),
  };
}

/** A person's first and family names from a full name: the family name is the last word. */
function splitName(full: string): { firstName: string; familyName: string } {
  const words = full.trim().split(/\s+/);
  if (words.length < 2) return { firstName: full.trim(), familyName: '' };
  return { firstName: words.slice(0, -1).join(' '), familyName: words[words.length - 1]! };
}

function sellerOf(s: SellerParty): Party {
  const taxId = s.taxNumber.length === 11
    ? { scheme: 'TCKN' as const, value: s.taxNumber, ...splitName(s.legalName) }
    : { scheme: 'VKN' as const, value: s.taxNumber };
  return { legalName: s.legalName, taxId, taxOffice: s.taxOffice, address: postal(s.address), ...(s.email ? { email: s.email } : {}), ...(s.phone ? { phone: s.phone } : {}) };
}

function buyerOf(b: BuyerParty): Party | null {
  if (b.kind === 'company') return { legalName: b.legalName, taxId: { scheme: 'VKN', value: b.vkn }, taxOffice: b.taxOffice, address: postal(b.address), ...(b.email ? { email: b.email } : {}) };
  if (b.kind === 'person') return { legalName: `${b.firstName} ${b.familyName}`, taxId: { scheme: 'TCKN', value: b.tckn, firstName: b.firstName, familyName: b.familyName }, address: postal(b.address), ...(b.email ? { email: b.email } : {}) };
  return null;
}

function lineOf(l: IssuedLine): DocumentLine {
  // UBL's line amount is quantity x unit price; a prorated line (a part of a month) is not, so it
  // goes as one unit of its amount, its description saying what it covers.
  const exact = l.quantity > 0 && l.amountMinor % l.quantity === 0;
  return {
    // A GİB document is read in Turkish: a line Kontor wrote ("WhatsApp balance", an automatic
    // top-up) goes in the Turkish catalog's words; a seller's own words go as the seller wrote them.
    name: l.descriptionKey ? localize(tFor('tr'), l.descriptionKey) : l.description,
    quantity: exact ? l.quantity : 1,
    unitPrice: exact ? l.amountMinor / l.quantity : l.amountMinor,
    net: l.amountMinor,
    rateBp: l.taxRateBp,
    tax: l.taxMinor,
  };
}

/** GİB's code for 0% KDV on a sale that is not exempt (the only 0% Kontor issues to Turkish buyers). */
const NOT_EXEMPT = { code: '351', reason: 'KDV İstisna Olmayan Diğer' };

/**
 * The invoice as an e-invoice document, or why it cannot be one (a message for people):
 * issued without tax identities (before its seller turned tax on), to an exempt foreign buyer
 * (export invoices are not written yet), in a currency other than TRY (no exchange rate is kept),
 * or with a negative line.
 */
export function mapInvoice(inv: IssuedInvoice, lines: readonly IssuedLine[], opts: MappingOptions): MappingResult {
  if (!inv.sellerParty || !inv.buyerParty || inv.priceMode === null) return { ok: false, reason: msg('einvoice:reason.noTaxIdentities') };
  const buyer = buyerOf(inv.buyerParty);
  if (!buyer) return { ok: false, reason: msg('einvoice:reason.foreignBuyer') };
  if (inv.currency !== 'TRY') return { ok: false, reason: msg('einvoice:reason.currency', { currency: inv.currency }) };
  if (lines.length === 0) return { ok: false, reason: msg('einvoice:reason.noLines') };
  if (lines.some((l) => l.amountMinor < 0 || l.taxMinor < 0)) return { ok: false, reason: msg('einvoice:reason.negativeLine') };
  const registered = inv.buyerParty.kind === 'company' && inv.buyerParty.eInvoiceRegistered;
  const document: EInvoiceDocument = {
    kind: opts.kind,
    profile: chooseProfile({ kind: opts.kind, buyerRegisteredForEInvoice: registered, commercial: opts.commercial ?? false }),
    number: gibNumber(opts.series, inv.issueDay, inv.number),
    uuid: opts.uuid,
    issueDate: inv.issueDay,
    issueTime: issueTimeOf(inv.issueDay, inv.createdAt),
    currency: inv.currency as Currency,
    seller: sellerOf(inv.sellerParty),
    buyer,
    lines: lines.map(lineOf),
    ...(lines.some((l) => l.taxRateBp === 0) && opts.kind === 'invoice' ? { zeroRateExemption: NOT_EXEMPT } : {}),
    ...(opts.creditedInvoice ? { creditedInvoice: opts.creditedInvoice } : {}),
    ...(registered ? {} : { sendingType: 'ELEKTRONIK' as const }),
  };
  return { ok: true, document };
}

import { amountInWordsTr } from './amount-in-words';
import { checkTckn, checkVkn } from '../tax/tax-ids';
import { MAX_RATE_BP, rateText, roundDiv, type RateBp } from '../tax/tax';

/**
 * UBL-TR 1.2 (GİB's customisation of UBL 2.1) for Turkish e-Fatura and e-Arşiv, from a plain
 * document model: an issued invoice (SATIS, or ISTISNA with an exemption) or a credit note
 * (an IADE invoice naming the invoice it reverses). Rules and sources: docs/einvoice.md.
 *
 * The XML validates against the OASIS UBL 2.1 Invoice schema and follows GİB's main schematron
 * (UBL-TR_Main_Schematron.xml) for the parts rendered here: the 16-character document number,
 * CopyIndicator false, a UUID (ETTN), VKN/TCKN party identification with the party name or the
 * person's names, KDV (TaxTypeCode 0015) subtotals per rate with an exemption code on 0% KDV,
 * IADE only in TEMELFATURA or EARSIVFATURA with a BillingReference of DocumentTypeCode IADE, an
 * exchange rate for a currency other than TRY. Element order is UBL's. Unsigned: the financial
 * seal (XAdES in ext:UBLExtensions) is added by the integrator that sends the document.
 */

export type Profile = 'TEMELFATURA' | 'TICARIFATURA' | 'EARSIVFATURA';
export type DocumentKind = 'invoice' | 'creditNote';
export type Currency = 'TRY' | 'USD' | 'EUR';

export interface PostalAddress {
  street: string;
  buildingNumber?: string;
  /** İlçe (district), cbc:CitySubdivisionName. */
  district: string;
  /** İl (province or city), cbc:CityName. */
  city: string;
  postalCode?: string;
  /** ISO 3166-1 alpha-2, "TR". */
  countryCode: string;
  /** As printed: "Türkiye". */
  countryName: string;
}

export type TaxId =
  | { scheme: 'VKN'; value: string }
  /** A person: GİB asks for the first and family names apart. */
  | { scheme: 'TCKN'; value: string; firstName: string; familyName: string };

export interface Party {
  /** Legal name (ticari unvan) of a company, or the person's full name. */
  legalName: string;
  taxId: TaxId;
  /** Vergi dairesi; required with a VKN. */
  taxOffice?: string;
  address: PostalAddress;
  email?: string;
  phone?: string;
  website?: string;
}

export interface DocumentLine {
  name: string;
  /** A positive whole quantity. */
  quantity: number;
  /** UN/ECE Rec. 20 unit, default C62 ("adet", one). */
  unitCode?: string;
  /** Price of one unit without tax, minor units. */
  unitPrice: number;
  /** Line amount without tax, minor units (from src/tax/tax.ts). */
  net: number;
  rateBp: RateBp;
  /** Tax of the line, minor units, rounded once per line (src/tax/tax.ts). */
  tax: number;
}

export interface EInvoiceDocument {
  kind: DocumentKind;
  profile: Profile;
  /** Series (3 letters or digits) + year + 9-digit sequence: "KNT2026000000001". */
  number: string;
  /** ETTN: the document's UUID. */
  uuid: string;
  /** YYYY-MM-DD and HH:MM:SS, in Turkey's time. */
  issueDate: string;
  issueTime: string;
  currency: Currency;
  /** TRY per unit of the currency, decimal text (up to 6 decimals); required unless TRY. */
  exchangeRate?: string;
  seller: Party;
  buyer: Party;
  lines: DocumentLine[];
  /** Free notes printed on the document, after the amount in words. */
  notes?: string[];
  /** The invoice a credit note reverses. */
  creditedInvoice?: { number: string; issueDate: string };
  /** GİB exemption code and reason for 0% KDV (351 "İstisna Olmayan Diğer" on a SATIS invoice). */
  zeroRateExemption?: { code: string; reason: string };
  /** e-Arşiv delivery: ELEKTRONIK (emailed, the default) or KAGIT (printed). */
  sendingType?: 'ELEKTRONIK' | 'KAGIT';
}

/** Why a document cannot be rendered; a programming or data error, never shown as is to people. */
export class EInvoiceModelError extends Error {
  override name = 'EInvoiceModelError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The profile of a document by the buyer's registration (GİB's e-Fatura registered-user list):
 * not registered: EARSIVFATURA; registered: TEMELFATURA, or TICARIFATURA when the seller wants
 * the buyer's acceptance step. A credit note (IADE) to a registered buyer is always TEMELFATURA:
 * GİB refuses IADE in TICARIFATURA.
 */
export function chooseProfile(opts: { kind: DocumentKind; buyerRegisteredForEInvoice: boolean; commercial?: boolean }): Profile {
  if (!opts.buyerRegisteredForEInvoice) return 'EARSIVFATURA';
  if (opts.kind === 'creditNote') return 'TEMELFATURA';
  return opts.commercial ? 'TICARIFATURA' : 'TEMELFATURA';
}

const NS = {
  inv: 'urn:oasis:names:specification:ubl:schema:xsd:Invoice-2',
  cac: 'urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2',
  cbc: 'urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
};

/** KDV (katma değer vergisi): GİB tax type code 0015. */
const KDV = { name: 'KDV', code: '0015' };
const NUMBER = /^([A-Z0-9]{3})(20\d{2})(\d{9})$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/;
const RATE = /^\d{1,15}(\.\d{1,6})?$/;
/** 351: "KDV - İstisna Olmayan Diğer", for 0% KDV on a SATIS invoice; any other code makes it ISTISNA. */
const NOT_AN_EXEMPTION = '351';

/** Text and attribute values: the five XML specials escaped, characters XML 1.0 cannot carry dropped. */
export function escapeXml(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Minor units as a decimal amount for machines: 108387 -> "1083.87", -5 -> "-0.05". */
export function decimalAmount(minor: number): string {
  const m = BigInt(minor);
  const a = m < 0n ? -m : m;
  return `${m < 0n ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
}

class Xml {
  private readonly lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  private depth = 0;

  private static attrs(a?: Record<string, string>): string {
    return a ? Object.entries(a).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('') : '';
  }

  open(name: string, attrs?: Record<string, string>): this {
    this.lines.push(`${'  '.repeat(this.depth)}<${name}${Xml.attrs(attrs)}>`);
    this.depth++;
    return this;
  }

  close(name: string): this {
    this.depth--;
    this.lines.push(`${'  '.repeat(this.depth)}</${name}>`);
    return this;
  }

  /** An element with text; left out when the text is undefined or blank. */
  leaf(name: string, text: string | number | undefined, attrs?: Record<string, string>): this {
    if (text === undefined || String(text).trim() === '') return this;
    this.lines.push(`${'  '.repeat(this.depth)}<${name}${Xml.attrs(attrs)}>${escapeXml(String(text))}</${name}>`);
    return this;
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

const fail = (code: string, message: string): never => {
  throw new EInvoiceModelError(code, message);
};

function checkParty(role: 'seller' | 'buyer', p: Party): void {
  if (!p.legalName.trim()) fail('party_name_missing', `${role}: legal name is empty`);
  if (p.taxId.scheme === 'VKN') {
    const c = checkVkn(p.taxId.value);
    if (!c.ok || c.value !== p.taxId.value) fail('party_tax_id_invalid', `${role}: VKN ${p.taxId.value} is not valid (${c.ok ? 'not compact' : c.problem})`);
    if (!p.taxOffice?.trim()) fail('party_tax_office_missing', `${role}: a VKN needs its tax office`);
  } else {
    const c = checkTckn(p.taxId.value);
    if (!c.ok || c.value !== p.taxId.value) fail('party_tax_id_invalid', `${role}: TCKN ${p.taxId.value} is not valid (${c.ok ? 'not compact' : c.problem})`);
    if (!p.taxId.firstName.trim() || !p.taxId.familyName.trim()) fail('party_person_name_missing', `${role}: a TCKN needs the first and family names`);
  }
  const a = p.address;
  if (!a.street.trim() || !a.district.trim() || !a.city.trim() || !/^[A-Z]{2}$/.test(a.countryCode) || !a.countryName.trim()) {
    fail('party_address_incomplete', `${role}: the address needs a street, district, city and country`);
  }
}

/** Whether `tax` is what src/tax/tax.ts gives for this net and rate, in either pricing mode. */
function taxMatches(net: number, rateBp: RateBp, tax: number): boolean {
  const n = BigInt(net), r = BigInt(rateBp), t = BigInt(tax);
  if (roundDiv(n * r, 10_000n) === t) return true; // exclusive: tax = round(net x rate)
  const gross = n + t; // inclusive: net = round(gross x 100 / (100 + rate%))
  return roundDiv(gross * 10_000n, 10_000n + r) === n;
}

function checkDocument(d: EInvoiceDocument): { typeCode: string } {
  const number = NUMBER.exec(d.number);
  if (!number) fail('number_format', `document number ${d.number} is not 3 letters or digits, the year and 9 digits (ABC2026000000001)`);
  if (!DATE.test(d.issueDate) || !TIME.test(d.issueTime)) fail('issue_date_format', `issue date ${d.issueDate} ${d.issueTime} is not YYYY-MM-DD HH:MM:SS`);
  if (number![2] !== d.issueDate.slice(0, 4)) fail('number_year', `document number ${d.number} does not carry the issue year ${d.issueDate.slice(0, 4)}`);
  if (!UUID.test(d.uuid)) fail('uuid_format', `ETTN ${d.uuid} is not a UUID`);
  if (d.currency !== 'TRY' && !(d.exchangeRate && RATE.test(d.exchangeRate))) fail('exchange_rate_missing', `a ${d.currency} document needs the TRY exchange rate as decimal text`);
  checkParty('seller', d.seller);
  checkParty('buyer', d.buyer);
  if (d.lines.length === 0) fail('no_lines', 'a document needs at least one line');
  for (const [i, l] of d.lines.entries()) {
    const at = `line ${i + 1}`;
    if (!l.name.trim()) fail('line_name_missing', `${at}: the name is empty`);
    if (!Number.isSafeInteger(l.quantity) || l.quantity <= 0) fail('line_quantity', `${at}: quantity must be a positive whole number`);
    if (![l.unitPrice, l.net, l.tax].every((v) => Number.isSafeInteger(v) && v >= 0)) {
      fail('line_amount_negative', `${at}: amounts must be whole minor units, not negative (a discount is netted into its line; a credit is a credit note)`);
    }
    if (!Number.isSafeInteger(l.rateBp) || l.rateBp < 0 || l.rateBp > MAX_RATE_BP) fail('line_rate', `${at}: rate must be 0 to ${MAX_RATE_BP} hundredths of a percent`);
    if (!taxMatches(l.net, l.rateBp, l.tax)) fail('line_tax_mismatch', `${at}: tax ${l.tax} is not the tax of ${l.net} at ${rateText(l.rateBp)}%`);
  }
  const ex = d.zeroRateExemption;
  if (ex && (!/^\d{3}$/.test(ex.code) || !ex.reason.trim())) fail('exemption_invalid', 'an exemption needs a 3-digit GİB code and its reason');
  if (d.kind === 'creditNote') {
    if (d.profile === 'TICARIFATURA') fail('credit_note_profile', 'GİB accepts IADE only in TEMELFATURA or EARSIVFATURA, not TICARIFATURA');
    const ref = d.creditedInvoice;
    if (!ref || !NUMBER.test(ref.number) || !DATE.test(ref.issueDate)) fail('credit_note_reference', 'a credit note names the invoice it reverses (16-character number and issue date)');
    return { typeCode: 'IADE' };
  }
  if (d.lines.some((l) => l.rateBp === 0) && !ex) fail('exemption_missing', 'a 0% KDV line needs an exemption code and reason (351 when the sale is not exempt)');
  return { typeCode: ex && ex.code !== NOT_AN_EXEMPTION ? 'ISTISNA' : 'SATIS' };
}

function address(x: Xml, a: PostalAddress): void {
  x.open('cac:PostalAddress')
    .leaf('cbc:StreetName', a.street)
    .leaf('cbc:BuildingNumber', a.buildingNumber)
    .leaf('cbc:CitySubdivisionName', a.district)
    .leaf('cbc:CityName', a.city)
    .leaf('cbc:PostalZone', a.postalCode)
    .open('cac:Country')
    .leaf('cbc:IdentificationCode', a.countryCode)
    .leaf('cbc:Name', a.countryName)
    .close('cac:Country')
    .close('cac:PostalAddress');
}

function party(x: Xml, wrapper: string, p: Party): void {
  x.open(wrapper).open('cac:Party');
  x.leaf('cbc:WebsiteURI', p.website);
  x.open('cac:PartyIdentification').leaf('cbc:ID', p.taxId.value, { schemeID: p.taxId.scheme }).close('cac:PartyIdentification');
  x.open('cac:PartyName').leaf('cbc:Name', p.legalName).close('cac:PartyName');
  address(x, p.address);
  if (p.taxOffice?.trim()) {
    x.open('cac:PartyTaxScheme').open('cac:TaxScheme').leaf('cbc:Name', p.taxOffice).close('cac:TaxScheme').close('cac:PartyTaxScheme');
  }
  if (p.phone?.trim() || p.email?.trim()) x.open('cac:Contact').leaf('cbc:Telephone', p.phone).leaf('cbc:ElectronicMail', p.email).close('cac:Contact');
  if (p.taxId.scheme === 'TCKN') x.open('cac:Person').leaf('cbc:FirstName', p.taxId.firstName).leaf('cbc:FamilyName', p.taxId.familyName).close('cac:Person');
  x.close('cac:Party').close(wrapper);
}

function taxSubtotal(x: Xml, cur: Record<string, string>, net: number, tax: number, rateBp: RateBp, exemption?: { code: string; reason: string }): void {
  x.open('cac:TaxSubtotal')
    .leaf('cbc:TaxableAmount', decimalAmount(net), cur)
    .leaf('cbc:TaxAmount', decimalAmount(tax), cur)
    .leaf('cbc:Percent', rateText(rateBp))
    .open('cac:TaxCategory');
  if (rateBp === 0 && exemption) x.leaf('cbc:TaxExemptionReasonCode', exemption.code).leaf('cbc:TaxExemptionReason', exemption.reason);
  x.open('cac:TaxScheme').leaf('cbc:Name', KDV.name).leaf('cbc:TaxTypeCode', KDV.code).close('cac:TaxScheme').close('cac:TaxCategory').close('cac:TaxSubtotal');
}

/** Sums of the lines in BigInt, per rate (highest first) and in all. */
function totals(lines: DocumentLine[]) {
  const per = new Map<RateBp, { net: bigint; tax: bigint }>();
  let net = 0n, tax = 0n;
  for (const l of lines) {
    const p = per.get(l.rateBp) ?? { net: 0n, tax: 0n };
    p.net += BigInt(l.net);
    p.tax += BigInt(l.tax);
    per.set(l.rateBp, p);
    net += BigInt(l.net);
    tax += BigInt(l.tax);
  }
  const byRate = [...per.entries()].sort(([a], [b]) => b - a).map(([rateBp, p]) => ({ rateBp, net: Number(p.net), tax: Number(p.tax) }));
  return { net: Number(net), tax: Number(tax), total: Number(net + tax), byRate };
}

/** The document as UBL-TR 1.2 XML (UTF-8 text). Throws EInvoiceModelError on a document GİB would refuse. */
export function renderUblTr(d: EInvoiceDocument): string {
  const { typeCode } = checkDocument(d);
  const cur = { currencyID: d.currency };
  const sum = totals(d.lines);
  const x = new Xml();

  x.open('Invoice', {
    xmlns: NS.inv,
    'xmlns:cac': NS.cac,
    'xmlns:cbc': NS.cbc,
    'xmlns:xsi': NS.xsi,
    'xsi:schemaLocation': `${NS.inv} UBL-Invoice-2.1.xsd`,
  });
  x.leaf('cbc:UBLVersionID', '2.1')
    .leaf('cbc:CustomizationID', 'TR1.2')
    .leaf('cbc:ProfileID', d.profile)
    .leaf('cbc:ID', d.number)
    .leaf('cbc:CopyIndicator', 'false')
    .leaf('cbc:UUID', d.uuid)
    .leaf('cbc:IssueDate', d.issueDate)
    .leaf('cbc:IssueTime', d.issueTime)
    .leaf('cbc:InvoiceTypeCode', typeCode)
    .leaf('cbc:Note', amountInWordsTr(sum.total, d.currency));
  for (const n of d.notes ?? []) x.leaf('cbc:Note', n);
  x.leaf('cbc:DocumentCurrencyCode', d.currency).leaf('cbc:LineCountNumeric', d.lines.length);

  if (d.kind === 'creditNote' && d.creditedInvoice) {
    x.open('cac:BillingReference')
      .open('cac:InvoiceDocumentReference')
      .leaf('cbc:ID', d.creditedInvoice.number)
      .leaf('cbc:IssueDate', d.creditedInvoice.issueDate)
      .leaf('cbc:DocumentTypeCode', 'IADE')
      .close('cac:InvoiceDocumentReference')
      .close('cac:BillingReference');
  }
  if (d.profile === 'EARSIVFATURA') {
    x.open('cac:AdditionalDocumentReference')
      .leaf('cbc:ID', d.number)
      .leaf('cbc:IssueDate', d.issueDate)
      .leaf('cbc:DocumentTypeCode', 'SendingType')
      .leaf('cbc:DocumentType', d.sendingType ?? 'ELEKTRONIK')
      .close('cac:AdditionalDocumentReference');
  }

  // Who signs: the seller. The signature itself (XAdES) is the integrator's or the seller's seal.
  x.open('cac:Signature').leaf('cbc:ID', d.seller.taxId.value, { schemeID: 'VKN_TCKN' }).open('cac:SignatoryParty');
  x.open('cac:PartyIdentification').leaf('cbc:ID', d.seller.taxId.value, { schemeID: d.seller.taxId.scheme }).close('cac:PartyIdentification');
  address(x, d.seller.address);
  x.close('cac:SignatoryParty')
    .open('cac:DigitalSignatureAttachment')
    .open('cac:ExternalReference')
    .leaf('cbc:URI', `#Signature_${d.number}`)
    .close('cac:ExternalReference')
    .close('cac:DigitalSignatureAttachment')
    .close('cac:Signature');

  party(x, 'cac:AccountingSupplierParty', d.seller);
  party(x, 'cac:AccountingCustomerParty', d.buyer);

  if (d.currency !== 'TRY') {
    x.open('cac:PricingExchangeRate')
      .leaf('cbc:SourceCurrencyCode', d.currency)
      .leaf('cbc:TargetCurrencyCode', 'TRY')
      .leaf('cbc:CalculationRate', d.exchangeRate)
      .leaf('cbc:Date', d.issueDate)
      .close('cac:PricingExchangeRate');
  }

  x.open('cac:TaxTotal').leaf('cbc:TaxAmount', decimalAmount(sum.tax), cur);
  for (const r of sum.byRate) taxSubtotal(x, cur, r.net, r.tax, r.rateBp, d.zeroRateExemption);
  x.close('cac:TaxTotal');

  x.open('cac:LegalMonetaryTotal')
    .leaf('cbc:LineExtensionAmount', decimalAmount(sum.net), cur)
    .leaf('cbc:TaxExclusiveAmount', decimalAmount(sum.net), cur)
    .leaf('cbc:TaxInclusiveAmount', decimalAmount(sum.total), cur)
    .leaf('cbc:AllowanceTotalAmount', decimalAmount(0), cur)
    .leaf('cbc:PayableAmount', decimalAmount(sum.total), cur)
    .close('cac:LegalMonetaryTotal');

  for (const [i, l] of d.lines.entries()) {
    x.open('cac:InvoiceLine')
      .leaf('cbc:ID', i + 1)
      .leaf('cbc:InvoicedQuantity', l.quantity, { unitCode: l.unitCode ?? 'C62' })
      .leaf('cbc:LineExtensionAmount', decimalAmount(l.net), cur);
    x.open('cac:TaxTotal').leaf('cbc:TaxAmount', decimalAmount(l.tax), cur);
    taxSubtotal(x, cur, l.net, l.tax, l.rateBp, d.zeroRateExemption);
    x.close('cac:TaxTotal');
    x.open('cac:Item').leaf('cbc:Name', l.name).close('cac:Item');
    x.open('cac:Price').leaf('cbc:PriceAmount', decimalAmount(l.unitPrice), cur).close('cac:Price');
    x.close('cac:InvoiceLine');
  }
  x.close('Invoice');
  return x.toString();
}

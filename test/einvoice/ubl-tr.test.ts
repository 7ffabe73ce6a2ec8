import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { chooseProfile, decimalAmount, EInvoiceModelError, escapeXml, renderUblTr, type EInvoiceDocument, type Party } from '../../src/einvoice/ubl-tr';
import { taxLine } from '../../src/tax/tax';
import { tcknCheckDigits, vknCheckDigit } from '../../src/tax/tax-ids';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ubl-2.1');
const INVOICE_XSD = join(FIXTURES, 'xsd', 'maindoc', 'UBL-Invoice-2.1.xsd');

const istanbul = { street: 'Caferağa Mah. Moda Cad. No: 12', district: 'Kadıköy', city: 'İstanbul', postalCode: '34710', countryCode: 'TR', countryName: 'Türkiye' };
const seller: Party = {
  legalName: 'Kontor Yazılım Anonim Şirketi',
  taxId: { scheme: 'VKN', value: '4540536920' },
  taxOffice: 'Kadıköy',
  address: istanbul,
  email: 'fatura@kontor.example',
};
const agencyVkn = '384729105' + vknCheckDigit('384729105');
const agency: Party = {
  legalName: 'Mavi Ajans Dijital Hizmetler Ltd. Şti.',
  taxId: { scheme: 'VKN', value: agencyVkn },
  taxOffice: 'Beşiktaş',
  address: { street: 'Barbaros Bulvarı No: 40', district: 'Beşiktaş', city: 'İstanbul', countryCode: 'TR', countryName: 'Türkiye' },
};
const person: Party = {
  legalName: 'Ayşe Yılmaz',
  taxId: { scheme: 'TCKN', value: '17291716060', firstName: 'Ayşe', familyName: 'Yılmaz' },
  address: { street: 'Kızılay Mah. Atatürk Bulvarı No: 3', district: 'Çankaya', city: 'Ankara', countryCode: 'TR', countryName: 'Türkiye' },
  email: 'ayse@example.com',
};

/**
 * An invoice with two rates, worked by hand (prices without tax):
 *   1 x 1.000,00 at 20%: net 1.000,00, tax 200,00
 *   3 x 27,29 at 10%:    net 81,87,    tax 8,19 (8,187 rounded)
 *   net 1.081,87 + tax 208,19 = 1.290,06
 */
const twoRates: EInvoiceDocument = {
  kind: 'invoice',
  profile: 'TEMELFATURA',
  number: 'KNT2026000000001',
  uuid: '6f1c2b7e-0a4d-4c3b-9e21-7d5a8b9c0e1f',
  issueDate: '2026-03-31',
  issueTime: '09:30:00',
  currency: 'TRY',
  seller,
  buyer: agency,
  lines: [
    { name: 'Kurumsal paket (Mart 2026)', quantity: 1, unitPrice: 100_000, net: 100_000, rateBp: 2000, tax: 20_000 },
    { name: 'Eğitim kitabı', quantity: 3, unitPrice: 2729, net: 8187, rateBp: 1000, tax: 819 },
  ],
};

/** e-Arşiv to a person, a price with tax: 100,00 at 20% is 83,33 net + 16,67 tax. */
const toPerson: EInvoiceDocument = {
  ...twoRates,
  profile: 'EARSIVFATURA',
  number: 'KNT2026000000002',
  uuid: '0c8e4a52-63f9-4d0e-a1b7-2f6d3c9e8a41',
  buyer: person,
  lines: [{ name: '1.000 mesaj kredisi', quantity: 1, unitPrice: 8333, net: 8333, rateBp: 2000, tax: 1667 }],
};

/** A credit note reversing one of the three books: 27,29 + 2,73 (2,729 rounded) = 30,02. */
const creditNote: EInvoiceDocument = {
  ...twoRates,
  kind: 'creditNote',
  number: 'KNI2026000000001',
  uuid: '9a3d7f10-5b2e-4e8c-b6a4-1c0f9e8d7b65',
  issueDate: '2026-04-02',
  issueTime: '14:05:09',
  creditedInvoice: { number: 'KNT2026000000001', issueDate: '2026-03-31' },
  lines: [{ name: 'Eğitim kitabı (iade)', quantity: 1, unitPrice: 2729, net: 2729, rateBp: 1000, tax: 273 }],
  notes: ['KNT2026000000001 numaralı faturanın kısmi iadesidir.'],
};

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, isArray: (name) => ['cbc:Note', 'cac:TaxSubtotal', 'cac:InvoiceLine'].includes(name) });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const parse = (xml: string): any => parser.parse(xml).Invoice;
const rootOrder = (xml: string) => [...xml.matchAll(/^ {2}<((?:cbc|cac):\w+)/gm)].map((m) => m[1]).filter((n, i, a) => a.indexOf(n) === i);
const text = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>)['#text'] : v);

function refuses(doc: EInvoiceDocument, code: string): void {
  expect(() => renderUblTr(doc)).to.throw(EInvoiceModelError).with.property('code', code);
}

describe('UBL-TR 1.2 e-invoices', () => {
  it('the sample lines are what src/tax gives', () => {
    expect(taxLine(8187, 1000, 'exclusive').tax).to.equal(819);
    expect(taxLine(10_000, 2000, 'inclusive')).to.include({ net: 8333, tax: 1667 });
    expect(taxLine(2729, 1000, 'exclusive').tax).to.equal(273);
  });

  it('carries the UBL-TR header in UBL order: version 2.1, TR1.2, profile, 16-character number, CopyIndicator false, ETTN, date and time, type, currency, line count', () => {
    const xml = renderUblTr(twoRates);
    const inv = parse(xml);
    expect(inv['cbc:UBLVersionID']).to.equal('2.1');
    expect(inv['cbc:CustomizationID']).to.equal('TR1.2');
    expect(inv['cbc:ProfileID']).to.equal('TEMELFATURA');
    expect(inv['cbc:ID']).to.equal('KNT2026000000001').and.to.match(/^[A-Z0-9]{3}20\d{2}\d{9}$/);
    expect(inv['cbc:CopyIndicator']).to.equal('false');
    expect(inv['cbc:UUID']).to.equal('6f1c2b7e-0a4d-4c3b-9e21-7d5a8b9c0e1f');
    expect(inv['cbc:IssueDate']).to.equal('2026-03-31');
    expect(inv['cbc:IssueTime']).to.equal('09:30:00');
    expect(inv['cbc:InvoiceTypeCode']).to.equal('SATIS');
    expect(inv['cbc:DocumentCurrencyCode']).to.equal('TRY');
    expect(inv['cbc:LineCountNumeric']).to.equal('2');
    expect(rootOrder(xml)).to.deep.equal([
      'cbc:UBLVersionID', 'cbc:CustomizationID', 'cbc:ProfileID', 'cbc:ID', 'cbc:CopyIndicator', 'cbc:UUID', 'cbc:IssueDate', 'cbc:IssueTime',
      'cbc:InvoiceTypeCode', 'cbc:Note', 'cbc:DocumentCurrencyCode', 'cbc:LineCountNumeric', 'cac:Signature',
      'cac:AccountingSupplierParty', 'cac:AccountingCustomerParty', 'cac:TaxTotal', 'cac:LegalMonetaryTotal', 'cac:InvoiceLine',
    ]);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"')).to.equal(true);
  });

  it('identifies the seller by VKN with its legal name, address and tax office (PartyTaxScheme/TaxScheme/Name), and signs as the seller', () => {
    const inv = parse(renderUblTr(twoRates));
    const p = inv['cac:AccountingSupplierParty']['cac:Party'];
    expect(p['cac:PartyIdentification']['cbc:ID']).to.deep.equal({ '#text': '4540536920', '@schemeID': 'VKN' });
    expect(p['cac:PartyName']['cbc:Name']).to.equal('Kontor Yazılım Anonim Şirketi');
    expect(p['cac:PostalAddress']).to.deep.include({ 'cbc:StreetName': 'Caferağa Mah. Moda Cad. No: 12', 'cbc:CitySubdivisionName': 'Kadıköy', 'cbc:CityName': 'İstanbul', 'cbc:PostalZone': '34710' });
    expect(p['cac:PostalAddress']['cac:Country']).to.deep.equal({ 'cbc:IdentificationCode': 'TR', 'cbc:Name': 'Türkiye' });
    expect(p['cac:PartyTaxScheme']['cac:TaxScheme']['cbc:Name']).to.equal('Kadıköy');
    expect(p['cac:Contact']['cbc:ElectronicMail']).to.equal('fatura@kontor.example');
    expect(inv['cac:Signature']['cbc:ID']).to.deep.equal({ '#text': '4540536920', '@schemeID': 'VKN_TCKN' });
    const buyer = inv['cac:AccountingCustomerParty']['cac:Party'];
    expect(buyer['cac:PartyIdentification']['cbc:ID']).to.deep.equal({ '#text': agencyVkn, '@schemeID': 'VKN' });
    expect(buyer['cac:PartyTaxScheme']['cac:TaxScheme']['cbc:Name']).to.equal('Beşiktaş');
    expect(buyer['cac:Person']).to.equal(undefined);
  });

  it('sums the tax by rate (KDV, TaxTypeCode 0015) and the totals from the lines: net + tax = payable', () => {
    const inv = parse(renderUblTr(twoRates));
    const tt = inv['cac:TaxTotal'];
    expect(tt['cbc:TaxAmount']).to.deep.equal({ '#text': '208.19', '@currencyID': 'TRY' });
    expect(tt['cac:TaxSubtotal'].map((s: Record<string, unknown>) => [text(s['cbc:TaxableAmount']), text(s['cbc:TaxAmount']), s['cbc:Percent']])).to.deep.equal([
      ['1000.00', '200.00', '20.00'],
      ['81.87', '8.19', '10.00'],
    ]);
    for (const s of tt['cac:TaxSubtotal']) expect(s['cac:TaxCategory']['cac:TaxScheme']).to.deep.equal({ 'cbc:Name': 'KDV', 'cbc:TaxTypeCode': '0015' });
    const m = inv['cac:LegalMonetaryTotal'];
    expect([m['cbc:LineExtensionAmount'], m['cbc:TaxExclusiveAmount'], m['cbc:TaxInclusiveAmount'], m['cbc:AllowanceTotalAmount'], m['cbc:PayableAmount']].map(text)).to.deep.equal(['1081.87', '1081.87', '1290.06', '0.00', '1290.06']);
  });

  it('writes each line with its quantity and unit, net amount, own tax subtotal, name and unit price', () => {
    const lines = parse(renderUblTr(twoRates))['cac:InvoiceLine'];
    expect(lines).to.have.length(2);
    const [, books] = lines;
    expect(books['cbc:ID']).to.equal('2');
    expect(books['cbc:InvoicedQuantity']).to.deep.equal({ '#text': '3', '@unitCode': 'C62' });
    expect(text(books['cbc:LineExtensionAmount'])).to.equal('81.87');
    expect(text(books['cac:TaxTotal']['cbc:TaxAmount'])).to.equal('8.19');
    expect(books['cac:TaxTotal']['cac:TaxSubtotal'][0]['cbc:Percent']).to.equal('10.00');
    expect(books['cac:Item']['cbc:Name']).to.equal('Eğitim kitabı');
    expect(books['cac:Price']['cbc:PriceAmount']).to.deep.equal({ '#text': '27.29', '@currencyID': 'TRY' });
  });

  it('writes the payable amount in Turkish words as the first note', () => {
    expect(parse(renderUblTr(twoRates))['cbc:Note']).to.deep.equal(['Yalnız bin iki yüz doksan Türk Lirası altı Kuruş']);
    expect(parse(renderUblTr(toPerson))['cbc:Note']).to.deep.equal(['Yalnız yüz Türk Lirası']);
  });

  it('e-Arşiv to a person: TCKN with the first and family names (cac:Person), and the sending type ELEKTRONIK', () => {
    const xml = renderUblTr(toPerson);
    const inv = parse(xml);
    expect(inv['cbc:ProfileID']).to.equal('EARSIVFATURA');
    const buyer = inv['cac:AccountingCustomerParty']['cac:Party'];
    expect(buyer['cac:PartyIdentification']['cbc:ID']).to.deep.equal({ '#text': '17291716060', '@schemeID': 'TCKN' });
    expect(buyer['cac:Person']).to.deep.equal({ 'cbc:FirstName': 'Ayşe', 'cbc:FamilyName': 'Yılmaz' });
    expect(buyer['cac:PartyTaxScheme']).to.equal(undefined);
    expect(inv['cac:AdditionalDocumentReference']).to.deep.include({ 'cbc:DocumentTypeCode': 'SendingType', 'cbc:DocumentType': 'ELEKTRONIK' });
    expect(parse(renderUblTr({ ...toPerson, sendingType: 'KAGIT' }))['cac:AdditionalDocumentReference']['cbc:DocumentType']).to.equal('KAGIT');
    expect(parse(renderUblTr(twoRates))['cac:AdditionalDocumentReference']).to.equal(undefined);
  });

  it('a credit note is an IADE invoice naming the invoice it reverses (BillingReference, DocumentTypeCode IADE), amounts positive', () => {
    const xml = renderUblTr(creditNote);
    const inv = parse(xml);
    expect(inv['cbc:InvoiceTypeCode']).to.equal('IADE');
    expect(inv['cbc:ID']).to.equal('KNI2026000000001');
    expect(inv['cac:BillingReference']['cac:InvoiceDocumentReference']).to.deep.equal({ 'cbc:ID': 'KNT2026000000001', 'cbc:IssueDate': '2026-03-31', 'cbc:DocumentTypeCode': 'IADE' });
    expect(inv['cbc:Note']).to.deep.equal(['Yalnız otuz Türk Lirası iki Kuruş', 'KNT2026000000001 numaralı faturanın kısmi iadesidir.']);
    expect(text(inv['cac:LegalMonetaryTotal']['cbc:PayableAmount'])).to.equal('30.02');
    expect(rootOrder(xml).indexOf('cac:BillingReference')).to.equal(rootOrder(xml).indexOf('cbc:LineCountNumeric') + 1);
  });

  it('a credit note is never TICARIFATURA (GİB refuses IADE there) and always names its invoice', () => {
    refuses({ ...creditNote, profile: 'TICARIFATURA' }, 'credit_note_profile');
    refuses({ ...creditNote, creditedInvoice: undefined }, 'credit_note_reference');
    refuses({ ...creditNote, creditedInvoice: { number: 'KNT-1', issueDate: '2026-03-31' } }, 'credit_note_reference');
    expect(parse(renderUblTr({ ...creditNote, profile: 'EARSIVFATURA', buyer: person }))['cbc:InvoiceTypeCode']).to.equal('IADE');
  });

  it('the buyer\'s registration picks the profile', () => {
    expect(chooseProfile({ kind: 'invoice', buyerRegisteredForEInvoice: false })).to.equal('EARSIVFATURA');
    expect(chooseProfile({ kind: 'invoice', buyerRegisteredForEInvoice: true })).to.equal('TEMELFATURA');
    expect(chooseProfile({ kind: 'invoice', buyerRegisteredForEInvoice: true, commercial: true })).to.equal('TICARIFATURA');
    expect(chooseProfile({ kind: 'creditNote', buyerRegisteredForEInvoice: true, commercial: true })).to.equal('TEMELFATURA');
    expect(chooseProfile({ kind: 'creditNote', buyerRegisteredForEInvoice: false })).to.equal('EARSIVFATURA');
  });

  it('0% KDV carries its exemption code and reason: 351 keeps a SATIS invoice, an exemption makes it ISTISNA', () => {
    const zero = { ...twoRates, lines: [{ name: 'Yurt dışı hizmet', quantity: 1, unitPrice: 5000, net: 5000, rateBp: 0, tax: 0 }] };
    refuses(zero, 'exemption_missing');
    const satis = parse(renderUblTr({ ...zero, zeroRateExemption: { code: '351', reason: 'KDV İstisna Olmayan Diğer' } }));
    expect(satis['cbc:InvoiceTypeCode']).to.equal('SATIS');
    expect(satis['cac:TaxTotal']['cac:TaxSubtotal'][0]['cac:TaxCategory']).to.deep.include({ 'cbc:TaxExemptionReasonCode': '351', 'cbc:TaxExemptionReason': 'KDV İstisna Olmayan Diğer' });
    const istisna = parse(renderUblTr({ ...zero, zeroRateExemption: { code: '302', reason: '11/1-a Hizmet İhracatı' } }));
    expect(istisna['cbc:InvoiceTypeCode']).to.equal('ISTISNA');
    // The exemption is written on 0% subtotals only.
    const mixed = parse(renderUblTr({ ...zero, lines: [...zero.lines, twoRates.lines[0]!], zeroRateExemption: { code: '351', reason: 'KDV İstisna Olmayan Diğer' } }));
    const [twenty, nought] = mixed['cac:TaxTotal']['cac:TaxSubtotal'];
    expect(twenty['cac:TaxCategory']['cbc:TaxExemptionReasonCode']).to.equal(undefined);
    expect(nought['cac:TaxCategory']['cbc:TaxExemptionReasonCode']).to.equal('351');
  });

  it('a currency other than TRY carries the exchange rate, and its words', () => {
    const eur = parse(renderUblTr({ ...twoRates, currency: 'EUR', exchangeRate: '38.123456' }));
    expect(eur['cac:PricingExchangeRate']).to.deep.equal({ 'cbc:SourceCurrencyCode': 'EUR', 'cbc:TargetCurrencyCode': 'TRY', 'cbc:CalculationRate': '38.123456', 'cbc:Date': '2026-03-31' });
    expect(eur['cbc:Note'][0]).to.equal('Yalnız bin iki yüz doksan Avro altı Sent');
    expect(eur['cac:LegalMonetaryTotal']['cbc:PayableAmount']['@currencyID']).to.equal('EUR');
    refuses({ ...twoRates, currency: 'EUR' }, 'exchange_rate_missing');
    refuses({ ...twoRates, currency: 'USD', exchangeRate: '38,12' }, 'exchange_rate_missing');
  });

  it('escapes every text: names with & < > " \' come back as written, characters XML cannot carry are dropped', () => {
    const odd = 'Ölçü & Biçim <Tasarım> "Ajans" \'A.Ş.\'\u0007';
    const xml = renderUblTr({ ...twoRates, buyer: { ...agency, legalName: odd }, lines: [{ ...twoRates.lines[0]!, name: 'a < b && c > d' }] });
    expect(xml).to.include('<cbc:Name>Ölçü &amp; Biçim &lt;Tasarım&gt; &quot;Ajans&quot; &apos;A.Ş.&apos;</cbc:Name>');
    const inv = new XMLParser({ ignoreAttributes: false, processEntities: true, htmlEntities: false, isArray: (n) => n === 'cac:InvoiceLine' }).parse(xml).Invoice;
    expect(inv['cac:AccountingCustomerParty']['cac:Party']['cac:PartyName']['cbc:Name']).to.equal('Ölçü & Biçim <Tasarım> "Ajans" \'A.Ş.\'');
    expect(inv['cac:InvoiceLine'][0]['cac:Item']['cbc:Name']).to.equal('a < b && c > d');
    expect(escapeXml('x\u0000y\uFFFEz\uD800')).to.equal('xyz');
  });

  it('refuses what GİB would refuse, before any XML is written', () => {
    refuses({ ...twoRates, number: 'KNT26000000001' }, 'number_format');
    refuses({ ...twoRates, number: 'knt2026000000001' }, 'number_format');
    refuses({ ...twoRates, number: 'KNT2025000000001' }, 'number_year');
    refuses({ ...twoRates, uuid: 'not-a-uuid' }, 'uuid_format');
    refuses({ ...twoRates, issueTime: '9:30' }, 'issue_date_format');
    refuses({ ...twoRates, seller: { ...seller, taxId: { scheme: 'VKN', value: '4540536921' } } }, 'party_tax_id_invalid');
    refuses({ ...twoRates, buyer: { ...agency, taxOffice: undefined } }, 'party_tax_office_missing');
    const first9 = '172917160';
    refuses({ ...toPerson, buyer: { ...person, taxId: { scheme: 'TCKN', value: first9 + tcknCheckDigits(first9).join(''), firstName: 'Ayşe', familyName: ' ' } } }, 'party_person_name_missing');
    refuses({ ...twoRates, buyer: { ...agency, address: { ...agency.address, district: '' } } }, 'party_address_incomplete');
    refuses({ ...twoRates, lines: [] }, 'no_lines');
    refuses({ ...twoRates, lines: [{ ...twoRates.lines[0]!, quantity: 0.5 }] }, 'line_quantity');
    refuses({ ...twoRates, lines: [{ name: 'İndirim', quantity: 1, unitPrice: 0, net: -1000, rateBp: 2000, tax: -200 }] }, 'line_amount_negative');
    refuses({ ...twoRates, lines: [{ ...twoRates.lines[1]!, tax: 818 }] }, 'line_tax_mismatch');
    refuses({ ...twoRates, lines: [{ ...twoRates.lines[1]!, rateBp: 10_001 }] }, 'line_rate');
  });

  it('accepts the tax of a price with tax as well as without (the renderer does not know the seller\'s mode)', () => {
    expect(() => renderUblTr(toPerson)).to.not.throw();
  });

  it('decimalAmount writes minor units exactly', () => {
    expect([decimalAmount(108_387), decimalAmount(5), decimalAmount(0), decimalAmount(-5), decimalAmount(120_000_000_000)]).to.deep.equal(['1083.87', '0.05', '0.00', '-0.05', '1200000000.00']);
  });
});

describe('UBL-TR XML against the OASIS UBL 2.1 schema (xmllint)', function () {
  this.timeout(60_000);
  let dir: string | undefined;

  before(() => {
    const probe = spawnSync('xmllint', ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(`xmllint is needed to validate UBL-TR against the UBL 2.1 schemas and could not run (${probe.error?.message ?? `exit ${probe.status}`}). Install libxml2-utils (apt-get install libxml2-utils).`);
    }
    dir = mkdtempSync(join(tmpdir(), 'kontor-ubl-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function validate(name: string, xml: string): { ok: boolean; output: string } {
    const file = join(dir!, `${name}.xml`);
    writeFileSync(file, xml);
    const r = spawnSync('xmllint', ['--noout', '--schema', INVOICE_XSD, file], { encoding: 'utf8' });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  }

  const documents: [string, EInvoiceDocument][] = [
    ['an e-Fatura invoice with two rates', twoRates],
    ['an e-Arşiv invoice to a person', toPerson],
    ['a credit note (IADE)', creditNote],
    ['a TICARIFATURA invoice in euros with a 0% line', {
      ...twoRates,
      profile: 'TICARIFATURA',
      currency: 'EUR',
      exchangeRate: '38.123456',
      zeroRateExemption: { code: '351', reason: 'KDV İstisna Olmayan Diğer' },
      lines: [...twoRates.lines, { name: 'Danışmanlık & <kurulum>', quantity: 2, unitCode: 'HUR', unitPrice: 1500, net: 3000, rateBp: 0, tax: 0 }],
    }],
  ];
  for (const [name, doc] of documents) {
    it(`validates ${name}`, () => {
      const r = validate(name.replace(/\W+/g, '-'), renderUblTr(doc));
      expect(r.output).to.include('validates');
      expect(r.ok, r.output).to.equal(true);
    });
  }

  it('is not vacuous: a document with its elements out of order fails', () => {
    const xml = renderUblTr(twoRates).replace('  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>\n', '').replace('</cbc:LineCountNumeric>\n', '</cbc:LineCountNumeric>\n  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>\n');
    const r = validate('out-of-order', xml);
    expect(r.ok).to.equal(false);
    expect(r.output).to.match(/UBLVersionID.*(not expected|This element is not expected)/s);
  });
});

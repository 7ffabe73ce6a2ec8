import { expect } from 'chai';
import { XMLParser } from 'fast-xml-parser';
import { gibNumber, issueTimeOf, mapInvoice, turkeyDateTime, type IssuedInvoice } from '../../src/einvoice/mapping';
import { renderUblTr } from '../../src/einvoice/ubl-tr';
import { companyBuyer, personBuyer, platformSeller, twoRateLines, validateUbl } from './fixtures';

const UUID = '6f1c2b7e-0a4d-4c3b-9e21-7d5a8b9c0e1f';
const issued = (over: Partial<IssuedInvoice> = {}): IssuedInvoice => ({
  number: 42, issueDay: '2026-03-10', createdAt: new Date('2026-03-10T06:30:05Z'), currency: 'TRY', totalMinor: 129_006, taxMinor: 20_819,
  priceMode: 'exclusive', sellerParty: platformSeller, buyerParty: companyBuyer(), ...over,
});
const parse = (xml: string) => new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, isArray: (n) => n === 'cac:InvoiceLine' }).parse(xml).Invoice;

describe('e-invoice mapping: an issued invoice as a UBL-TR document', () => {
  it('numbers the document series + issue year + the seller\'s number on 9 digits, the same every time', () => {
    expect(gibNumber('KNT', '2026-03-10', 42)).to.equal('KNT2026000000042');
    expect(gibNumber('A1B', '2027-01-01', 999_999_999)).to.equal('A1B2027999999999');
    expect(() => gibNumber('kn', '2026-03-10', 1)).to.throw();
    expect(() => gibNumber('KNT', '2026-03-10', 1_000_000_000)).to.throw();
    const a = mapInvoice(issued(), twoRateLines, { kind: 'invoice', series: 'KNT', uuid: UUID });
    const b = mapInvoice(issued(), twoRateLines, { kind: 'invoice', series: 'KNT', uuid: UUID });
    expect(a).to.deep.equal(b);
  });

  it('writes the issue time in Turkey\'s time (UTC+3), within the issue day', () => {
    expect(turkeyDateTime(new Date('2026-03-10T21:30:05Z'))).to.deep.equal({ date: '2026-03-11', time: '00:30:05' });
    expect(issueTimeOf('2026-03-10', new Date('2026-03-10T06:30:05Z'))).to.equal('09:30:05');
    // Recorded on another day in Turkey than the invoice's issue day: the start of the issue day.
    expect(issueTimeOf('2026-03-10', new Date('2026-03-10T21:30:05Z'))).to.equal('00:00:00');
  });

  it('a registered company buyer gets an e-Fatura (TEMELFATURA, or TICARIFATURA when the seller wants acceptance); anyone else an e-Arşiv', () => {
    const r = mapInvoice(issued(), twoRateLines, { kind: 'invoice', series: 'KNT', uuid: UUID });
    if (!r.ok) throw new Error(r.reason);
    expect(r.document.profile).to.equal('TEMELFATURA');
    expect(r.document.number).to.equal('KNT2026000000042');
    expect(r.document.uuid).to.equal(UUID);
    expect(r.document.issueDate).to.equal('2026-03-10');
    expect(r.document.sendingType).to.equal(undefined);
    const com = mapInvoice(issued(), twoRateLines, { kind: 'invoice', series: 'KNT', uuid: UUID, commercial: true });
    expect(com.ok && com.document.profile).to.equal('TICARIFATURA');
    const unregistered = mapInvoice(issued({ buyerParty: companyBuyer({ eInvoiceRegistered: false }) }), twoRateLines, { kind: 'invoice', series: 'KNT', uuid: UUID });
    expect(unregistered.ok && unregistered.document.profile).to.equal('EARSIVFATURA');
    const person = mapInvoice(issued({ buyerParty: personBuyer() }), twoRateLines, { kind: 'invoice', series: 'KNT', uuid: UUID });
    if (!person.ok) throw new Error(person.reason);
    expect(person.document.profile).to.equal('EARSIVFATURA');
    expect(person.document.sendingType).to.equal('ELEKTRONIK');
    expect(person.document.buyer.taxId).to.deep.equal({ scheme: 'TCKN', value: '17291716060', firstName: 'Ayşe', familyName: 'Yılmaz' });
  });

  it('carries the lines as issued: net, rate and tax per line; a quantity that does not divide its amount goes as one unit', () => {
    const lines = [...twoRateLines, { description: 'Mart (10/31 gün)', quantity: 3, amountMinor: 1000, taxRateBp: 2000, taxMinor: 200 }];
    const r = mapInvoice(issued(), lines, { kind: 'invoice', series: 'KNT', uuid: UUID });
    if (!r.ok) throw new Error(r.reason);
    expect(r.document.lines.map((l) => [l.quantity, l.unitPrice, l.net, l.rateBp, l.tax])).to.deep.equal([
      [1, 100_000, 100_000, 2000, 20_000],
      [3, 2729, 8187, 1000, 819],
      [1, 1000, 1000, 2000, 200],
    ]);
  });

  it('names a line Kontor wrote in Turkish (its catalog key), a seller\'s own words as written', () => {
    const lines = [
      { description: 'Pro paket', quantity: 1, amountMinor: 1000, taxRateBp: 2000, taxMinor: 200 },
      { description: 'WhatsApp balance', descriptionKey: 'billing:line.whatsappBalance', quantity: 1, amountMinor: 5000, taxRateBp: 2000, taxMinor: 1000 },
    ];
    const r = mapInvoice(issued(), lines, { kind: 'invoice', series: 'KNT', uuid: UUID });
    if (!r.ok) throw new Error(r.reason);
    expect(r.document.lines.map((l) => l.name)).to.deep.equal(['Pro paket', 'WhatsApp bakiyesi']);
  });

  it('an invoice issued without tax identities, to an exempt foreign buyer, in euros or with a negative line is not sendable, and says why', () => {
    const reasonOf = (over: Partial<IssuedInvoice>, lines = twoRateLines) => {
      const r = mapInvoice(issued(over), lines, { kind: 'invoice', series: 'KNT', uuid: UUID });
      return r.ok ? 'ok' : r.reason;
    };
    expect(reasonOf({ sellerParty: null, buyerParty: null, priceMode: null })).to.equal('einvoice:reason.noTaxIdentities');
    expect(reasonOf({ buyerParty: { kind: 'exempt', name: 'Acme GmbH', reason: 'Reverse charge', address: { line1: 'Hauptstr. 1', city: 'Berlin', country: 'DE' } } })).to.equal('einvoice:reason.foreignBuyer');
    expect(reasonOf({ currency: 'EUR' })).to.equal('einvoice:reason.currency{"currency":"EUR"}');
    expect(reasonOf({}, [{ description: 'İndirim', quantity: 1, amountMinor: -100, taxRateBp: 2000, taxMinor: -20 }])).to.equal('einvoice:reason.negativeLine');
  });

  it('renders XML carrying the number, ETTN, profile, both parties and the tax by rate', () => {
    const r = mapInvoice(issued(), twoRateLines, { kind: 'invoice', series: 'KNT', uuid: UUID });
    if (!r.ok) throw new Error(r.reason);
    const inv = parse(renderUblTr(r.document));
    expect(inv['cbc:ID']).to.equal('KNT2026000000042');
    expect(inv['cbc:UUID']).to.equal(UUID);
    expect(inv['cbc:IssueTime']).to.equal('09:30:05');
    expect(inv['cac:AccountingSupplierParty']['cac:Party']['cac:PartyIdentification']['cbc:ID']['#text']).to.equal('4540536920');
    expect(inv['cac:TaxTotal']['cbc:TaxAmount']['#text']).to.equal('208.19');
    expect(inv['cac:LegalMonetaryTotal']['cbc:PayableAmount']['#text']).to.equal('1290.06');
  });

  describe('validates against the OASIS UBL 2.1 schema (xmllint)', function () {
    this.timeout(60_000);
    const cases: [string, Partial<IssuedInvoice>, typeof twoRateLines][] = [
      ['an e-Fatura to a registered company, two rates', {}, twoRateLines],
      ['an e-Arşiv to a person, with a 0% line (exemption 351) and a prorated line', { buyerParty: personBuyer() }, [
        ...twoRateLines,
        { description: 'Ek modül (0%)', quantity: 1, amountMinor: 5000, taxRateBp: 0, taxMinor: 0 },
        { description: 'Mart (10/31 gün)', quantity: 3, amountMinor: 1000, taxRateBp: 2000, taxMinor: 200 },
      ]],
      ['an e-Arşiv from a sole trader (TCKN seller) to an unregistered company', { sellerParty: { ...platformSeller, legalName: 'Mehmet Ali Demir', taxNumber: '10000000146' }, buyerParty: companyBuyer({ eInvoiceRegistered: false }) }, twoRateLines],
    ];
    for (const [name, over, lines] of cases) {
      it(name, () => {
        const r = mapInvoice(issued(over), lines, { kind: 'invoice', series: 'KNT', uuid: UUID });
        if (!r.ok) throw new Error(r.reason);
        const v = validateUbl(renderUblTr(r.document));
        expect(v.ok, v.output).to.equal(true);
      });
    }
  });
});

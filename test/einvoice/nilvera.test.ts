import { expect } from 'chai';
import express from 'express';
import { IntegratorAuthError, IntegratorTransportError } from '../../src/einvoice/integrator';
import { NILVERA_URLS, NilveraIntegrator, nilveraRegistration, nilveraStatus } from '../../src/einvoice/integrators/nilvera';
import { mapInvoice } from '../../src/einvoice/mapping';
import { renderUblTr } from '../../src/einvoice/ubl-tr';
import { companyBuyer, listenClosable, personBuyer, platformSeller, twoRateLines } from './fixtures';

const API_KEY = '9EE05B6564525810C86A32646DB46A26E20F4BCE32C0B13AB22AA78E70DC4F69';
const ETTN = '0c8e4a52-63f9-4d0e-a1b7-2f6d3c9e8a41';

interface Received { method: string; path: string; query: Record<string, unknown>; auth: string | undefined; contentType: string | undefined; file?: { name: string; type: string; text: string } }

/**
 * A local fake of the Nilvera endpoints the client uses, shaped as Nilvera's documentation and
 * Odoo's connector describe them (src/einvoice/integrators/nilvera.ts): Bearer API key,
 * multipart upload of the XML as `file`, { UUID, InvoiceNumber } on success,
 * { Errors: [{ Code, Description, Detail }] } on a refusal, status by UUID.
 */
function fakeNilvera() {
  const received: Received[] = [];
  const documents = new Map<string, { channel: string; status: string }>();
  const behaviour = { next: 'ok' as 'ok' | 'refuse' | 'fail' | 'duplicate' };
  const app = express();
  app.use(async (req, res, next) => {
    const entry: Received = { method: req.method, path: req.path, query: req.query as Record<string, unknown>, auth: req.get('authorization'), contentType: req.get('content-type') };
    received.push(entry);
    if (entry.auth !== `Bearer ${API_KEY}`) return void res.status(401).json({ Message: 'Unauthorized' });
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': entry.contentType ?? '' } }).formData();
      const file = form.get('file');
      if (file && typeof file !== 'string') entry.file = { name: file.name, type: file.type, text: await file.text() };
    }
    next();
  });
  for (const channel of ['earchive', 'einvoice']) {
    app.post(`/${channel}/Send/Xml`, (req, res) => {
      const xml = received[received.length - 1]!.file?.text ?? '';
      const uuid = /<cbc:UUID>([^<]+)<\/cbc:UUID>/.exec(xml)?.[1];
      const number = /<cbc:ID>([^<]+)<\/cbc:ID>/.exec(xml)?.[1];
      const mode = behaviour.next;
      behaviour.next = 'ok';
      if (mode === 'fail') return void res.status(500).json({ Message: 'Internal error' });
      if (mode === 'refuse' || !uuid) return void res.status(422).json({ Errors: [{ Code: 3009, Description: 'Seri bulunamadı', Detail: 'KNT serisi tanımlı değil' }] });
      if (mode === 'duplicate' || documents.has(uuid)) return void res.status(409).json({ Errors: [{ Code: 4001, Description: 'Bu UUID daha önce kullanılmış', Detail: uuid }] });
      documents.set(uuid, { channel, status: channel === 'earchive' ? 'waiting' : 'succeed' });
      res.json({ UUID: uuid, InvoiceNumber: number });
    });
  }
  app.get('/earchive/Invoices/:uuid/Status', (req, res) => {
    const d = documents.get(req.params.uuid);
    if (!d) return void res.status(404).json({ Errors: [{ Code: 404, Description: 'Bulunamadı' }] });
    res.json({ StatusCode: d.status, StatusDetail: d.status === 'error' ? 'Alıcı bilgileri hatalı' : 'Raporlandı', ReportStatus: d.status === 'error' ? 'Raporlanmadı' : 'Raporlandı' });
  });
  app.get('/einvoice/Sale/:uuid/Status', (req, res) => {
    const d = documents.get(req.params.uuid);
    if (!d) return void res.status(404).json({});
    res.json({ InvoiceStatus: { Code: d.status, Description: d.status === 'error' ? 'Alıcı reddetti' : 'Başarılı', DetailDescription: d.status === 'error' ? 'Hatalı fatura' : '' } });
  });
  return { app, received, documents, behaviour };
}

const xmlFor = (buyer = personBuyer()) => {
  const r = mapInvoice({ number: 7, issueDay: '2026-03-10', createdAt: new Date('2026-03-10T06:30:00Z'), currency: 'TRY', totalMinor: 129_006, taxMinor: 20_819, priceMode: 'exclusive', sellerParty: platformSeller, buyerParty: buyer }, twoRateLines, { kind: 'invoice', series: 'KNT', uuid: ETTN });
  if (!r.ok) throw new Error(r.reason);
  return { xml: renderUblTr(r.document), doc: r.document };
};

describe('Nilvera integrator client (against a local fake of its documented endpoints)', function () {
  this.timeout(30_000);
  let fake: ReturnType<typeof fakeNilvera>;
  let server: { base: string; close: () => Promise<void> };
  let client: NilveraIntegrator;

  beforeEach(async () => {
    fake = fakeNilvera();
    server = await listenClosable(fake.app);
    client = new NilveraIntegrator(server.base, API_KEY, 5_000);
  });
  afterEach(() => server.close());

  it('sends an e-Arşiv as a multipart upload of the XML (part "file") to /earchive/Send/Xml with the API key as a Bearer token', async () => {
    const { xml, doc } = xmlFor();
    const answer = await client.send({ xml, ettn: ETTN, number: doc.number, profile: 'EARSIVFATURA', kind: 'invoice', buyerTaxId: '17291716060' }, ETTN);
    expect(answer).to.deep.include({ ettn: ETTN, status: 'pending' });
    const req = fake.received[0]!;
    expect(req).to.include({ method: 'POST', path: '/earchive/Send/Xml', auth: `Bearer ${API_KEY}` });
    expect(req.contentType).to.match(/^multipart\/form-data; boundary=/);
    expect(req.file).to.deep.equal({ name: `${ETTN}.xml`, type: 'application/xml', text: xml });
    // Then GİB's answer: the e-Arşiv status by its UUID.
    expect(await client.status(ETTN, 'EARSIVFATURA')).to.deep.include({ status: 'pending' });
    fake.documents.get(ETTN)!.status = 'succeed';
    expect(await client.status(ETTN, 'EARSIVFATURA')).to.deep.include({ ettn: ETTN, status: 'accepted' });
    fake.documents.get(ETTN)!.status = 'error';
    expect(await client.status(ETTN, 'EARSIVFATURA')).to.deep.include({ status: 'rejected', reason: 'Alıcı bilgileri hatalı - Raporlanmadı' });
    expect(fake.received.slice(1).map((r) => r.path)).to.deep.equal(Array(3).fill(`/earchive/Invoices/${ETTN}/Status`));
  });

  it('sends an e-Fatura to /einvoice/Send/Xml with the buyer\'s alias, and reads its status from /einvoice/Sale/{uuid}/Status', async () => {
    const { xml, doc } = xmlFor(companyBuyer());
    await client.send({ xml, ettn: ETTN, number: doc.number, profile: 'TEMELFATURA', kind: 'invoice', buyerTaxId: doc.buyer.taxId.value, recipientAlias: 'urn:mail:defaultpk@mavi.example' }, ETTN);
    expect(fake.received[0]).to.deep.include({ path: '/einvoice/Send/Xml', query: { Alias: 'urn:mail:defaultpk@mavi.example' } });
    expect(await client.status(ETTN, 'TEMELFATURA')).to.deep.include({ status: 'accepted' });
    expect(fake.received[1]!.path).to.equal(`/einvoice/Sale/${ETTN}/Status`);
  });

  it('a refusal is a rejection with Nilvera\'s codes and texts; a server error or a refused key is an error to retry', async () => {
    const { xml, doc } = xmlFor();
    const req = { xml, ettn: ETTN, number: doc.number, profile: 'EARSIVFATURA' as const, kind: 'invoice' as const, buyerTaxId: '17291716060' };
    fake.behaviour.next = 'refuse';
    expect(await client.send(req, ETTN)).to.deep.include({ status: 'rejected', reason: '3009 - Seri bulunamadı - KNT serisi tanımlı değil' });
    fake.behaviour.next = 'fail';
    let err: unknown;
    await client.send(req, ETTN).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(IntegratorTransportError);
    await new NilveraIntegrator(server.base, 'wrong-key-000000000000', 5_000).send(req, ETTN).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(IntegratorAuthError);
    await new NilveraIntegrator('http://127.0.0.1:9', API_KEY, 2_000).send(req, ETTN).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(IntegratorTransportError);
  });

  it('the same ETTN sent again (a retry after a lost answer) is not a rejection: it answers where the first send stands', async () => {
    const { xml, doc } = xmlFor();
    const req = { xml, ettn: ETTN, number: doc.number, profile: 'EARSIVFATURA' as const, kind: 'invoice' as const, buyerTaxId: '17291716060' };
    await client.send(req, ETTN);
    fake.documents.get(ETTN)!.status = 'succeed';
    expect(await client.send(req, ETTN)).to.deep.include({ ettn: ETTN, status: 'accepted' });
    expect(fake.documents.size).to.equal(1);
  });

  it('maps Nilvera\'s status codes, and uses its documented test and live hosts by mode', () => {
    expect(['succeed', 'waiting', 'sent', 'unknown', 'error', 'what'].map(nilveraStatus)).to.deep.equal(['accepted', 'pending', 'pending', 'pending', 'rejected', undefined]);
    expect(NILVERA_URLS).to.deep.equal({ test: 'https://apitest.nilvera.com', production: 'https://api.nilvera.com' });
    expect(nilveraRegistration.check({ apiKey: '' }, 'test')).to.have.property('apiKey');
    expect(nilveraRegistration.check({ apiKey: 'has spaces in it, not a key' }, 'test')).to.have.property('apiKey', 'einvoice:error.nilveraKey');
    expect(nilveraRegistration.check({ apiKey: API_KEY }, 'production')).to.deep.equal({});
  });
});

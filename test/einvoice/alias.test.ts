import { expect } from 'chai';
import express from 'express';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { billingAddresses, einvoiceDocuments } from '../../db/schema';
import { createEInvoiceSandbox } from '../../sandboxes/einvoice';
import type { Actor } from '../../src/auth/actor';
import { buyerPartyOf, normalizeAlias } from '../../src/billing/billing-addresses.usecases';
import { saveEInvoiceAccount } from '../../src/einvoice/accounts';
import { queueEInvoice, resendEInvoice } from '../../src/einvoice/send';
import { vknCheckDigit } from '../../src/tax/tax-ids';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';
import { companyBuyer, insertInvoice, listenClosable } from './fixtures';

const KEY = 'sandbox-einvoice-key-alias';
const VKN = '384729105' + vknCheckDigit('384729105');
const platformActor = (w: World): Actor => ({ kind: 'user', id: w.platformAdmin.id, scope: 'platform', agencyId: null, subAccountId: null, role: 'owner', billing: true });
const company = { name: 'Mavi Ajans Ltd. Şti.', line1: 'Barbaros Bulvarı No: 40', city: 'İstanbul', country: 'TR', taxKind: 'company', taxNumber: VKN, taxOffice: 'Beşiktaş' };

/** The buyer's GİB mailbox (e-Fatura alias): kept on the billing address, checked, and used to deliver e-Fatura (issue #18). */
describe('e-Fatura: the buyer\'s GİB alias', function () {
  this.timeout(60_000);
  let sandbox: { base: string; close: () => Promise<void> };
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;

  before(async () => {
    const web = express();
    web.use('/sandbox/einvoice', createEInvoiceSandbox({ resolveMerchant: async (key) => (key === KEY ? { name: 'Kontor' } : null) }));
    sandbox = await listenClosable(web);
  });
  after(() => sandbox.close());

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ config: { SANDBOX_URL: sandbox.base }, retryDelayMs: 5, queue: 'inline' });
    w = await createWorld(deps);
    app = createApp(deps);
    await saveEInvoiceAccount(deps, platformActor(w), null, { kind: 'sandbox', mode: 'test', apiKey: KEY, invoiceSeries: 'KNT', creditNoteSeries: 'KNI' });
    await control({ reset: true });
  });
  afterEach(() => deps.close());

  const control = async (body?: Record<string, unknown>) => {
    const res = await fetch(`${sandbox.base}/sandbox/einvoice/control`, { method: body ? 'POST' : 'GET', headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return (await res.json()) as { documents: { ettn: string; profile: string; status: string; alias?: string }[] };
  };
  const docRow = async (invoiceId: string) => (await deps.db.select().from(einvoiceDocuments).where(eq(einvoiceDocuments.documentId, invoiceId)))[0]!;

  it('reads an alias as GİB writes it and refuses what is not one', () => {
    expect(normalizeAlias('urn:mail:defaultpk@firma.com.tr')).to.equal('urn:mail:defaultpk@firma.com.tr');
    expect(normalizeAlias('  URN:MAIL:defaultpk@firma.com.tr ')).to.equal('urn:mail:defaultpk@firma.com.tr');
    for (const bad of ['defaultpk@firma.com.tr', 'urn:mail:', 'urn:mail:defaultpk', 'urn:mail:default pk@firma.com.tr', 'urn:mail:a@b', 'mailto:defaultpk@firma.com.tr', '']) expect(normalizeAlias(bad), bad).to.equal(null);
  });

  it('API: a registered company needs a well-formed alias (422 per field, nothing written); it is kept and snapshotted, dropped when not registered', async () => {
    const missing = await request(app).post('/api/v1/billing-addresses').set(bearer(w.a.key)).send({ ...company, eInvoiceRegistered: true });
    expect(missing.status, JSON.stringify(missing.body)).to.equal(422);
    expect(missing.body.fields.eInvoiceAlias).to.match(/e-Fatura alias/);
    const bad = await request(app).post('/api/v1/billing-addresses').set(bearer(w.a.key)).send({ ...company, eInvoiceRegistered: true, eInvoiceAlias: 'defaultpk@mavi.com.tr' });
    expect(bad.status).to.equal(422);
    expect(bad.body.fields.eInvoiceAlias).to.contain('urn:mail:');
    expect(await deps.db.select().from(billingAddresses)).to.have.length(0);

    const ok = await request(app).post('/api/v1/billing-addresses').set(bearer(w.a.key)).send({ ...company, eInvoiceRegistered: true, eInvoiceAlias: 'URN:MAIL:defaultpk@mavi.com.tr' });
    expect(ok.status).to.equal(201);
    expect(ok.body).to.include({ eInvoiceRegistered: true, eInvoiceAlias: 'urn:mail:defaultpk@mavi.com.tr' });
    const [row] = await deps.db.select().from(billingAddresses);
    expect(buyerPartyOf(row!)).to.deep.include({ kind: 'company', eInvoiceRegistered: true, eInvoiceAlias: 'urn:mail:defaultpk@mavi.com.tr' });

    const unregistered = await request(app).put(`/api/v1/billing-addresses/${ok.body.id}`).set(bearer(w.a.key)).send({ ...company, eInvoiceRegistered: false, eInvoiceAlias: 'urn:mail:defaultpk@mavi.com.tr' });
    expect(unregistered.status).to.equal(200);
    expect(unregistered.body).to.include({ eInvoiceRegistered: false, eInvoiceAlias: null });
  });

  it('the billing address form: a malformed alias is a form error with the form kept, nothing written', async () => {
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    const res = await agent.post('/agency/billing/addresses').type('form').send({ _csrf: csrf, ...company, eInvoiceRegistered: 'on', eInvoiceAlias: 'pk@mavi' });
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('urn:mail:defaultpk@firma.com.tr').and.contain('value="pk@mavi"').and.contain(VKN);
    expect(await deps.db.select().from(billingAddresses)).to.have.length(0);
  });

  it('an e-Fatura goes to the buyer\'s alias; without one the sandbox rejects it with a clear reason on the invoice page, and Send again reaches the alias the buyer then gave', async () => {
    const withAlias = await insertInvoice(deps, { agencyId: w.a.id, number: 30 });
    await queueEInvoice(deps, { kind: 'invoice', id: withAlias });
    await deps.queue.drain();
    expect(await docRow(withAlias)).to.include({ status: 'accepted', profile: 'TEMELFATURA' });
    expect((await control()).documents[0]).to.include({ profile: 'TEMELFATURA', alias: 'urn:mail:defaultpk@maviajans.com.tr' });

    // An invoice issued before the buyer's alias was kept (its snapshot has none, no address has one).
    const id = await insertInvoice(deps, { agencyId: w.a.id, number: 31, buyer: companyBuyer({ eInvoiceAlias: undefined }) });
    await queueEInvoice(deps, { kind: 'invoice', id });
    await deps.queue.drain();
    const rejected = await docRow(id);
    expect(rejected.status).to.equal('rejected');
    expect(rejected.error).to.contain('GİB alias').and.contain('urn:mail:');
    const { agent } = await signIn(app, w.platformAdmin.email);
    const page = await agent.get(`/platform/invoices/${id}`);
    expect(page.text).to.contain('Rejected').and.contain('the receiver&#39;s GİB alias').and.contain('data-testid="einvoice-resend"');

    // The buyer gives its mailbox on its billing address (same VKN); the seller sends it again.
    const added = await request(app).post('/api/v1/billing-addresses').set(bearer(w.a.key)).send({ ...company, name: 'Mavi Ajans Dijital Hizmetler Ltd. Şti.', eInvoiceRegistered: true, eInvoiceAlias: 'urn:mail:fatura@maviajans.com.tr' });
    expect(added.status).to.equal(201);
    await resendEInvoice(deps, platformActor(w), null, { kind: 'invoice', id });
    await deps.queue.drain();
    expect(await docRow(id)).to.include({ status: 'accepted', error: null });
    const ettn = (await docRow(id)).uuid;
    expect((await control()).documents.find((d) => d.ettn === ettn)).to.include({ alias: 'urn:mail:fatura@maviajans.com.tr' });
  });
});

import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { auditLog, einvoiceAccounts, einvoiceDocuments } from '../../db/schema';
import { newId } from '../../src/lib/ids';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';
import { insertInvoice, personBuyer } from './fixtures';

const KEY = 'ABCDEF0123456789ABCDEF0123456789';

/** The e-Invoice integrator settings (page and API): bad input refused with a clear message, nothing written; secrets never shown. */
describe('e-Invoice integrator settings', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;

  beforeEach(async () => {
    await resetData();
    // No integrator answers here (a closed local port): test/einvoice/send.test.ts drives real sends.
    deps = await makeTestDeps({ config: { SANDBOX_URL: 'http://127.0.0.1:9' }, retryDelayMs: 5, queue: 'inline' });
    w = await createWorld(deps);
    app = createApp(deps);
  });
  afterEach(() => deps.close());

  const accounts = () => deps.db.select().from(einvoiceAccounts);
  const post = async (email: string, form: Record<string, string>) => {
    const { agent, csrf } = await signIn(app, email);
    return agent.post('/platform/einvoice').type('form').send({ _csrf: csrf, ...form });
  };

  it('the page says there is none yet and what to do, offers Nilvera (with its documentation) and the sandbox, and is linked from Payment systems', async () => {
    const { agent } = await signIn(app, w.platformAdmin.email);
    const ps = await agent.get('/platform/payment-systems');
    expect(ps.text).to.contain('href="/platform/einvoice"');
    const res = await agent.get('/platform/einvoice');
    expect(res.status).to.equal(200);
    expect(res.text).to.contain('No e-invoice integrator yet').and.contain('Nilvera').and.contain('https://developer.nilvera.com/v/en/');
    const tr = await agent.get('/platform/einvoice').set('Accept-Language', 'tr');
    expect(tr.text).to.contain('e-Fatura entegratörü');
  });

  it('bad input on the page: the form comes back with a message per field and its values, nothing saved or audited', async () => {
    const res = await post(w.platformAdmin.email, { kind: 'nilvera', mode: 'test', apiKey: '', invoiceSeries: 'kn', creditNoteSeries: 'KNI' });
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('API key is required.').and.contain('Use 3 capital letters or digits');
    expect(res.text).to.contain('value="kn"');
    const same = await post(w.platformAdmin.email, { kind: 'nilvera', mode: 'test', apiKey: KEY, invoiceSeries: 'KNT', creditNoteSeries: 'knt' });
    expect(same.status).to.equal(422);
    expect(same.text).to.contain('Credit notes need a series of their own');
    expect(same.text).to.not.contain(KEY);
    const sandboxLive = await post(w.platformAdmin.email, { kind: 'sandbox', mode: 'production', apiKey: 'x' });
    expect(sandboxLive.status).to.equal(422);
    expect(sandboxLive.text).to.contain('The sandbox only works in test mode.');
    const unknown = await post(w.platformAdmin.email, { kind: 'foo', mode: 'test' });
    expect(unknown.status).to.equal(422);
    expect(await accounts()).to.have.length(0);
    expect(await deps.db.select().from(auditLog).where(eq(auditLog.action, 'einvoice.configured'))).to.have.length(0);
  });

  it('saves sealed credentials shown only as a hint; a blank secret keeps the stored one', async () => {
    const ok = await post(w.platformAdmin.email, { kind: 'nilvera', mode: 'test', apiKey: KEY, invoiceSeries: 'ktr', creditNoteSeries: 'KTI', commercial: 'yes' });
    expect(ok.status).to.equal(302);
    const [row] = await accounts();
    expect(row).to.include({ kind: 'nilvera', mode: 'test', sellerKey: 'platform' });
    expect(row!.settings).to.deep.equal({ invoiceSeries: 'KTR', creditNoteSeries: 'KTI', commercial: 'yes' });
    expect(row!.secrets).to.not.contain(KEY);
    const { agent } = await signIn(app, w.platformAdmin.email);
    const page = await agent.get('/platform/einvoice');
    expect(page.text).to.contain('••••6789').and.not.contain(KEY);
    expect((await post(w.platformAdmin.email, { kind: 'nilvera', mode: 'production', apiKey: '', invoiceSeries: 'KTR', creditNoteSeries: 'KTI' })).status).to.equal(302);
    const [kept] = await accounts();
    expect(kept!.mode).to.equal('production');
    expect(kept!.secretHints).to.deep.equal({ apiKey: '••••6789' });
  });

  it('a member without billing rights cannot see it; an agency needs the reselling module like its payment system', async () => {
    const { agent } = await signIn(app, w.a.member.email);
    expect((await agent.get('/agency/einvoice')).status).to.be.oneOf([403, 404]);
  });

  it('API: GET and PUT /einvoice-integrator, bad input is a 422 with field messages and nothing written, secrets never returned', async () => {
    const api = request(app);
    const empty = await api.get('/api/v1/einvoice-integrator').set(bearer(w.platformKey));
    expect(empty.status).to.equal(200);
    expect(empty.body.integrator).to.equal(null);
    expect(empty.body.available.map((a: { kind: string }) => a.kind)).to.deep.equal(['nilvera', 'sandbox']);
    const bad = await api.put('/api/v1/einvoice-integrator').set(bearer(w.platformKey)).send({ kind: 'nilvera', apiKey: KEY, invoiceSeries: 'TOOLONG' });
    expect(bad.status).to.equal(422);
    expect(bad.body.error).to.equal('validation_failed');
    expect(bad.body.fields.invoiceSeries).to.contain('3 capital letters or digits');
    const wrongType = await api.put('/api/v1/einvoice-integrator').set(bearer(w.platformKey)).send({ kind: 'nilvera', apiKey: 42 });
    expect(wrongType.status).to.equal(422);
    expect(wrongType.body.fields.apiKey).to.equal('Send this field as text.');
    expect(await accounts()).to.have.length(0);
    const ok = await api.put('/api/v1/einvoice-integrator').set(bearer(w.platformKey)).send({ kind: 'sandbox', apiKey: 'sandbox-key', commercial: false });
    expect(ok.status).to.equal(200);
    expect(ok.body.integrator).to.deep.include({ kind: 'sandbox', mode: 'test', invoiceSeries: 'KNT', creditNoteSeries: 'KNI', commercial: false });
    expect(JSON.stringify(ok.body)).to.not.contain('sandbox-key');
  });

  it('the invoice page and the API answer show the e-invoice state; the seller can send a rejected one again', async () => {
    await post(w.platformAdmin.email, { kind: 'sandbox', mode: 'test', apiKey: 'sandbox-key', invoiceSeries: 'KNT', creditNoteSeries: 'KNI' });
    const id = await insertInvoice(deps, { agencyId: w.a.id, number: 21, buyer: personBuyer() });
    const { agent } = await signIn(app, w.platformAdmin.email);
    const before = await agent.get(`/platform/invoices/${id}`);
    expect(before.text).to.contain('Not sent to GİB');
    // A rejection as the sending job records it.
    await deps.db.insert(einvoiceDocuments).values({ id: newId('eid'), documentKind: 'invoice', documentId: id, agencyId: w.a.id, sellerKey: 'platform', status: 'rejected', uuid: '0c8e4a52-63f9-4d0e-a1b7-2f6d3c9e8a41', number: 'KNT2026000000021', profile: 'EARSIVFATURA', integrator: 'sandbox', error: 'Alıcı adresi eksik', attempts: 1 });
    const page = await agent.get(`/platform/invoices/${id}`);
    expect(page.text).to.contain('Rejected').and.contain('Alıcı adresi eksik').and.contain('KNT2026000000021').and.contain('e-Arşiv invoice').and.contain('data-testid="einvoice-resend"');
    const buyer = await (await signIn(app, w.a.owner.email)).agent.get(`/agency/billing/invoices/${id}`);
    expect(buyer.text).to.contain('0c8e4a52-63f9-4d0e-a1b7-2f6d3c9e8a41').and.not.contain('data-testid="einvoice-resend"');
    const apiAnswer = await request(app).get(`/api/v1/invoices/${id}`).set(bearer(w.a.key));
    expect(apiAnswer.status).to.equal(200);
    expect(apiAnswer.body.einvoice).to.deep.include({ status: 'rejected', ettn: '0c8e4a52-63f9-4d0e-a1b7-2f6d3c9e8a41', number: 'KNT2026000000021', profile: 'EARSIVFATURA', error: 'Alıcı adresi eksik' });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const resent = await agent.post(`/platform/invoices/${id}/einvoice/resend`).type('form').send({ _csrf: csrf });
    expect(resent.status).to.equal(302);
    expect(resent.headers.location).to.equal(`/platform/invoices/${id}`);
    const [row] = await deps.db.select().from(einvoiceDocuments).where(eq(einvoiceDocuments.documentId, id));
    expect(row!.status).to.not.equal('rejected');
    expect(row!.uuid).to.not.equal('0c8e4a52-63f9-4d0e-a1b7-2f6d3c9e8a41');
  });
});

// A seller's payment system through the API: the same validation, sealing and "secrets never
// shown again" as the page; platform and agency keys manage their own, clients none.
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { auditLog, gatewayAccounts } from '../../db/schema';
import { IYZICO, NESTPAY, STRIPE } from '../support/gateways';
import { bearer } from '../support/http';
import { worldAppPerTest } from '../support/world-app';

describe('payment systems through the API', () => {
  const t = worldAppPerTest();
  const api = () => request(t.app);


  it('lists what can be configured, saves sealed credentials and never answers a secret again', async () => {
    const empty = (await api().get('/api/v1/payment-systems').set(bearer(t.w.a.key)).expect(200)).body;
    expect(empty.paymentSystem).to.equal(null);
    expect(empty.available.map((g: { kind: string }) => g.kind)).to.include.members(['nestpay', 'iyzico', 'stripe']);
    const saved = (await api().put('/api/v1/payment-systems').set(bearer(t.w.a.key)).send({ kind: 'iyzico', mode: 'test', ...IYZICO }).expect(200)).body;
    expect(saved.paymentSystem).to.include({ kind: 'iyzico', mode: 'test' });
    expect(saved.paymentSystem.webhookUrl).to.match(/\/webhooks\/gwa_/);
    expect(JSON.stringify(saved)).to.not.contain(IYZICO.secretKey);
    const read = (await api().get('/api/v1/payment-systems').set(bearer(t.w.a.key)).expect(200)).body;
    expect(JSON.stringify(read)).to.contain(IYZICO.apiKey).and.not.contain(IYZICO.secretKey);
    const [row] = await t.deps.db.select().from(gatewayAccounts);
    expect(row!.secrets).to.not.contain(IYZICO.secretKey);
    // A blank secret keeps the stored one; the audit log names what changed, never the values.
    await api().put('/api/v1/payment-systems').set(bearer(t.w.a.key)).send({ kind: 'iyzico', mode: 'test', apiKey: IYZICO.apiKey, secretKey: '' }).expect(200);
    const audits = await t.deps.db.select().from(auditLog).where(eq(auditLog.action, 'gateway.configured'));
    expect(audits).to.have.length(2);
    expect(JSON.stringify(audits)).to.not.contain(IYZICO.secretKey);
  });

  it('bad credentials answer 422 with a message per field and save nothing', async () => {
    const nestpay = await api().put('/api/v1/payment-systems').set(bearer(t.w.platformKey)).send({ kind: 'nestpay', mode: 'test', bank: 'akbank', clientId: NESTPAY.clientId, storeKey: '', apiUser: '', apiPassword: 'x' }).expect(422);
    expect(nestpay.body.fields).to.have.property('storeKey');
    const stripe = await api().put('/api/v1/payment-systems').set(bearer(t.w.platformKey)).send({ kind: 'stripe', mode: 'production', ...STRIPE }).expect(422);
    expect(JSON.stringify(stripe.body)).to.not.contain(STRIPE.secretKey);
    await api().put('/api/v1/payment-systems').set(bearer(t.w.platformKey)).send({ kind: 'stripe', mode: 'test', secretKey: 42 }).expect(422);
    await api().put('/api/v1/payment-systems').set(bearer(t.w.platformKey)).send({ kind: 'paypal', mode: 'test' }).expect(422);
    expect(await t.deps.db.select().from(gatewayAccounts)).to.have.length(0);
  });

  it('each seller sees only its own; clients and agencies without the reselling module cannot', async () => {
    await api().put('/api/v1/payment-systems').set(bearer(t.w.platformKey)).send({ kind: 'stripe', mode: 'test', ...STRIPE }).expect(200);
    expect((await api().get('/api/v1/payment-systems').set(bearer(t.w.a.key)).expect(200)).body.paymentSystem).to.equal(null);
    expect((await api().get('/api/v1/payment-systems').set(bearer(t.w.platformKey)).expect(200)).body.paymentSystem.kind).to.equal('stripe');
    await api().get('/api/v1/payment-systems').set(bearer(t.w.a.subs[0].key)).expect(403);
    await api().put('/api/v1/payment-systems').set(bearer(t.w.b.key)).send({ kind: 'iyzico', mode: 'test', ...IYZICO }).expect(403);
    expect(await t.deps.db.select().from(gatewayAccounts)).to.have.length(1);
  });

  it('another agency with the module sees and changes only its own; a client key cannot write; fields the page lacks are ignored, not refused', async () => {
    await api().put('/api/v1/payment-systems').set(bearer(t.w.a.key)).send({ kind: 'iyzico', mode: 'test', ...IYZICO }).expect(200);
    await api().patch(`/api/v1/agencies/${t.w.b.id}`).set(bearer(t.w.platformKey)).send({ resellingModule: true }).expect(200);
    expect((await api().get('/api/v1/payment-systems').set(bearer(t.w.b.key)).expect(200)).body.paymentSystem).to.equal(null);
    // Fields a later version may add (and typos) are not refused: the answer shows what was saved.
    const b = (await api().put('/api/v1/payment-systems').set(bearer(t.w.b.key)).send({ kind: 'stripe', mode: 'test', ...STRIPE, futureSetting: 'x' }).expect(200)).body;
    expect(b.paymentSystem.kind).to.equal('stripe');
    expect(JSON.stringify(b)).to.not.contain('futureSetting').and.not.contain(STRIPE.secretKey);
    expect((await api().put('/api/v1/payment-systems').set(bearer(t.w.a.subs[0].key)).send({ kind: 'stripe', mode: 'test', ...STRIPE }).expect(403)).body.error).to.equal('wrong_scope');
    // Agency A's is unchanged.
    expect((await api().get('/api/v1/payment-systems').set(bearer(t.w.a.key)).expect(200)).body.paymentSystem.kind).to.equal('iyzico');
    const rows = await t.deps.db.select().from(gatewayAccounts);
    expect(rows.map((r) => `${r.sellerAgencyId}:${r.kind}`).sort()).to.deep.equal([`${t.w.a.id}:iyzico`, `${t.w.b.id}:stripe`].sort());
  });
});

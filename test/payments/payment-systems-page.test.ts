import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import { auditLog, gatewayAccounts } from '../../db/schema';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { IYZICO, NESTPAY, STRIPE } from '../support/gateways';
import { signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

/** Issue #5 Bad input on the "Payment systems" page: refused with a clear message, nothing saved. */
describe('Payment systems page: bad credentials', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
  });
  afterEach(() => deps.close());

  const accounts = () => deps.db.select().from(gatewayAccounts);
  const save = async (email: string, path: string, form: Record<string, string>) => {
    const { agent, csrf } = await signIn(app, email);
    return agent.post(path).type('form').send({ _csrf: csrf, ...form });
  };

  it('credentials with missing fields: the form comes back with its values and a message per field, nothing saved', async () => {
    const res = await save(w.a.owner.email, '/agency/payment-systems', { kind: 'nestpay', mode: 'test', bank: 'akbank', clientId: NESTPAY.clientId, storeKey: '', apiUser: '', apiPassword: 'x' });
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('Store key is required.').and.contain('API user name is required.');
    expect(res.text).to.contain(`value="${NESTPAY.clientId}"`);
    expect(res.text).to.match(/<option value="akbank" selected>/);
    const stripe = await save(w.a.owner.email, '/agency/payment-systems', { kind: 'stripe', mode: 'test', secretKey: STRIPE.secretKey, publishableKey: '', webhookSecret: 'nope' });
    expect(stripe.status).to.equal(422);
    expect(stripe.text).to.contain('Publishable key is required.').and.contain('whsec_');
    expect(stripe.text).to.not.contain(STRIPE.secretKey);
    const iyzico = await save(w.a.owner.email, '/agency/payment-systems', { kind: 'iyzico', mode: 'test', apiKey: '', secretKey: '' });
    expect(iyzico.status).to.equal(422);
    expect(iyzico.text).to.contain('API key is required.');
    expect(await accounts()).to.have.length(0);
    expect(await deps.db.select().from(auditLog).where(eq(auditLog.action, 'gateway.configured'))).to.have.length(0);
  });

  it('production mode refuses non-HTTPS gate and API URLs, and test keys', async () => {
    const nestpay = await save(w.a.owner.email, '/agency/payment-systems', {
      kind: 'nestpay', mode: 'production', bank: 'isbank', clientId: '700100200', storeKey: 'LiveStoreKey_9', apiUser: 'LIVEAPI', apiPassword: 'live-pass', gateUrlProduction: 'http://bank.example/fim/est3Dgate',
    });
    expect(nestpay.status).to.equal(422);
    expect(nestpay.text).to.contain('must start with https://');
    const iyzico = await save(w.platformAdmin.email, '/platform/payment-systems', { kind: 'iyzico', mode: 'production', apiKey: 'live-key', secretKey: 'live-secret', baseUrl: 'http://api.iyzipay.com' });
    expect(iyzico.status).to.equal(422);
    expect(iyzico.text).to.contain('must use HTTPS in production');
    const stripe = await save(w.platformAdmin.email, '/platform/payment-systems', { kind: 'stripe', mode: 'production', ...STRIPE });
    expect(stripe.status).to.equal(422);
    expect(stripe.text).to.contain('Production needs a live secret key');
    expect(await accounts()).to.have.length(0);
  });

  it('saved secrets are never shown again in full; a blank secret keeps the stored one; a member cannot save', async () => {
    const ok = await save(w.a.owner.email, '/agency/payment-systems', { kind: 'iyzico', mode: 'test', ...IYZICO });
    expect(ok.status).to.equal(302);
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    const page = await agent.get('/agency/payment-systems').expect(200);
    expect(page.text).to.contain(IYZICO.apiKey); // not a secret
    expect(page.text).to.not.contain(IYZICO.secretKey);
    expect(page.text).to.contain('Webhook URL');
    // Saved again with the secret left blank: kept, still not shown.
    await agent.post('/agency/payment-systems').type('form').send({ _csrf: csrf, kind: 'iyzico', mode: 'test', apiKey: IYZICO.apiKey, secretKey: '' }).expect(302);
    const [row] = await accounts();
    expect(row!.secrets).to.not.contain(IYZICO.secretKey);
    expect(JSON.stringify(row!.secretHints)).to.not.contain(IYZICO.secretKey);
    const again = await agent.get('/agency/payment-systems').expect(200);
    expect(again.text).to.not.contain(IYZICO.secretKey);
    const stripe = await save(w.platformAdmin.email, '/platform/payment-systems', { kind: 'stripe', mode: 'test', ...STRIPE });
    expect(stripe.status).to.equal(302);
    const { agent: admin } = await signIn(app, w.platformAdmin.email);
    const platformPage = await admin.get('/platform/payment-systems').expect(200);
    expect(platformPage.text).to.not.contain(STRIPE.secretKey).and.not.contain(STRIPE.webhookSecret);
    // The member (no billing permission) can neither see nor save.
    const member = await signIn(app, w.a.member.email);
    expect((await member.agent.get('/agency/payment-systems')).status).to.equal(403);
    expect((await member.agent.post('/agency/payment-systems').type('form').send({ _csrf: member.csrf, kind: 'stripe', mode: 'test', ...STRIPE })).status).to.equal(403);
    expect((await accounts()).map((a) => a.kind).sort()).to.deep.equal(['iyzico', 'stripe']);
  });
});

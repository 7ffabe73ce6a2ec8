import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { autoBillingSettings, paymentMethods } from '../../db/schema';
import { systemActor } from '../../src/auth/actor';
import { saveGatewayAccount } from '../../src/payments/gateway-accounts';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('auto-billing screens', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  let server: Server;

  beforeEach(async () => {
    await resetData();
    server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    deps = await makeTestDeps({ config: { PUBLIC_URL: base, SANDBOX_URL: base, GATEWAY_TIMEOUT_MS: '1500' } });
    w = await createWorld(deps);
    app = createApp(deps);
    server.on('request', app);
    await saveGatewayAccount(deps, systemActor('test'), null, { kind: 'stripe', mode: 'test', secretKey: 'sk_test_51KontorPlatformScreens', publishableKey: 'pk_test_51KontorPlatformScreens', webhookSecret: 'whsec_KontorPlatformScreens' });
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(() => r(null)));
    await deps.close();
  });

  it('an agency owner saves a test card and switches auto-billing on; bad input keeps the form', async () => {
    const c = await signIn(app, w.a.owner.email);
    const page = await c.agent.get('/agency/auto-billing').expect(200);
    expect(page.text).to.include('Nothing bought automatically yet');
    // Without a card: refused, the typed cap is kept, nothing saved.
    const refused = await c.agent.post('/agency/auto-billing').type('form').send({ _csrf: c.csrf, enabled: 'on', monthlyCap: '250.00' }).expect(422);
    expect(refused.text).to.include('Save a payment method before switching auto-billing on');
    expect(refused.text).to.include('value="250.00"');
    const badCap = await c.agent.post('/agency/auto-billing').type('form').send({ _csrf: c.csrf, enabled: 'on', monthlyCap: '-5' }).expect(422);
    expect(badCap.text).to.match(/Monthly cap: The amount cannot be negative/);
    expect(await deps.db.select().from(autoBillingSettings)).to.have.length(0);

    await c.agent.post('/agency/auto-billing/methods').type('form').send({ _csrf: c.csrf, testCard: 'visa' }).expect(302);
    const [method] = await deps.db.select().from(paymentMethods).where(eq(paymentMethods.buyerAgencyId, w.a.id));
    expect(method).to.include({ last4: '4242', isDefault: true });
    await c.agent.post('/agency/auto-billing').type('form').send({ _csrf: c.csrf, enabled: 'on', monthlyCap: '250.00' }).expect(302);
    const after = await c.agent.get('/agency/auto-billing').expect(200);
    expect(after.text).to.include('Auto-billing is on.');
    expect(after.text).to.include('•••• 4242');
    const [s] = await deps.db.select().from(autoBillingSettings);
    expect(s).to.include({ enabled: true, monthlyCapMinor: 25_000, currency: 'USD' });
  });

  it('a client sees auto-billing only while its agency offers it', async () => {
    const client = await signIn(app, w.a.subs[0]!.owner.email);
    expect((await client.agent.get('/portal/packages').expect(200)).text).not.to.include('/portal/auto-billing');
    await client.agent.get('/portal/auto-billing').expect(404);
    await request(app).post('/api/v1/payment-methods').set(bearer(w.a.key)).send({ testCard: 'visa' }).expect(201);
    await request(app).put('/api/v1/auto-billing').set(bearer(w.a.key)).send({ enabled: true, monthlyCapMinor: 10_000 }).expect(200);
    await request(app).post('/api/v1/packages').set(bearer(w.a.key)).send({ name: '500 credits', type: 'credit', priceMinor: 2500, currency: 'USD', credits: 500, published: true }).expect(201);
    expect((await client.agent.get('/portal/packages').expect(200)).text).to.include('/portal/auto-billing');
    const page = await client.agent.get('/portal/auto-billing').expect(200);
    expect(page.text).to.include('your provider');
  });
});

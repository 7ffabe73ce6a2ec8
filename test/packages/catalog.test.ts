import { expect } from 'chai';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { agencies, agencyOrders, offers } from '../../db/schema';
import { listTopupPackages } from '../../src/catalog/catalog.usecases';
import { settleAnyPayment } from '../../src/payments/settlement';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { createWorld, type World } from '../support/world';

describe('platform catalog: top-ups and chatbot slots bought by agencies', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  const api = () => request(app);
  const pool = async () => (await api().get('/api/v1/balance').set(bearer(w.a.key)).expect(200)).body.balance as number;
  const paymentIdOf = (url: string) => /checkout\/(pay_\w+)/.exec(url)![1]!;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
  });
  afterEach(async () => {
    await assertLedgerInvariant(deps.db);
    await deps.close();
  });

  it('the platform defines top-ups and the slot price; bad input is refused and writes nothing', async () => {
    for (const bad of [{ credits: 0, priceMinor: 1000, currency: 'USD' }, { credits: 10, priceMinor: 0, currency: 'USD' }, { credits: 1.5, priceMinor: 10, currency: 'USD' }, { credits: 10, priceMinor: 10, currency: 'XYZ' }]) {
      expect((await api().post('/api/v1/topup-packages').set(bearer(w.platformKey)).send(bad).expect(422)).body.error).to.equal('validation_failed');
    }
    await api().post('/api/v1/topup-packages').set(bearer(w.a.key)).send({ credits: 10, priceMinor: 10, currency: 'USD' }).expect(403);
    expect((await deps.db.select({ n: sql<number>`count(*)::int` }).from(offers))[0]!.n).to.equal(0);
    const top = await api().post('/api/v1/topup-packages').set(bearer(w.platformKey)).send({ credits: 2000, priceMinor: 1000, currency: 'USD' }).expect(201);
    expect(top.body).to.include({ credits: 2000, priceMinor: 1000, currency: 'USD' });
    expect((await api().get('/api/v1/topup-packages').set(bearer(w.a.key)).expect(200)).body.data).to.have.length(1);
    await api().put('/api/v1/chatbot-slot-price').set(bearer(w.platformKey)).send({ priceMinor: 500, currency: 'USD' }).expect(200);
    expect((await api().get('/api/v1/chatbot-slot-price').set(bearer(w.a.key)).expect(200)).body).to.deep.equal({ priceMinor: 500, currency: 'USD' });
  });

  it('an agency buys a top-up: credits reach the pool only after payment, once however often it is confirmed', async () => {
    const top = (await api().post('/api/v1/topup-packages').set(bearer(w.platformKey)).send({ credits: 2000, priceMinor: 1000, currency: 'USD' }).expect(201)).body;
    const order = await api().post('/api/v1/orders').set(bearer(w.a.key)).send({ kind: 'topup', topupPackageId: top.id, quantity: 2 }).expect(201);
    expect(order.body).to.include({ status: 'pending_payment', credits: 4000, amountMinor: 2000 });
    expect(await pool()).to.equal(0);
    const paymentId = paymentIdOf(order.body.checkoutUrl);
    const results = await Promise.all([1, 2].map(() => settleAnyPayment(deps, { paymentId, approved: true, raw: {} })));
    expect(results.map((r) => r.outcome).sort()).to.deep.equal(['already', 'confirmed']);
    expect(await pool()).to.equal(4000);
    const declined = await api().post('/api/v1/orders').set(bearer(w.a.key)).send({ kind: 'topup', topupPackageId: top.id }).expect(201);
    await settleAnyPayment(deps, { paymentId: paymentIdOf(declined.body.checkoutUrl), approved: false, reason: 'declined', raw: {} });
    expect(await pool()).to.equal(4000);
    const statuses = (await deps.db.select({ s: agencyOrders.status }).from(agencyOrders)).map((r) => r.s).sort();
    expect(statuses).to.deep.equal(['applied', 'payment_failed']);
    await api().post('/api/v1/orders').set(bearer(w.b.key)).send({ kind: 'topup', topupPackageId: 'top_nope' }).expect(404);
  });

  it('chatbot slots: bought by the agency, allocated to a client by a package, refused when short', async () => {
    await api().post('/api/v1/orders').set(bearer(w.a.key)).send({ kind: 'chatbot_slots', quantity: 1 }).expect(409); // no price yet
    await api().put('/api/v1/chatbot-slot-price').set(bearer(w.platformKey)).send({ priceMinor: 500, currency: 'USD' }).expect(200);
    const order = await api().post('/api/v1/orders').set(bearer(w.a.key)).send({ kind: 'chatbot_slots', quantity: 2 }).expect(201);
    expect(order.body.amountMinor).to.equal(1000);
    await settleAnyPayment(deps, { paymentId: paymentIdOf(order.body.checkoutUrl), approved: true, raw: {} });
    expect((await deps.db.select().from(agencies).where(eq(agencies.id, w.a.id)))[0]!.chatbotSlots).to.equal(2);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 10_000, reason: 'seed' }).expect(201);
    const pkg = (await api().post('/api/v1/packages').set(bearer(w.a.key)).send({ name: 'Bot pack', type: 'credit', priceMinor: 100, currency: 'USD', credits: 10, chatbots: 2, published: true }).expect(201)).body;
    const first = await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/purchases`).set(bearer(w.a.key)).send({ packageId: pkg.id, payment: 'offline' }).expect(201);
    expect(first.body.status).to.equal('granted');
    expect((await api().get(`/api/v1/sub-accounts/${w.a.subs[0].id}`).set(bearer(w.a.key)).expect(200)).body.chatbots).to.equal(2);
    const second = await api().post(`/api/v1/sub-accounts/${w.a.subs[1].id}/purchases`).set(bearer(w.a.key)).send({ packageId: pkg.id, payment: 'offline' }).expect(201);
    expect(second.body.status).to.equal('paid');
    expect(second.body.lastGrantError).to.contain('0 free chatbot slots; 2 are needed');
    expect((await api().get(`/api/v1/sub-accounts/${w.a.subs[1].id}`).set(bearer(w.a.key)).expect(200)).body.chatbots).to.equal(0);
  });

  it('screens: the platform admin adds a top-up (bad price keeps the form); an agency owner buys it through the sandbox', async () => {
    const admin = await signIn(app, w.platformAdmin.email);
    for (const bad of ['0', '-5', '1.999', 'ten']) {
      const res = await admin.agent.post('/platform/catalog/topups').type('form').send({ _csrf: admin.csrf, credits: '2000', price: bad, currency: 'USD' }).expect(422);
      expect(res.text).to.contain('enter an amount such as 199.90');
    }
    await admin.agent.post('/platform/catalog/topups').type('form').send({ _csrf: admin.csrf, credits: '2000', price: '1,250.5', currency: 'USD' }).expect(302);
    const [top] = await listTopupPackages(deps);
    expect(top).to.include({ credits: 2000, priceMinor: 125_050 });
    const owner = await signIn(app, w.a.owner.email);
    const store = await owner.agent.get('/agency/store').expect(200);
    expect(store.text).to.contain('2,000 credits').and.contain('USD 1,250.50');
    const res = await owner.agent.post('/agency/store/orders').type('form').send({ _csrf: owner.csrf, kind: 'topup', topupPackageId: top!.id, quantity: '1' }).expect(302);
    expect(res.headers.location).to.match(/\/sandbox\/checkout\/pay_\w+\?sig=/);
    const member = await signIn(app, w.a.member.email);
    await member.agent.get('/agency/store').expect(403);
  });
});

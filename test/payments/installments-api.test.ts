import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { auditLog, gatewayAccounts, payments } from '../../db/schema';
import { saveGatewayAccount } from '../../src/payments/gateway-accounts';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { NESTPAY, STRIPE } from '../support/gateways';
import type { Actor } from '../../src/auth/actor';
import { bearer } from '../support/http';
import { paymentRow } from '../support/payment-row';
import { createWorld, type World } from '../support/world';

const platformActor = (w: World): Actor => ({ kind: 'user', id: w.platformAdmin.id, scope: 'platform', agencyId: null, subAccountId: null, role: 'owner', billing: true });

/** Installments through the API: the seller's settings (GET/PUT /installments) and the buyer's choice on a pending payment. */
describe('installments API', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({});
    w = await createWorld(deps);
    app = createApp(deps);
  });
  afterEach(() => deps.close());

  it('the platform reads and sets its plan with the page\'s rules: bad input is 422 per field and nothing written; Stripe is refused (409)', async () => {
    await saveGatewayAccount(deps, platformActor(w), null, { kind: 'stripe', mode: 'test', ...STRIPE });
    const none = await request(app).get('/api/v1/installments').set(bearer(w.platformKey)).expect(200);
    expect(none.body).to.deep.equal({ gateway: 'stripe', available: false, plan: null });
    await request(app).put('/api/v1/installments').set(bearer(w.platformKey)).send({ offers: [{ count: 3 }] }).expect(409);

    await saveGatewayAccount(deps, platformActor(w), null, { kind: 'nestpay', mode: 'test', ...NESTPAY });
    const bad = await request(app).put('/api/v1/installments').set(bearer(w.platformKey)).send({ offers: [{ count: 3, surcharge: '2.555' }, { count: 6, surcharge: '150' }] });
    expect(bad.status).to.equal(422);
    expect(Object.keys(bad.body.fields).sort()).to.deep.equal(['surcharge_3', 'surcharge_6']);
    expect((await request(app).put('/api/v1/installments').set(bearer(w.platformKey)).send({ offers: [{ count: 4 }] })).status).to.equal(422);
    const [before] = await deps.db.select().from(gatewayAccounts);
    expect(before!.installmentPlan).to.equal(null);

    const ok = await request(app).put('/api/v1/installments').set(bearer(w.platformKey)).send({ offers: [{ count: 3, surcharge: '2,5' }, { count: 6, surcharge: 4 }], minAmountMinor: 50_000 }).expect(200);
    expect(ok.body).to.deep.equal({ gateway: 'nestpay', available: true, plan: { offers: [{ count: 3, surchargeBp: 250, surcharge: '2.50' }, { count: 6, surchargeBp: 400, surcharge: '4.00' }], minAmountMinor: 50_000 } });
    expect((await request(app).get('/api/v1/installments').set(bearer(w.platformKey)).expect(200)).body).to.deep.equal(ok.body);
    expect(await deps.db.select().from(auditLog).where(eq(auditLog.action, 'gateway.installments'))).to.have.length(1);
  });

  it('the buyer picks a count on its pending payment with the same arithmetic and refusals as the page; another buyer\'s payment is not found', async () => {
    await saveGatewayAccount(deps, platformActor(w), null, { kind: 'nestpay', mode: 'test', ...NESTPAY });
    await request(app).put('/api/v1/installments').set(bearer(w.platformKey)).send({ offers: [{ count: 3, surcharge: '2.5' }] }).expect(200);
    const [account] = await deps.db.select().from(gatewayAccounts);
    const p = paymentRow({ sellerAgencyId: null, buyerAgencyId: w.a.id, buyerSubAccountId: null, amountMinor: 9990, currency: 'TRY', gateway: 'nestpay', gatewayAccountId: account!.id, status: 'pending' });
    await deps.db.insert(payments).values(p);

    const choice = await request(app).get(`/api/v1/payments/${p.id}/installments`).set(bearer(w.a.key)).expect(200);
    // Hand-computed: 99.90 at 2.50% is 2.4975 -> 2.50; 102.40 in 3 is 34.13 + 34.13 + 34.14.
    expect(choice.body.choice.options).to.deep.equal([{ count: 3, surchargeBp: 250, surchargeMinor: 250, totalMinor: 10_240, eachMinor: 3413, lastMinor: 3414 }]);
    await request(app).get(`/api/v1/payments/${p.id}/installments`).set(bearer(w.b.key)).expect(404);
    await request(app).post(`/api/v1/payments/${p.id}/installments`).set(bearer(w.b.key)).send({ count: 3 }).expect(404);
    expect((await request(app).post(`/api/v1/payments/${p.id}/installments`).set(bearer(w.a.key)).send({ count: 6 })).status).to.equal(422);
    expect((await deps.db.select().from(payments).where(eq(payments.id, p.id)))[0]).to.include({ amountMinor: 9990, installments: null });

    const chosen = await request(app).post(`/api/v1/payments/${p.id}/installments`).set(bearer(w.a.key)).send({ count: 3 }).expect(200);
    expect(chosen.body).to.include({ amountMinor: 10_240, installments: 3, installmentSurchargeMinor: 250, choice: null });
    // The same count again is the choice already made; another is refused (409).
    await request(app).post(`/api/v1/payments/${p.id}/installments`).set(bearer(w.a.key)).send({ count: 3 }).expect(200);
    await request(app).post(`/api/v1/payments/${p.id}/installments`).set(bearer(w.a.key)).send({ count: 1 }).expect(409);
    expect((await deps.db.select().from(payments).where(eq(payments.id, p.id)))[0]).to.include({ amountMinor: 10_240, installments: 3, installmentSurchargeMinor: 250 });
  });
});

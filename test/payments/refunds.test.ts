import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { auditLog, payments } from '../../db/schema';
import { settleAnyPayment } from '../../src/payments/settlement';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('refunds by the seller', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  const api = () => request(app);
  const paymentIdOf = (url: string) => /checkout\/(pay_\w+)/.exec(url)![1]!;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
  });
  afterEach(() => deps.close());

  const paidOrder = async () => {
    const top = (await api().post('/api/v1/topup-packages').set(bearer(w.platformKey)).send({ credits: 2000, priceMinor: 1000, currency: 'USD' }).expect(201)).body;
    const order = await api().post('/api/v1/orders').set(bearer(w.a.key)).send({ kind: 'topup', topupPackageId: top.id }).expect(201);
    const paymentId = paymentIdOf(order.body.checkoutUrl);
    return { paymentId, top };
  };

  it('the platform refunds its own sale once, with a reason, audit-logged; others cannot', async () => {
    const { paymentId } = await paidOrder();
    // Not confirmed yet: nothing to refund.
    expect((await api().post(`/api/v1/payments/${paymentId}/refund`).set(bearer(w.platformKey)).send({ reason: 'duplicate' }).expect(409)).body.error).to.equal('not_refundable');
    await settleAnyPayment(deps, { paymentId, approved: true, raw: {} });
    expect((await api().post(`/api/v1/payments/${paymentId}/refund`).set(bearer(w.platformKey)).send({}).expect(422)).body.error).to.equal('validation_failed');
    // The buyer agency, another agency and a sub-account are not the seller: not found.
    await api().post(`/api/v1/payments/${paymentId}/refund`).set(bearer(w.a.key)).send({ reason: 'x' }).expect(404);
    await api().post(`/api/v1/payments/${paymentId}/refund`).set(bearer(w.b.key)).send({ reason: 'x' }).expect(404);
    await api().post(`/api/v1/payments/${paymentId}/refund`).set(bearer(w.a.subs[0]!.key)).send({ reason: 'x' }).expect(404);
    const before = (await deps.db.select().from(payments).where(eq(payments.id, paymentId)))[0]!;
    expect(before.status).to.equal('confirmed');

    const res = await api().post(`/api/v1/payments/${paymentId}/refund`).set(bearer(w.platformKey)).send({ reason: 'bought by mistake' }).expect(200);
    expect(res.body).to.include({ status: 'refunded', refundedMinor: 1000 });
    expect((await api().post(`/api/v1/payments/${paymentId}/refund`).set(bearer(w.platformKey)).send({ reason: 'again' }).expect(409)).body.error).to.equal('already_refunded');
    const audits = await deps.db.select().from(auditLog).where(eq(auditLog.action, 'payment.refunded'));
    expect(audits).to.have.length(1);
    expect(audits[0]!.data).to.include({ amountMinor: 1000, reason: 'bought by mistake' });
  });

  it('the Payments received screen refunds with a reason; without one the form says so and nothing changes', async () => {
    const { paymentId } = await paidOrder();
    await settleAnyPayment(deps, { paymentId, approved: true, raw: {} });
    const admin = await signIn(app, w.platformAdmin.email);
    const list = await admin.agent.get('/platform/payments').expect(200);
    expect(list.text).to.include(`data-payment="${paymentId}"`);
    const noReason = await admin.agent.post(`/platform/payments/${paymentId}/refund`).type('form').send({ _csrf: admin.csrf, reason: '' }).expect(422);
    expect(noReason.text).to.include('Give a reason for the refund');
    expect((await deps.db.select().from(payments).where(eq(payments.id, paymentId)))[0]!.status).to.equal('confirmed');
    await admin.agent.post(`/platform/payments/${paymentId}/refund`).type('form').send({ _csrf: admin.csrf, reason: 'goodwill' }).expect(302);
    expect((await admin.agent.get('/platform/payments').expect(200)).text).to.include('Payment refunded: USD 10.00.');
    // An agency's screen lists only its own sales: none here.
    const agency = await signIn(app, w.a.owner.email);
    expect((await agency.agent.get('/agency/payments').expect(200)).text).to.include('No payments yet.');
    await agency.agent.post(`/agency/payments/${paymentId}/refund`).type('form').send({ _csrf: agency.csrf, reason: 'x' }).expect(404);
  });

  it('an unknown payment id is not found', async () => {
    await api().post('/api/v1/payments/pay_nope/refund').set(bearer(w.platformKey)).send({ reason: 'x' }).expect(404);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import request from 'supertest';
import { accountCharges, invoices, paymentEvents, payments } from '../../db/schema';
import { systemActor } from '../../src/auth/actor';
import { saveGatewayAccount } from '../../src/payments/gateway-accounts';
import { settleAnyPayment } from '../../src/payments/settlement';
import { createApp } from '../../src/web/app';
import { billingApi } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { createWorld, type World } from '../support/world';

const STRIPE = { secretKey: 'sk_test_51KontorAgencyCollect', publishableKey: 'pk_test_51KontorAgencyCollect', webhookSecret: 'whsec_KontorAgencyCollect01' };

/** Invoices collected through the seller's gateway: saved card charged, or paid by hand. */
describe('invoice collection through the gateway', function () {
  this.timeout(90_000);
  let deps: TestDeps;
  let w: World;
  let server: Server;
  let app: ReturnType<typeof createApp>;
  let b: ReturnType<typeof billingApi>;
  const key = () => w.a.subs[0].key;
  const clockTo = (day: string) => request(app).post('/api/v1/test-clock').set(bearer(w.platformKey)).send({ now: `${day}T09:00:00Z` }).expect(200);

  beforeEach(async () => {
    await resetData();
    server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    deps = await makeTestDeps({ start: new Date('2026-03-31T09:00:00Z'), config: { PUBLIC_URL: base, SANDBOX_URL: base, GATEWAY_TIMEOUT_MS: '1500' } });
    w = await createWorld(deps);
    app = createApp(deps);
    server.on('request', app);
    b = billingApi(app);
    await saveGatewayAccount(deps, systemActor('test'), w.a.id, { kind: 'stripe', mode: 'test', ...STRIPE });
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(() => r(null)));
    await deps.close();
  });

  const aprilInvoice = async (card: string | null) => {
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 3000, currency: 'USD', chatbotSessions: 20_000 });
    if (card) expect((await request(app).post('/api/v1/payment-methods').set(bearer(key())).send({ testCard: card })).status).to.equal(201);
    await clockTo('2026-04-01');
    await b.start(key(), pkg.id).expect(201);
    await clockTo('2026-05-01');
    await deps.queue.drain();
    const [inv] = await b.invoices(key());
    return inv!;
  };

  it('a saved card is charged automatically on the 1st and the invoice marked paid, once', async () => {
    const inv = await aprilInvoice('visa');
    expect(inv).to.include({ totalMinor: 3000, status: 'paid' });
    const charges = await deps.db.select().from(payments).where(and(eq(payments.purpose, 'invoice'), eq(payments.referenceId, inv.id)));
    expect(charges).to.have.length(1);
    expect(charges[0]).to.include({ status: 'confirmed', amountMinor: 3000, currency: 'USD', gateway: 'stripe', idempotencyKey: `invoice:${inv.id}` });
    const { collectInvoice } = await import('../../src/billing/collect');
    expect(await collectInvoice(deps, inv.id)).to.equal('already');
    expect(await deps.db.select().from(payments).where(eq(payments.purpose, 'invoice'))).to.have.length(1);
  });

  it('a charge confirmed but not yet marked on the invoice (crash between the two) is finished on the next run, never charged again', async () => {
    const inv = await aprilInvoice('visa');
    const [charge] = await deps.db.select().from(payments).where(and(eq(payments.purpose, 'invoice'), eq(payments.referenceId, inv.id)));
    // What a worker killed (or a connection lost) after the payment's commit and before the invoice's leaves behind.
    await deps.db.update(invoices).set({ status: 'open', paymentId: null, paidAt: null }).where(eq(invoices.id, inv.id));
    // The buyer presses "Pay now" meanwhile: told it is paid, no second payment.
    expect((await request(app).post(`/api/v1/invoices/${inv.id}/pay`).set(bearer(key())).send({}).expect(409)).body.error).to.equal('invoice_already_paid');
    await deps.db.update(invoices).set({ status: 'open', paymentId: null, paidAt: null }).where(eq(invoices.id, inv.id));
    // The delivery job runs again (BullMQ retry or stalled-job recovery): the invoice is marked paid by that charge.
    const { collectInvoice } = await import('../../src/billing/collect');
    expect(await collectInvoice(deps, inv.id)).to.equal('charged');
    const [after] = await deps.db.select().from(invoices).where(eq(invoices.id, inv.id));
    expect(after).to.include({ status: 'paid', paymentId: charge!.id });
    const all = await deps.db.select().from(payments).where(eq(payments.purpose, 'invoice'));
    expect(all.map((p) => [p.id, p.status, p.referenceId])).to.deep.equal([[charge!.id, 'confirmed', inv.id]]);
  });

  it('two collections of one invoice at once (a stalled job run again) record its confirmation once', async () => {
    const inv = await aprilInvoice('visa');
    const [charge] = await deps.db.select().from(payments).where(and(eq(payments.purpose, 'invoice'), eq(payments.referenceId, inv.id)));
    // A run that crashed after the gateway charged and before anything was recorded here.
    await deps.db.update(invoices).set({ status: 'open', paymentId: null, paidAt: null }).where(eq(invoices.id, inv.id));
    await deps.db.update(payments).set({ status: 'pending', confirmedAt: null }).where(eq(payments.id, charge!.id));
    await deps.db.delete(paymentEvents).where(and(eq(paymentEvents.paymentId, charge!.id), eq(paymentEvents.toStatus, 'confirmed')));
    const { collectInvoice } = await import('../../src/billing/collect');
    const runs = await Promise.allSettled([collectInvoice(deps, inv.id), collectInvoice(deps, inv.id)]);
    expect(runs.filter((r) => r.status === 'fulfilled').length).to.be.at.least(1);
    const confirmations = await deps.db.select().from(paymentEvents).where(and(eq(paymentEvents.paymentId, charge!.id), eq(paymentEvents.fromStatus, 'pending'), eq(paymentEvents.toStatus, 'confirmed')));
    expect(confirmations).to.have.length(1);
    const [after] = await deps.db.select().from(invoices).where(eq(invoices.id, inv.id));
    expect(after).to.include({ status: 'paid', paymentId: charge!.id });
  });

  it('a declined card leaves the invoice open; the buyer pays it by hand through the gateway', async () => {
    const inv = await aprilInvoice('declined');
    expect(inv.status).to.equal('open');
    const [failed] = await deps.db.select().from(payments).where(eq(payments.purpose, 'invoice'));
    expect(failed!.status).to.equal('failed');
    const pay = await request(app).post(`/api/v1/invoices/${inv.id}/pay`).set(bearer(key())).send({}).expect(201);
    expect(pay.body.checkoutUrl).to.match(/\/payments\/go\/pay_\w+\?sig=/);
    // Another account cannot pay (or see) it.
    await request(app).post(`/api/v1/invoices/${inv.id}/pay`).set(bearer(w.a.subs[1].key)).send({}).expect(404);
    // The gateway confirms it (the verified callback ends here, see test/payments/gateway-flows).
    await settleAnyPayment(deps, { paymentId: pay.body.paymentId, approved: true, raw: {}, amountMinor: 3000, currency: 'USD' });
    const [after] = await deps.db.select().from(invoices).where(eq(invoices.id, inv.id));
    expect(after).to.include({ status: 'paid', paymentId: pay.body.paymentId });
    expect((await request(app).post(`/api/v1/invoices/${inv.id}/pay`).set(bearer(key())).send({}).expect(409)).body.error).to.equal('invoice_already_paid');
  });

  it('two "Pay now" at once get the same payment, never an error or a second payment', async () => {
    const inv = await aprilInvoice(null);
    const answers = await Promise.all(Array.from({ length: 6 }, () => request(app).post(`/api/v1/invoices/${inv.id}/pay`).set(bearer(key())).send({})));
    expect(answers.map((a) => a.status)).to.deep.equal(answers.map(() => 201));
    expect(new Set(answers.map((a) => a.body.paymentId)).size).to.equal(1);
    const rows = await deps.db.select().from(payments).where(eq(payments.purpose, 'invoice'));
    expect(rows.map((p) => [p.referenceId, p.status])).to.deep.equal([[inv.id, 'pending']]);
  });

  it('without a saved card the invoice waits open; no charge is attempted', async () => {
    const inv = await aprilInvoice(null);
    expect(inv.status).to.equal('open');
    expect(await deps.db.select().from(payments).where(eq(payments.purpose, 'invoice'))).to.have.length(0);
  });

  it('an on-invoice automatic top-up (NestPay seller) is billed on the next invoice', async () => {
    await saveGatewayAccount(deps, systemActor('test'), w.a.id, { kind: 'nestpay', mode: 'test', bank: 'isbank', clientId: '100200301', storeKey: 'StoreKey43', apiUser: 'KONTORAPI', apiPassword: 'secret-pass' });
    const sub = w.a.subs[0];
    await request(app).post('/api/v1/packages').set(bearer(w.a.key)).send({ name: '500 credits', type: 'credit', priceMinor: 2500, currency: 'USD', credits: 500, published: true }).expect(201);
    await request(app).post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 1000, reason: 'pool' }).expect(201);
    // The agency's auto-billing is on (a client's is offered only then); its pool already covers this top-up.
    await deps.db.execute(`insert into auto_billing_settings (owner_key, agency_id, enabled, monthly_cap_minor, currency) values ('agency:${w.a.id}', '${w.a.id}', true, 100000, 'USD')`);
    const dept = (await request(app).post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Sales', creditsPerRequest: 5 }).expect(201)).body;
    await request(app).put(`/api/v1/sub-accounts/${sub.id}/departments`).set(bearer(w.a.key)).send({ departmentIds: [dept.id] }).expect(200);
    await clockTo('2026-04-03');
    await request(app).put('/api/v1/auto-billing').set(bearer(sub.key)).send({ enabled: true, monthlyCapMinor: 10_000 }).expect(200);
    const used = await request(app).post('/api/v1/usage').set(bearer(sub.key)).send({ conversationId: 'c1', departmentId: dept.id });
    expect(used.status, JSON.stringify(used.body)).to.equal(200);
    const [charge] = await deps.db.select().from(accountCharges).where(eq(accountCharges.buyerId, sub.id));
    expect(charge).to.include({ kind: 'topup', amountMinor: 2500, currency: 'USD' });
    await clockTo('2026-05-01');
    await deps.queue.drain();
    const [inv] = await b.invoices(sub.key);
    expect(inv).to.include({ totalMinor: 2500, period: '2026-04' });
    const detail = await b.invoice(sub.key, inv!.id);
    expect(detail.lines.map((l) => [l.kind, l.amountMinor])).to.deep.equal([['topup', 2500]]);
  });
});

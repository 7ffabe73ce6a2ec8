// Idempotency-Key on every route group that moves money or credits or creates a purchase,
// subscription, order, payment method or invoice payment (issue #19; the list: docs/api.md). For
// each: the same key and body answer the first result again (status and body, Idempotent-Replayed)
// and do nothing more; the same key with another request is 409 idempotency_key_reused.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { sql } from 'drizzle-orm';
import type { Express } from 'express';
import type { Test } from 'supertest';
import { settleAnyPayment } from '../../src/payments/settlement';
import { billingApi, moveTo, tick } from '../support/billing';
import { bearer } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { createApp } from '../../src/web/app';
import { resetData, rowsOf } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { createWorld, type World } from '../support/world';

describe('Idempotency-Key on each money-moving route group', function () {
  this.timeout(120_000);
  // A live server: saving a card calls the gateway's sandbox, served by the app itself.
  const t = {} as { deps: TestDeps; w: World; app: Express };
  let server: Server;
  beforeEach(async () => {
    await resetData();
    server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    t.deps = await makeTestDeps({ start: new Date('2026-03-10T09:00:00Z'), config: { PUBLIC_URL: base, SANDBOX_URL: base, GATEWAY_TIMEOUT_MS: '1500' } });
    t.w = await createWorld(t.deps);
    t.app = createApp(t.deps);
    server.on('request', t.app);
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(() => r(null)));
    await t.deps.close();
  });
  const api = () => billingApi(t.app).api();
  const rows = async (table: string) => rowsOf<{ n: number }>(await t.deps.db.execute(sql.raw(`select count(*)::int as n from ${table}`)))[0]!.n;

  /** `send(key, variant)`: variant 0 is the request, 1 another one (other body or path). */
  async function onceOnly(name: string, send: (idemKey: string, variant: 0 | 1) => Test, table: string) {
    const key = `${name}-1`;
    const before = await rows(table);
    const first = await send(key, 0);
    expect(first.status, `${name}: ${JSON.stringify(first.body)}`).to.be.within(200, 299);
    const after = await rows(table);
    expect(after, `${name} wrote its ${table}`).to.be.greaterThan(before);
    const again = await send(key, 0);
    expect(again.status, name).to.equal(first.status);
    expect(again.headers['idempotent-replayed'], name).to.equal('true');
    expect(again.body, name).to.deep.equal(first.body);
    const other = await send(key, 1);
    expect(other.status, name).to.equal(409);
    expect(other.body.error, name).to.equal('idempotency_key_reused');
    expect(await rows(table), `${name}: the replay and the refusal wrote nothing`).to.equal(after);
    return first;
  }

  it('credits, purchases, orders, payment methods, the WhatsApp balance and refunds', async () => {
    const { w } = t;
    const post = (path: string, key: string, idem: string, body: object) => api().post(`/api/v1${path}`).set(bearer(key)).set('Idempotency-Key', idem).send(body);

    await onceOnly('pool', (k, v) => post(`/agencies/${w.a.id}/adjustments`, w.platformKey, k, { credits: 5000 + v, reason: 'seed' }), 'credit_ledger');
    await onceOnly('grant', (k, v) => post(`/sub-accounts/${w.a.subs[0].id}/adjustments`, w.a.key, k, { credits: 100 + v, reason: 'gift' }), 'credit_ledger');

    const pkg = (await api().post('/api/v1/packages').set(bearer(w.a.key)).send({ name: 'Credits 100', type: 'credit', priceMinor: 1000, currency: 'TRY', credits: 100, published: true }).expect(201)).body;
    await onceOnly('purchase', (k, v) => post(`/sub-accounts/${w.a.subs[v].id}/purchases`, w.a.key, k, { packageId: pkg.id, payment: 'offline' }), 'purchases');

    const top = (await api().post('/api/v1/topup-packages').set(bearer(w.platformKey)).send({ credits: 2000, priceMinor: 1000, currency: 'USD' }).expect(201)).body;
    await onceOnly('order', (k, v) => post('/orders', w.a.key, k, { kind: 'topup', topupPackageId: top.id, quantity: 1 + v }), 'agency_orders');

    await api().put('/api/v1/payment-systems').set(bearer(w.a.key)).send({ kind: 'stripe', mode: 'test', secretKey: 'sk_test_51KontorIdem', publishableKey: 'pk_test_51KontorIdem', webhookSecret: 'whsec_KontorIdem01' }).expect(200);
    await onceOnly('card', (k, v) => post('/payment-methods', w.a.subs[0].key, k, { testCard: v ? 'mastercard' : 'visa' }), 'payment_methods');

    const topup = await onceOnly('wallet-topup', (k, v) => post('/whatsapp-balance/top-ups', w.a.key, k, { amountMinor: 2000 + v, currency: 'USD' }), 'payments');
    await settleAnyPayment(t.deps, { paymentId: topup.body.paymentId, approved: true, raw: {} });
    await onceOnly('wallet-debit', (k, v) => post('/whatsapp-balance/debits', w.a.key, k, { amountMinor: 500, reference: `wa:${v}` }), 'wallet_entries');

    // A refund of the confirmed top-up: replayed, never refunded twice.
    await onceOnly('refund', (k, v) => post(`/payments/${topup.body.paymentId}/refund`, w.platformKey, k, { reason: v ? 'other' : 'by mistake' }), 'audit_log');
    await assertLedgerInvariant(t.deps.db);
  });

  it('subscriptions, extra sessions, invoice payments and bank transfers', async () => {
    const { w } = t;
    const b = billingApi(t.app);
    const post = (path: string, key: string, idem: string, body: object = {}) => api().post(`/api/v1${path}`).set(bearer(key)).set('Idempotency-Key', idem).send(body);
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 3100, chatbotSessions: 20_000 });
    const other = await b.createPackage(w.a.key, { name: 'Chatbot 40k', billing: 'monthly', monthlyPriceMinor: 6200, chatbotSessions: 40_000 });
    await b.createPackage(w.a.key, { name: 'Extra 1k', kind: 'extra_sessions', monthlyPriceMinor: 500, chatbotSessions: 1000 });
    await onceOnly('subscribe', (k, v) => post('/subscriptions', w.a.subs[0].key, k, { packageId: v ? other.id : pkg.id }), 'billing_subscriptions');
    await onceOnly('extra', (k, v) => post('/extra-sessions', w.a.subs[0].key, k, { quantity: 1 + v }), 'account_charges');

    // Two monthly invoices for both clients' subscriptions (the second client subscribes too).
    await b.start(w.a.subs[1].key, other.id).expect(201);
    moveTo(t.deps, '2026-04-01');
    await tick(t.deps);
    const [mine] = await b.invoices(w.a.subs[0].key);
    const [theirs] = await b.invoices(w.a.subs[1].key);
    expect(mine?.status).to.equal('open');
    await onceOnly('pay', (k, v) => post(v ? '/invoices/pay-overdue' : `/invoices/${mine!.id}/pay`, w.a.subs[0].key, k), 'payments');
    await onceOnly('mark-paid', (k, v) => post(`/invoices/${v ? mine!.id : theirs!.id}/mark-paid`, w.a.key, k), 'audit_log');
  });
});

/**
 * Saved-card retries (issue 18, collections): on the seller's retry days an open overdue invoice is
 * charged again on the buyer's saved card through the seller's gateway (the Stripe sandbox here),
 * each attempt logged, one charge per invoice and attempt however often the job runs or resumes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { and, eq, like } from 'drizzle-orm';
import request from 'supertest';
import { agencies, invoiceChargeAttempts, invoices, outboxEmails, payments } from '../../db/schema';
import { createProcessors } from '../../jobs/processors';
import { systemActor } from '../../src/auth/actor';
import { saveGatewayAccount } from '../../src/payments/gateway-accounts';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

const STRIPE = { secretKey: 'sk_test_51KontorAgencyRetries', publishableKey: 'pk_test_51KontorAgencyRetries', webhookSecret: 'whsec_KontorAgencyRetries01' };

describe('collections: saved-card retries on the seller\'s schedule', function () {
  this.timeout(180_000);
  let deps: TestDeps;
  let w: World;
  let server: Server;
  let app: ReturnType<typeof createApp>;
  let b: ReturnType<typeof billingApi>;
  const key = () => w.a.subs[0].key;
  const attempts = async (invoiceId: string) => deps.db.select().from(invoiceChargeAttempts).where(eq(invoiceChargeAttempts.invoiceId, invoiceId)).orderBy(invoiceChargeAttempts.attemptNo);
  const day = async (d: string) => {
    moveTo(deps, d);
    await tick(deps);
  };

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

  /** April's invoice (3000 USD), cut on 1 May and due 11 May; the first charge on 1 May with `card`. */
  const aprilInvoice = async (card: string) => {
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 3000, currency: 'USD', chatbotSessions: 20_000 });
    expect((await request(app).post('/api/v1/payment-methods').set(bearer(key())).send({ testCard: card })).status).to.equal(201);
    await day('2026-04-01');
    await b.start(key(), pkg.id).expect(201);
    await day('2026-05-01');
    const [inv] = await b.invoices(key());
    return inv!;
  };

  it('a declined card is retried on day +1 (declined, logged), the buyer saves a good card, day +3 pays the invoice; day +5 tries nothing', async () => {
    const inv = await aprilInvoice('declined');
    expect(inv).to.include({ status: 'open', dueDay: '2026-05-11', totalMinor: 3000 });
    for (const d of ['2026-05-02', '2026-05-10', '2026-05-11']) await day(d);
    expect(await attempts(inv.id)).to.deep.equal([]);

    await day('2026-05-12');
    const [first] = await attempts(inv.id);
    expect(first).to.include({ attemptNo: 1, daysAfterDue: 1, day: '2026-05-12', status: 'declined', error: 'Your card was declined.', gatewayReference: null });
    const [p1] = await deps.db.select().from(payments).where(eq(payments.id, first!.paymentId!));
    expect(p1).to.include({ status: 'failed', idempotencyKey: `invoice:${inv.id}:retry:1`, amountMinor: 3000, gateway: 'stripe' });

    // The buyer saves a card that works and makes it the default.
    const good = (await request(app).post('/api/v1/payment-methods').set(bearer(key())).send({ testCard: 'visa' }).expect(201)).body;
    await request(app).post(`/api/v1/payment-methods/${good.id}/default`).set(bearer(key())).send({}).expect(204);
    await day('2026-05-13');
    expect(await attempts(inv.id)).to.have.length(1);

    await day('2026-05-14');
    const list = await attempts(inv.id);
    expect(list.map((a) => [a.attemptNo, a.day, a.status])).to.deep.equal([[1, '2026-05-12', 'declined'], [2, '2026-05-14', 'succeeded']]);
    expect(list[1]!.gatewayReference).to.match(/^pi_/);
    expect(list[1]!.paymentMethodId).to.equal(good.id);
    const [paid] = await deps.db.select().from(invoices).where(eq(invoices.id, inv.id));
    expect(paid).to.include({ status: 'paid', paymentId: list[1]!.paymentId });
    const [p2] = await deps.db.select().from(payments).where(eq(payments.id, list[1]!.paymentId!));
    expect(p2).to.include({ status: 'confirmed', idempotencyKey: `invoice:${inv.id}:retry:2`, gatewayReference: list[1]!.gatewayReference });

    // Paid: day +5 charges nothing.
    await day('2026-05-16');
    expect(await attempts(inv.id)).to.have.length(2);
    expect(await deps.db.select().from(payments).where(and(eq(payments.purpose, 'invoice'), eq(payments.status, 'confirmed')))).to.have.length(1);

    // The API and the seller's invoice page show the attempts.
    const api = (await request(app).get(`/api/v1/invoices/${inv.id}/collection`).set(bearer(w.a.key)).expect(200)).body;
    expect(api.chargeAttempts.map((a: { attemptNo: number; status: string; card: string }) => [a.attemptNo, a.status, a.card])).to.deep.equal([[1, 'declined', 'visa ending 0341'], [2, 'succeeded', 'visa ending 4242']]);
    expect((await request(app).get(`/api/v1/invoices/${inv.id}/collection`).set(bearer(key())).expect(200)).body.chargeAttempts).to.have.length(2);
    await request(app).get(`/api/v1/invoices/${inv.id}/collection`).set(bearer(w.a.subs[1].key)).expect(404);
    await request(app).get(`/api/v1/invoices/${inv.id}/collection`).set(bearer(w.b.key)).expect(404);
    const seller = await signIn(app, w.a.owner.email);
    const page = (await seller.agent.get(`/agency/invoices/${inv.id}`).expect(200)).text;
    expect(page).to.contain('data-testid="collection-attempts"').and.contain('Your card was declined.').and.contain(list[1]!.gatewayReference!);
  });

  it('a declined retry emails the buyer once per attempt (invoice, amount, card, next try; Turkish for a Turkish buyer), and the buyer\'s invoice page shows the log', async () => {
    const inv = await aprilInvoice('declined');
    const declinedMails = () => deps.db.select().from(outboxEmails).where(like(outboxEmails.idempotencyKey, 'card-retry-declined:%'));
    for (const d of ['2026-05-02', '2026-05-10', '2026-05-11']) await day(d);
    expect(await declinedMails()).to.have.length(0);
    await day('2026-05-12');
    // The same day's runs again (hourly, or a rerun): no second attempt, no second email.
    await tick(deps);
    await tick(deps);
    const [first, ...more] = await declinedMails();
    expect(more).to.have.length(0);
    expect(first!.idempotencyKey).to.equal(`card-retry-declined:${inv.id}:1`);
    expect(first!.subject).to.equal('Payment declined: invoice INV-000001 (USD 30.00) from ' + w.a.name);
    expect(first!.text).to.contain('visa ending 0341').and.contain('INV-000001').and.contain('USD 30.00').and.contain('Your card was declined.')
      .and.contain('We will try your default card again on').and.contain('/portal/billing');

    // The second attempt (day +3) is declined too, in Turkish now; the last (day +5) says no more tries follow.
    await deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, w.a.id));
    await day('2026-05-14');
    await day('2026-05-16');
    const mails = (await declinedMails()).sort((x, y) => x.idempotencyKey.localeCompare(y.idempotencyKey));
    expect(mails.map((m) => m.idempotencyKey)).to.deep.equal([1, 2, 3].map((n) => `card-retry-declined:${inv.id}:${n}`));
    expect(mails[1]!.subject).to.match(/^Ödeme reddedildi: /);
    expect(mails[1]!.text).to.contain('son dört hanesi 0341').and.contain('yeniden deneyeceğiz');
    expect(mails[2]!.text).to.contain('Bu son otomatik denemeydi');

    // The buyer's invoice page: the card retries with their results, in the buyer's language.
    const buyer = await signIn(app, w.a.subs[0].owner.email);
    const page = (await buyer.agent.get(`/portal/billing/invoices/${inv.id}`).expect(200)).text;
    expect(page).to.contain('data-testid="collection-attempts"').and.contain('Your card was declined.').and.not.contain('/settings/collections');
  });

  it('a run that crashed after the gateway charged asks again with the same key: one charge, the invoice paid once', async () => {
    const inv = await aprilInvoice('declined');
    const good = (await request(app).post('/api/v1/payment-methods').set(bearer(key())).send({ testCard: 'visa' }).expect(201)).body;
    await request(app).post(`/api/v1/payment-methods/${good.id}/default`).set(bearer(key())).send({}).expect(204);
    await day('2026-05-12');
    const [done] = await attempts(inv.id);
    expect(done).to.include({ status: 'succeeded' });
    const reference = done!.gatewayReference;
    // What a worker killed after the gateway's answer and before recording it leaves behind.
    await deps.db.update(invoiceChargeAttempts).set({ status: 'pending', gatewayReference: null, completedAt: null }).where(eq(invoiceChargeAttempts.id, done!.id));
    await deps.db.update(payments).set({ status: 'pending', confirmedAt: null, gatewayReference: null }).where(eq(payments.id, done!.paymentId!));
    await deps.db.update(invoices).set({ status: 'open', paymentId: null, paidAt: null }).where(eq(invoices.id, inv.id));

    const run = createProcessors(deps)['collections.run']!;
    await Promise.allSettled([run({}), run({})]);
    await run({});
    const [after] = await attempts(inv.id);
    // The gateway answered the first charge again (same PaymentIntent): nothing was charged twice.
    expect(after).to.include({ status: 'succeeded', gatewayReference: reference, paymentId: done!.paymentId });
    const [paid] = await deps.db.select().from(invoices).where(eq(invoices.id, inv.id));
    expect(paid).to.include({ status: 'paid', paymentId: done!.paymentId });
    const all = await deps.db.select().from(payments).where(eq(payments.purpose, 'invoice'));
    expect(all.filter((p) => p.status === 'confirmed').map((p) => p.gatewayReference)).to.deep.equal([reference]);
    expect(await attempts(inv.id)).to.have.length(1);
  });

  it('without a saved card the attempt is logged as not tried; a seller with no retry days retries nothing', async () => {
    const inv = await aprilInvoice('declined');
    const [card] = (await request(app).get('/api/v1/payment-methods').set(bearer(key())).expect(200)).body.data;
    await request(app).delete(`/api/v1/payment-methods/${card.id}`).set(bearer(key())).expect(204);
    await day('2026-05-12');
    const [skipped] = await attempts(inv.id);
    expect(skipped).to.include({ attemptNo: 1, status: 'skipped', error: 'collections:attempt.noCard', paymentId: null });
    const api = (await request(app).get(`/api/v1/invoices/${inv.id}/collection`).set(bearer(w.a.key)).set('Accept-Language', 'tr').expect(200)).body;
    expect(api.chargeAttempts[0]).to.include({ status: 'skipped', error: 'Tahsilat yapılacak kayıtlı kart yok.' });

    await request(app).put('/api/v1/collection-settings').set(bearer(w.a.key)).send({ reminderDays: [], retryDays: [] }).expect(200);
    await request(app).post('/api/v1/payment-methods').set(bearer(key())).send({ testCard: 'visa' }).expect(201);
    await day('2026-05-14');
    expect(await attempts(inv.id)).to.have.length(1);
    const [stillOpen] = await deps.db.select().from(invoices).where(eq(invoices.id, inv.id));
    expect(stillOpen!.status).to.equal('open');
  });
});

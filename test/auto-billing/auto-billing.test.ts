import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { and, eq, sql } from 'drizzle-orm';
import { accountCharges, autoBillingCharges, autoBillingSettings, invoiceLines, invoices, notifications, outboxEmails, payments } from '../../db/schema';
import { msg } from '../../src/lib/message';
import { systemActor } from '../../src/auth/actor';
import { saveGatewayAccount } from '../../src/payments/gateway-accounts';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { assertLedgerInvariant } from '../support/invariants';
import { createWorld, type World } from '../support/world';
import { localize, tFor } from '../../src/i18n/i18n';

const STRIPE = { secretKey: 'sk_test_51KontorPlatformAaaaaaaaaa', publishableKey: 'pk_test_51KontorPlatformAaaaaaaaaa', webhookSecret: 'whsec_KontorPlatformWebhookSecret01' };
const AGENCY_STRIPE = { secretKey: 'sk_test_51KontorAgencyAaaaaaaaaaaaa', publishableKey: 'pk_test_51KontorAgencyAaaaaaaaaaaaa', webhookSecret: 'whsec_KontorAgencyAWebhookSecret01' };

/**
 * Auto-billing (issue #6) through the API, against the real Stripe client and its sandbox served
 * by the app on a real port. Concurrency cases are meaningful on Postgres (CI); on PGlite the
 * single connection serialises them and they still must hold.
 */
describe('auto-billing', function () {
  this.timeout(120_000);
  let deps: TestDeps;
  let w: World;
  let server: Server;
  let base: string;

  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, { method, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const pool = async () => (await call('GET', '/api/v1/balance', w.a.key)).body.balance as number;
  const charges = async (ownerKey: string) => deps.db.select().from(autoBillingCharges).where(eq(autoBillingCharges.ownerKey, ownerKey));
  const gatewayCharges = async () => (await deps.db.select().from(payments).where(eq(payments.purpose, 'auto_topup'))).filter((p) => p.status === 'confirmed');

  beforeEach(async () => {
    await resetData();
    server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Usage waits up to 10 s for a top-up here (3 s by default): these cases are about what the engine
    // buys, on a machine that may be loaded; the short wait has its own test below.
    deps = await makeTestDeps({ config: { PUBLIC_URL: base, SANDBOX_URL: base, GATEWAY_TIMEOUT_MS: '1500', USAGE_TOPUP_WAIT_MS: '10000' } });
    w = await createWorld(deps);
    server.on('request', createApp(deps));
    // The platform sells through the Stripe sandbox, agency A too (to its clients).
    await saveGatewayAccount(deps, systemActor('test'), null, { kind: 'stripe', mode: 'test', ...STRIPE });
    await saveGatewayAccount(deps, systemActor('test'), w.a.id, { kind: 'stripe', mode: 'test', ...AGENCY_STRIPE });
  });
  afterEach(async () => {
    await assertLedgerInvariant(deps.db);
    server.closeAllConnections();
    await new Promise((r) => server.close(() => r(null)));
    await deps.close();
  });

  const topup = (credits: number, priceMinor: number) => call('POST', '/api/v1/topup-packages', w.platformKey, { credits, priceMinor, currency: 'USD' });
  const enableAgency = async (card: string, cap = 100_000) => {
    expect((await call('POST', '/api/v1/payment-methods', w.a.key, { testCard: card })).status).to.equal(201);
    const r = await call('PUT', '/api/v1/auto-billing', w.a.key, { enabled: true, monthlyCapMinor: cap });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
  };

  it("the seed's example: pool 9,000, a 10,000-credit plan, a 2,000-credit package for $10", async () => {
    await topup(2000, 1000);
    await topup(5000, 2600);
    await call('POST', `/api/v1/agencies/${w.a.id}/adjustments`, w.platformKey, { credits: 9000, reason: 'opening pool' });
    await enableAgency('visa');
    const pkg = (await call('POST', '/api/v1/packages', w.a.key, { name: 'Plan 10k', type: 'credit', priceMinor: 5000, currency: 'USD', credits: 10_000, published: true })).body;
    const sub = w.a.subs[0]!;
    const bought = await call('POST', `/api/v1/sub-accounts/${sub.id}/purchases`, w.a.key, { packageId: pkg.id, payment: 'offline' });
    expect(bought.status, JSON.stringify(bought.body)).to.equal(201);
    expect(bought.body.status).to.equal('granted');
    expect(await pool()).to.equal(1000);
    expect((await call('GET', '/api/v1/balance', sub.key)).body.balance).to.equal(10_000);

    const history = (await call('GET', '/api/v1/auto-billing/charges', w.a.key)).body.data as Record<string, unknown>[];
    expect(history).to.have.length(1);
    expect(history[0]).to.include({ trigger: 'purchase', status: 'succeeded', deficitCredits: 1000, credits: 2000, amountMinor: 1000, currency: 'USD' });
    expect(await gatewayCharges()).to.have.length(1);
    const notices = await deps.db.select().from(notifications).where(and(eq(notifications.agencyId, w.a.id), eq(notifications.kind, 'auto_billing_charged')));
    expect(notices).to.have.length(1);
    // Notices keep the message; each reader reads it in their language.
    expect(localize(tFor('en'), notices[0]!.message)).to.match(/2,000 credits for USD 10\.00/);
    await deps.queue.drain();
    const mails = await deps.db.select().from(outboxEmails).where(sql`${outboxEmails.subject} like 'Auto-billing:%'`);
    expect(mails).to.have.length(1);
  });

  it('a monthly grant to an existing subscriber finds the pool short: topped up in the same job', async () => {
    await topup(2000, 1000);
    await call('POST', `/api/v1/agencies/${w.a.id}/adjustments`, w.platformKey, { credits: 1000, reason: 'opening pool' });
    const sub = w.a.subs[0]!;
    const pkg = (await call('POST', '/api/v1/packages', w.a.key, { name: 'Monthly 1k', type: 'subscription', termMonths: 3, priceMinor: 3000, currency: 'USD', credits: 1000, published: true })).body;
    expect((await call('POST', `/api/v1/sub-accounts/${sub.id}/purchases`, w.a.key, { packageId: pkg.id, payment: 'offline' })).body.status).to.equal('granted');
    expect(await pool()).to.equal(0);
    await enableAgency('visa');
    deps.testClock.advance(32 * 24 * 3600_000);
    const { runGrantsWithAutoBilling } = await import('../../src/auto-billing/grants-hook');
    const run = await runGrantsWithAutoBilling(deps);
    expect(run).to.include({ granted: 1, failed: 0, autoBilled: 1 });
    expect(await pool()).to.equal(1000);
    const rows = await charges(`agency:${w.a.id}`);
    expect(rows.map((c) => [c.trigger, c.status, c.credits])).to.deep.equal([['monthly_grant', 'succeeded', 2000]]);
  });

  it('chatbots: buys exactly the shortfall', async () => {
    await call('PUT', '/api/v1/chatbot-slot-price', w.platformKey, { priceMinor: 500, currency: 'USD' });
    await topup(2000, 1000);
    await enableAgency('visa');
    // The agency holds 5 slots; its client's package needs 10.
    await deps.db.execute(sql`update agencies set chatbot_slots = 5 where id = ${w.a.id}`);
    const pkg = (await call('POST', '/api/v1/packages', w.a.key, { name: 'Bots', type: 'credit', priceMinor: 100, currency: 'USD', credits: 0, chatbots: 10, published: true })).body;
    const bought = await call('POST', `/api/v1/sub-accounts/${w.a.subs[0]!.id}/purchases`, w.a.key, { packageId: pkg.id, payment: 'offline' });
    expect(bought.body.status).to.equal('granted');
    const [c] = await charges(`agency:${w.a.id}`);
    expect(c).to.include({ status: 'succeeded', deficitChatbots: 5, chatbots: 5, amountMinor: 2500, credits: 0 });
    const [row] = (await deps.db.execute(sql`select chatbot_slots from agencies where id = ${w.a.id}`).then((r) => (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows))) as { chatbot_slots: number }[];
    expect(row!.chatbot_slots).to.equal(10);
  });

  it('50 concurrent usage requests on an empty sub-account: one top-up charge, every request served', async () => {
    const sub = w.a.subs[0]!;
    await enableAgency('visa');
    const dept = (await call('POST', '/api/v1/departments', w.a.key, { name: 'Sales', creditsPerRequest: 1 })).body;
    await call('PUT', `/api/v1/sub-accounts/${sub.id}/departments`, w.a.key, { departmentIds: [dept.id] });
    await call('POST', '/api/v1/packages', w.a.key, { name: '500 credits', type: 'credit', priceMinor: 2500, currency: 'USD', credits: 500, published: true });
    await call('POST', `/api/v1/agencies/${w.a.id}/adjustments`, w.platformKey, { credits: 10_000, reason: 'pool' });
    expect((await call('POST', '/api/v1/payment-methods', sub.key, { testCard: 'visa' })).status).to.equal(201);
    expect((await call('PUT', '/api/v1/auto-billing', sub.key, { enabled: true, monthlyCapMinor: 100_000 })).status).to.equal(200);

    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call('POST', '/api/v1/usage', sub.key, { conversationId: `c${i}`, departmentId: dept.id })));
    expect(results.map((r) => r.status)).to.deep.equal(Array(50).fill(200));
    const mine = await charges(`sub:${sub.id}`);
    expect(mine.map((c) => c.status)).to.deep.equal(['succeeded']);
    expect(mine[0]).to.include({ credits: 500, amountMinor: 2500, trigger: 'sub_account_usage' });
    expect((await gatewayCharges()).filter((p) => p.buyerSubAccountId === sub.id)).to.have.length(1);
    expect((await call('GET', '/api/v1/balance', sub.key)).body.balance).to.equal(450);
    expect(await pool()).to.equal(9500);
  });

  it('the agency\'s own chatbot: its pool is topped up and the request served; off, it answers 402', async () => {
    await topup(2000, 1000);
    const dept = (await call('POST', '/api/v1/departments', w.a.key, { name: 'Own', creditsPerRequest: 3 })).body;
    expect((await call('POST', '/api/v1/usage', w.a.key, { conversationId: 'x1', departmentId: dept.id })).status).to.equal(402);
    expect(await charges(`agency:${w.a.id}`)).to.have.length(0);
    await enableAgency('visa');
    const ok = await call('POST', '/api/v1/usage', w.a.key, { conversationId: 'x1', departmentId: dept.id });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    expect(ok.body).to.include({ charged: 3, balance: 1997 });
    expect((await charges(`agency:${w.a.id}`))[0]).to.include({ trigger: 'agency_usage', status: 'succeeded' });
  });

  it('cap reached: no charge, a clear error, the notice sent once', async () => {
    await topup(2000, 1000);
    await enableAgency('visa', 1500);
    const dept = (await call('POST', '/api/v1/departments', w.a.key, { name: 'Own', creditsPerRequest: 2500 })).body;
    // 2,500 credits need two packages ($20): over the $15 cap.
    for (const id of ['a', 'b']) {
      const r = await call('POST', '/api/v1/usage', w.a.key, { conversationId: id, departmentId: dept.id });
      expect(r.status).to.equal(402);
      expect(r.body.error).to.equal('auto_billing_cap_reached');
      expect(r.body.message).to.match(/cap of USD 15\.00/);
    }
    expect(await gatewayCharges()).to.have.length(0);
    const rows = await charges(`agency:${w.a.id}`);
    expect(rows.map((c) => c.status)).to.deep.equal(['refused']);
    expect(await deps.db.select().from(notifications).where(eq(notifications.kind, 'auto_billing_refused'))).to.have.length(1);
    expect(await pool()).to.equal(0);
  });

  it('a declined card: nothing granted, back-off respected, switched off after three', async () => {
    await topup(2000, 1000);
    await enableAgency('declined');
    const dept = (await call('POST', '/api/v1/departments', w.a.key, { name: 'Own', creditsPerRequest: 1 })).body;
    const use = (id: string) => call('POST', '/api/v1/usage', w.a.key, { conversationId: id, departmentId: dept.id });
    let r = await use('1');
    expect(r.status).to.equal(402);
    expect(r.body.error).to.equal('auto_billing_declined');
    // Within the back-off: refused without trying the card again.
    r = await use('2');
    expect(r.body.error).to.equal('auto_billing_backoff');
    expect((await charges(`agency:${w.a.id}`)).filter((c) => c.status === 'declined')).to.have.length(1);
    deps.testClock.advance(16 * 60_000);
    expect((await use('3')).body.error).to.equal('auto_billing_declined');
    deps.testClock.advance(61 * 60_000);
    r = await use('4');
    expect(r.body.error).to.equal('auto_billing_declined');
    expect(r.body.message).to.match(/switched off/);
    const [s] = await deps.db.select().from(autoBillingSettings).where(eq(autoBillingSettings.ownerKey, `agency:${w.a.id}`));
    expect(s).to.include({ enabled: false, consecutiveDeclines: 3 });
    expect(localize(tFor('en'), s!.disabledReason!)).to.match(/3 declined/);
    deps.testClock.advance(7 * 3600_000);
    expect((await use('5')).body.error).to.equal('insufficient_credits');
    expect(await pool()).to.equal(0);
    expect(await gatewayCharges()).to.have.length(0);
    expect(await deps.db.select().from(notifications).where(eq(notifications.kind, 'auto_billing_disabled'))).to.have.length(1);
  });

  it('a gateway timeout then a retry: one charge (the idempotency key is honoured)', async () => {
    await topup(2000, 1000);
    await enableAgency('timeout');
    const dept = (await call('POST', '/api/v1/departments', w.a.key, { name: 'Own', creditsPerRequest: 1 })).body;
    const r = await call('POST', '/api/v1/usage', w.a.key, { conversationId: 'slow', departmentId: dept.id });
    // The first answer never came in time; the retry carried the same idempotency key and the
    // sandbox answered with the charge it had recorded: served, charged once.
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body).to.include({ charged: 1, balance: 1999 });
    const rows = await charges(`agency:${w.a.id}`);
    expect(rows.map((c) => c.status)).to.deep.equal(['succeeded']);
    const confirmed = await gatewayCharges();
    expect(confirmed).to.have.length(1);
    expect(confirmed[0]!.idempotencyKey).to.equal(`auto:${rows[0]!.id}`);
    // The payment taken is on one paid invoice from the platform to the agency (docs/tax.md).
    const invoiced = await deps.db.select().from(invoices).where(eq(invoices.paymentId, rows[0]!.paymentId!));
    expect(invoiced.map((i) => [i.kind, i.status, i.buyerId, i.sellerAgencyId, i.totalMinor, i.currency])).to.deep.equal([['purchase', 'paid', w.a.id, null, rows[0]!.amountMinor, rows[0]!.currency]]);
  });

  it('a seller whose prices exclude tax: the card is charged the top-up + KDV 20% and the paid invoice says net, tax, total', async () => {
    const tax = { taxEnabled: true, legalName: 'Kontor Yazılım A.Ş.', addressLine1: 'Moda Cd. 1', city: 'İstanbul', country: 'TR', taxOffice: 'Kadıköy', taxNumber: '4540536920', defaultRate: '20', priceMode: 'exclusive' };
    expect((await call('PUT', '/api/v1/tax-settings', w.platformKey, tax)).status).to.equal(200);
    await topup(2000, 1000);
    await enableAgency('visa');
    const dept = (await call('POST', '/api/v1/departments', w.a.key, { name: 'Own', creditsPerRequest: 1 })).body;
    const r = await call('POST', '/api/v1/usage', w.a.key, { conversationId: 'taxed', departmentId: dept.id });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    const [charge] = await charges(`agency:${w.a.id}`);
    // The cap counts the price (USD 10.00); the card pays 10.00 + 20% = 12.00.
    expect(charge).to.deep.include({ status: 'succeeded', amountMinor: 1000 });
    const [paid] = await gatewayCharges();
    expect(paid).to.deep.include({ amountMinor: 1200, priceMode: 'exclusive', taxRateBp: 2000, taxMinor: 200 });
    const [invoice] = await deps.db.select().from(invoices).where(eq(invoices.paymentId, paid!.id));
    expect(invoice).to.deep.include({ kind: 'purchase', status: 'paid', totalMinor: 1200, taxMinor: 200, priceMode: 'exclusive', sellerAgencyId: null });
    // Its line: the text as issued (English) and the key beside it, read in Turkish on Turkish pages (docs/i18n.md).
    const [line] = await deps.db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, invoice!.id));
    expect(line).to.deep.include({ description: 'Automatic top-up: 2,000 credits', descriptionKey: msg('billing:line.autoTopup', { what: msg('email:topup.credits', { count: 2000 }) }) });
    expect(localize(tFor('tr'), line!.descriptionKey!)).to.equal('Otomatik yükleme: 2.000 kredi');
    // The notice says what the card was charged.
    const [notice] = await deps.db.select().from(notifications).where(and(eq(notifications.agencyId, w.a.id), eq(notifications.kind, 'auto_billing_charged')));
    expect(localize(tFor('en'), notice!.message)).to.match(/USD 12\.00/);
  });

  it('a usage request never waits long for its top-up: 402 topup_pending with Retry-After, and the retry is served once it settles (charged once)', async () => {
    await topup(2000, 1000);
    await enableAgency('timeout'); // the sandbox answers the first charge attempt too late
    deps.config.usageTopupWaitMs = 200;
    const dept = (await call('POST', '/api/v1/departments', w.a.key, { name: 'Own', creditsPerRequest: 1 })).body;
    const usage = () => fetch(`${base}/api/v1/usage`, { method: 'POST', headers: { Authorization: `Bearer ${w.a.key}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ conversationId: 'slow', departmentId: dept.id }) });
    const first = await usage();
    expect(first.status).to.equal(402);
    expect(first.headers.get('retry-after')).to.equal('2');
    expect(await first.json()).to.include({ error: 'topup_pending' });
    expect(await pool()).to.equal(0); // nothing charged to the pool yet
    let served: { status: number; body: Record<string, unknown> } | undefined;
    for (let i = 0; i < 100 && !served; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const again = await usage();
      const body = (await again.json()) as Record<string, unknown>;
      if (again.status === 200) served = { status: 200, body };
      else expect(body.error, JSON.stringify(body)).to.equal('topup_pending');
    }
    expect(served?.body).to.deep.equal({ charged: 1, balance: 1999 });
    expect((await charges(`agency:${w.a.id}`)).map((c) => c.status)).to.deep.equal(['succeeded']);
    expect(await gatewayCharges()).to.have.length(1);
  });

  it('a seller whose gateway cannot charge off-session (NestPay): the top-up goes on the open invoice', async () => {
    // Agency A now sells through a NestPay bank POS.
    await saveGatewayAccount(deps, systemActor('test'), w.a.id, { kind: 'nestpay', mode: 'test', bank: 'isbank', clientId: '100200300', storeKey: 'StoreKey42', apiUser: 'KONTORAPI', apiPassword: 'secret-pass' });
    const sub = w.a.subs[0]!;
    await enableAgency('visa');
    await call('POST', '/api/v1/packages', w.a.key, { name: '500 credits', type: 'credit', priceMinor: 2500, currency: 'USD', credits: 500, published: true });
    await call('POST', `/api/v1/agencies/${w.a.id}/adjustments`, w.platformKey, { credits: 1000, reason: 'pool' });
    const dept = (await call('POST', '/api/v1/departments', w.a.key, { name: 'Sales', creditsPerRequest: 5 })).body;
    await call('PUT', `/api/v1/sub-accounts/${sub.id}/departments`, w.a.key, { departmentIds: [dept.id] });
    // No card can be kept at a 3D_PAY bank POS, and none is needed to switch on.
    expect((await call('POST', '/api/v1/payment-methods', sub.key, { testCard: 'visa' })).body.error).to.equal('off_session_unsupported');
    const on = await call('PUT', '/api/v1/auto-billing', sub.key, { enabled: true, monthlyCapMinor: 10_000 });
    expect(on.status, JSON.stringify(on.body)).to.equal(200);
    expect(on.body.onInvoice).to.equal(true);
    const r = await call('POST', '/api/v1/usage', sub.key, { conversationId: 'c1', departmentId: dept.id });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body).to.include({ charged: 5, balance: 495 });
    const [c] = await charges(`sub:${sub.id}`);
    expect(c).to.include({ status: 'on_invoice', credits: 500, amountMinor: 2500, paymentId: null });
    // The charge waiting for the month's invoice keeps the line's key (the cut copies it onto the line).
    const [onAccount] = await deps.db.select().from(accountCharges).where(eq(accountCharges.subAccountId, sub.id));
    expect(onAccount).to.deep.include({ kind: 'topup', description: 'Automatic top-up: 500 credits', descriptionKey: msg('billing:line.autoTopup', { what: msg('email:topup.credits', { count: 500 }) }) });
    expect((await call('GET', '/api/v1/auto-billing/charges', sub.key)).body.data[0].status).to.equal('on_invoice');
    expect(await pool()).to.equal(500);
  });

  it("sub-account settings are hidden and refused while the agency does not qualify", async () => {
    const sub = w.a.subs[0]!;
    const view = await call('GET', '/api/v1/auto-billing', sub.key);
    expect(view.body).to.include({ available: false, enabled: false });
    const refused = await call('PUT', '/api/v1/auto-billing', sub.key, { enabled: true, monthlyCapMinor: 1000 });
    expect(refused.status).to.equal(403);
    expect(refused.body.error).to.equal('auto_billing_unavailable');
    await enableAgency('visa');
    // Agency on, but no credit package published yet.
    expect((await call('PUT', '/api/v1/auto-billing', sub.key, { enabled: true, monthlyCapMinor: 1000 })).status).to.equal(403);
    await call('POST', '/api/v1/packages', w.a.key, { name: '500 credits', type: 'credit', priceMinor: 2500, currency: 'USD', credits: 500, published: true });
    expect((await call('GET', '/api/v1/auto-billing', sub.key)).body.available).to.equal(true);
    expect(await deps.db.select().from(autoBillingSettings).where(eq(autoBillingSettings.ownerKey, `sub:${sub.id}`))).to.have.length(0);
  });

  it('bad input: zero or negative caps, another currency, no payment method, zero-credit top-ups', async () => {
    await topup(2000, 1000);
    for (const bad of [{ enabled: true, monthlyCapMinor: 0 }, { enabled: true, monthlyCapMinor: -5 }, { enabled: true, monthlyCapMinor: 1.5 }, { enabled: 'yes', monthlyCapMinor: 100 }]) {
      const r = await call('PUT', '/api/v1/auto-billing', w.a.key, bad);
      expect(r.status, JSON.stringify(bad)).to.equal(422);
      expect(r.body.error).to.equal('validation_failed');
    }
    const eur = await call('PUT', '/api/v1/auto-billing', w.a.key, { enabled: true, monthlyCapMinor: 1000, currency: 'EUR' });
    expect(eur.status).to.equal(422);
    expect(eur.body.fields.currency).to.match(/currency/);
    const noMethod = await call('PUT', '/api/v1/auto-billing', w.a.key, { enabled: true, monthlyCapMinor: 1000 });
    expect(noMethod.status).to.equal(422);
    expect(noMethod.body.fields.paymentMethodId).to.match(/payment method/);
    const noCap = await call('PUT', '/api/v1/auto-billing', w.a.key, { enabled: true });
    expect(noCap.status).to.equal(422);
    expect((await call('POST', '/api/v1/topup-packages', w.platformKey, { credits: 0, priceMinor: 100, currency: 'USD' })).status).to.equal(422);
    expect((await call('POST', '/api/v1/payment-methods', w.a.key, { testCard: 'mastercard-gold' })).status).to.equal(422);
    expect(await deps.db.select().from(autoBillingSettings)).to.have.length(0);
  });
});

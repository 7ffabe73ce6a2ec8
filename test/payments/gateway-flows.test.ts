import { decode, formIn, type HtmlForm } from '../support/html-form';
import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import request from 'supertest';
import { agencyOrders, auditLog, creditLedger, gatewayAccounts, gatewayWebhooks, paymentEvents, payments, purchases } from '../../db/schema';
import type { Actor } from '../../src/auth/actor';
import { getBalance } from '../../src/credits/credits.usecases';
import { nestpaySandboxCards, NESTPAY_SANDBOX_3D_PASSWORD } from '../../sandboxes';
import { nestpayHashV3 } from '../../src/gateways/nestpay/hash';
import { stripeSignatureHeader } from '../../sandboxes';
import { reconcilePayments } from '../../src/payments/checkout-flow';
import { gatewayOf, saveGatewayAccount } from '../../src/payments/gateway-accounts';
import { newId } from '../../src/lib/ids';
import { resetData } from '../support/db';
import { IYZICO, NESTPAY, ownerActor, STRIPE } from '../support/gateways';
import { bearer, signIn } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { startLiveApp, type LiveApp } from '../support/live-app';
import { createWorld, type World } from '../support/world';

// Each seller has credentials of its own (the sandboxes find their merchant by them).
const PLATFORM_STRIPE = { secretKey: 'sk_test_51KontorPlatformPppppppppp', publishableKey: 'pk_test_51KontorPlatformPppppppppp', webhookSecret: 'whsec_KontorPlatformWebhookSecret001' };
const B_STRIPE = { secretKey: 'sk_test_51KontorSellerBbbbbbbbbbbb', publishableKey: 'pk_test_51KontorSellerBbbbbbbbbbbb', webhookSecret: 'whsec_KontorSellerBwebhookSecret0002' };
const B_NESTPAY = { bank: 'akbank', clientId: '900800700', storeKey: 'OtherStoreKey_2', apiUser: 'OTHERAPI', apiPassword: 'other-pass' };

const card = (behaviour: string) => nestpaySandboxCards.find((c) => c.behaviour === behaviour)!.pan;

// --- a browser's view of HTML forms, to drive the sandbox pages with fetch ---------------------
async function postForm(url: string, fields: Record<string, string>): Promise<{ status: number; html: string; location: string | null }> {
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
  return { status: res.status, html: await res.text(), location: res.headers.get('location') };
}

/** Waits for something the app does on its own (a sandbox's webhook delivery); fails after `ms`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined | null | false>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Issue #5, Correctness and Bad input, through the whole app on a real port: portal purchases
 * and agency orders paid at the sandboxes the app serves, callbacks and webhooks (tampered,
 * replayed, forged, for another seller), reconciliation and refunds.
 */
describe('payments through the app and the gateway sandboxes', function () {
  this.timeout(60_000);
  let live: LiveApp;
  let w: World;
  let packageId: string;
  let departmentId: string;
  let topupId: string;
  const api = () => request(live.app);
  const db = () => live.deps.db;
  const platformActor = (): Actor => ({ kind: 'user', id: w.platformAdmin.id, scope: 'platform', agencyId: null, subAccountId: null, role: 'owner', billing: true });
  const useGateway = (agencyId: string | null, input: Record<string, string>) =>
    saveGatewayAccount(live.deps, agencyId === null ? platformActor() : ownerActor(agencyId, agencyId === w.a.id ? w.a.owner.id : w.b.owner.id), agencyId, { mode: 'test', ...input });

  before(async () => {
    await resetData();
    live = await startLiveApp({ config: { GATEWAY_TIMEOUT_MS: '4000' } });
    w = await createWorld(live.deps);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 100_000, reason: 'seed' }).expect(201);
    departmentId = (await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Support', creditsPerRequest: 2 }).expect(201)).body.id as string;
    topupId = (await api().post('/api/v1/topup-packages').set(bearer(w.platformKey)).send({ credits: 2000, priceMinor: 1000, currency: 'USD' }).expect(201)).body.id;
    await useGateway(null, { kind: 'stripe', ...PLATFORM_STRIPE });
    await useGateway(w.b.id, { kind: 'nestpay', ...B_NESTPAY });
  });
  afterEach(async () => {
    if (live) await assertLedgerInvariant(db());
  });
  after(async () => {
    await live?.close();
  });

  // --- helpers ---------------------------------------------------------------------------------

  const subBalance = async () => (await getBalance(live.deps, { agencyId: w.a.id, subAccountId: w.a.subs[0].id })).balance;
  const poolBalance = async () => (await getBalance(live.deps, { agencyId: w.a.id, subAccountId: null })).balance;
  const paymentRow = async (id: string) => (await db().select().from(payments).where(eq(payments.id, id)))[0]!;
  const purchaseOf = async (paymentId: string) => (await db().select().from(purchases).where(eq(purchases.id, (await paymentRow(paymentId)).referenceId)))[0]!;
  const grantsOf = async (paymentId: string) =>
    (await db().select().from(creditLedger).where(eq(creditLedger.reference, `purchase:${(await paymentRow(paymentId)).referenceId}`))).filter((e) => e.delta > 0);
  const confirmations = async (paymentId: string) =>
    db().select().from(paymentEvents).where(and(eq(paymentEvents.paymentId, paymentId), eq(paymentEvents.fromStatus, 'pending'), eq(paymentEvents.toStatus, 'confirmed')));

  let client: Awaited<ReturnType<typeof signIn>> | undefined;
  let packages = 0;
  /**
   * The client presses Buy in the portal: a pending payment and its signed pay link. Each call
   * buys a package of its own: the portal's double-submit guard answers a second Buy of the
   * same package within 15 minutes with the first, still pending, purchase.
   */
  async function portalBuy(opts: { samePackage?: boolean } = {}): Promise<{ paymentId: string; goUrl: string }> {
    client ??= await signIn(live.app, w.a.subs[0].owner.email);
    if (!opts.samePackage) {
      packages += 1;
      packageId = (await api().post('/api/v1/packages').set(bearer(w.a.key))
        .send({ name: `Pack ${packages}`, type: 'credit', priceMinor: 9990, currency: 'TRY', credits: 500, departmentIds: [departmentId], published: true }).expect(201)).body.id;
    }
    const res = await client.agent.post(`/portal/packages/${packageId}/buy`).type('form').send({ _csrf: client.csrf }).expect(302);
    const goUrl = res.headers.location as string;
    expect(goUrl).to.match(new RegExp(`^${live.base}/payments/go/pay_\\w+\\?sig=`));
    return { paymentId: /go\/(pay_\w+)/.exec(goUrl)![1]!, goUrl };
  }

  /** NestPay: the pay link's auto-posted form -> the gate -> card -> 3D password -> the bank's post-back form. */
  async function payAtBank(goUrl: string, opts: { pan?: string; tamper?: boolean; password?: string } = {}): Promise<HtmlForm> {
    const go = await fetch(goUrl);
    expect(go.status).to.equal(200);
    const start = formIn(await go.text(), 'gateway-form');
    expect(start.action).to.equal(`${live.base}/sandbox/nestpay/fim/est3Dgate`);
    const gate = await postForm(start.action, start.fields);
    expect(gate.status, gate.html).to.equal(200);
    const cardForm = formIn(gate.html, 'card-form');
    const pwd = await postForm(new URL(cardForm.action, live.base).toString(), { pan: opts.pan ?? card('approve'), expMonth: '12', expYear: '30', cvv: '000', ...(opts.tamper ? { tamper: 'on' } : {}) });
    expect(pwd.status, pwd.html).to.equal(200);
    const password = formIn(pwd.html, 'password-form');
    const back = await postForm(new URL(password.action, live.base).toString(), { password: opts.password ?? NESTPAY_SANDBOX_3D_PASSWORD });
    expect(back.status, back.html).to.equal(200);
    return formIn(back.html, 'post-back-form');
  }

  /** Stripe: the pay link -> the hosted card page -> pay with a test card; answers where Stripe sends the buyer. */
  async function payAtStripe(goUrl: string, token: string): Promise<string> {
    const go = await fetch(goUrl, { redirect: 'manual' });
    expect(go.status).to.equal(302);
    const pageUrl = go.headers.get('location')!;
    expect(pageUrl).to.match(new RegExp(`^${live.base}/sandbox/stripe/pay/pi_`));
    const page = await fetch(pageUrl);
    const html = await page.text();
    const form = /<form method="post" action="([^"]+)" data-sandbox-form>([\s\S]*?)<\/form>/.exec(html)!;
    const fields = Object.fromEntries([...form[2]!.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map((m) => [m[1]!, decode(m[2]!)]));
    const paid = await postForm(new URL(form[1]!, live.base).toString(), { ...fields, payment_method: token });
    expect(paid.status, paid.html).to.equal(303);
    return paid.location!;
  }

  /** iyzico: the pay link -> the checkout form -> pay with a test card; answers the return form (not yet posted). */
  async function payAtIyzico(goUrl: string, cardNumber: string): Promise<HtmlForm> {
    const go = await fetch(goUrl, { redirect: 'manual' });
    expect(go.status).to.equal(302);
    const pageUrl = go.headers.get('location')!;
    expect(pageUrl).to.match(new RegExp(`^${live.base}/sandbox/iyzico/checkout/`));
    const paid = await postForm(pageUrl, { cardHolderName: 'Ayşe Yılmaz', cardNumber, expireMonth: '12', expireYear: '2030', cvc: '123' });
    expect(paid.status, paid.html).to.equal(200);
    return formIn(paid.html, 'iyzico-return-form');
  }

  const stripeWebhook = (accountId: string, paymentId: string, type: string) =>
    eventually(`${type} webhook for ${paymentId}`, async () => {
      const rows = await db().select().from(gatewayWebhooks).where(and(eq(gatewayWebhooks.gatewayAccountId, accountId), eq(gatewayWebhooks.type, type)));
      return rows.find((r) => r.payload.includes(paymentId) && r.processedAt !== null);
    });

  // --- agency orders, through the platform's Stripe ----------------------------------------------

  describe('an agency top-up paid through the platform\'s Stripe', () => {
    let paymentId: string;
    let callbackUrl: string;
    let platformAccountId: string;

    it('is granted once: pay link -> Stripe card page -> callback -> the pool is topped up', async () => {
      platformAccountId = (await db().select().from(gatewayAccounts).where(eq(gatewayAccounts.sellerKey, 'platform')))[0]!.id;
      const before = await poolBalance();
      const order = await api().post('/api/v1/orders').set(bearer(w.a.key)).send({ kind: 'topup', topupPackageId: topupId }).expect(201);
      const goUrl = order.body.checkoutUrl as string;
      expect(goUrl).to.match(new RegExp(`^${live.base}/payments/go/pay_\\w+\\?sig=`));
      paymentId = /go\/(pay_\w+)/.exec(goUrl)![1]!;
      expect(await paymentRow(paymentId)).to.include({ gateway: 'stripe', gatewayAccountId: platformAccountId, status: 'pending' });
      callbackUrl = await payAtStripe(goUrl, 'pm_card_visa');
      expect(callbackUrl).to.match(new RegExp(`^${live.base}/payments/callback/${paymentId}\\?`));
      const back = await fetch(callbackUrl);
      const html = await back.text();
      expect(back.status, html).to.equal(200);
      expect(html).to.contain('Payment confirmed');
      expect(await paymentRow(paymentId)).to.include({ status: 'confirmed', amountMinor: 1000, currency: 'USD' });
      expect(await poolBalance()).to.equal(before + 2000);
      const [o] = await db().select().from(agencyOrders).where(eq(agencyOrders.id, (await paymentRow(paymentId)).referenceId));
      expect(o!.status).to.not.equal('pending');
    });

    it('a replayed callback and a replayed webhook change nothing', async () => {
      const before = await poolBalance();
      const again = await fetch(callbackUrl);
      const html = await again.text();
      expect(again.status).to.equal(200);
      expect(html).to.contain('already settled');
      const hook = await stripeWebhook(platformAccountId, paymentId, 'payment_intent.succeeded');
      const replay = await fetch(`${live.base}/webhooks/${platformAccountId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': hook.headers['stripe-signature']! }, body: hook.payload });
      expect(replay.status).to.equal(200);
      expect(await replay.json()).to.deep.include({ duplicate: true, applied: false });
      expect(await db().select().from(gatewayWebhooks).where(eq(gatewayWebhooks.eventId, hook.eventId))).to.have.length(1);
      expect(await confirmations(paymentId)).to.have.length(1);
      expect(await poolBalance()).to.equal(before);
    });

    it('a Stripe webhook with a bad signature is refused (400) and nothing is stored', async () => {
      const hook = await stripeWebhook(platformAccountId, paymentId, 'payment_intent.succeeded');
      const count = async () => (await db().select().from(gatewayWebhooks)).length;
      const stored = await count();
      const forged = hook.payload.replace('"evt_', '"evt_forged');
      const now = Math.floor(Date.now() / 1000);
      const attempts: [string, Record<string, string>][] = [
        [forged, { 'stripe-signature': hook.headers['stripe-signature']! }],
        [hook.payload.replace(hook.eventId, `${hook.eventId}x`), { 'stripe-signature': stripeSignatureHeader(hook.payload, 'whsec_NotTheSecret00000000', now) }],
        [hook.payload, {}],
        ['not json at all', { 'stripe-signature': stripeSignatureHeader('not json at all', PLATFORM_STRIPE.webhookSecret, now - 3600) }],
      ];
      for (const [body, headers] of attempts) {
        const res = await fetch(`${live.base}/webhooks/${platformAccountId}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
        expect(res.status, body.slice(0, 40)).to.equal(400);
      }
      expect(await count()).to.equal(stored);
    });

    it('a webhook for another seller\'s order is stored but never applied', async () => {
      // Agency B sets up Stripe; a correctly signed event at B's endpoint names the platform's pending order.
      await useGateway(w.b.id, { kind: 'stripe', ...B_STRIPE });
      const bAccount = (await db().select().from(gatewayAccounts).where(eq(gatewayAccounts.sellerAgencyId, w.b.id)))[0]!;
      const order = await api().post('/api/v1/orders').set(bearer(w.a.key)).send({ kind: 'topup', topupPackageId: topupId }).expect(201);
      const pending = /go\/(pay_\w+)/.exec(order.body.checkoutUrl as string)![1]!;
      const event = {
        id: `evt_${newId('x')}`, object: 'event', type: 'payment_intent.succeeded', api_version: '2025-01-27.acacia', created: Math.floor(Date.now() / 1000),
        data: { object: { id: 'pi_foreign000001', object: 'payment_intent', amount: 1000, amount_received: 1000, currency: 'usd', status: 'succeeded', metadata: { kontor_payment_id: pending } } },
      };
      const body = JSON.stringify(event);
      const res = await fetch(`${live.base}/webhooks/${bAccount.id}`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignatureHeader(body, B_STRIPE.webhookSecret, Math.floor(Date.now() / 1000)) }, body });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.include({ applied: false });
      const [row] = await db().select().from(gatewayWebhooks).where(eq(gatewayWebhooks.eventId, event.id));
      expect(row!.processedAt).to.equal(null);
      expect(row!.error).to.contain('no payment of this seller');
      expect(await paymentRow(pending)).to.include({ status: 'pending' });
      // The reconciliation job retries it later, and still never applies it to the platform's order.
      live.deps.testClock.advance(2 * 60_000);
      await reconcilePayments(live.deps);
      expect(await paymentRow(pending)).to.include({ status: 'pending' });
    });

    it('a stored webhook that failed to apply is applied later by reconciliation, once', async () => {
      const before = await poolBalance();
      const order = await api().post('/api/v1/orders').set(bearer(w.a.key)).send({ kind: 'topup', topupPackageId: topupId }).expect(201);
      const pending = /go\/(pay_\w+)/.exec(order.body.checkoutUrl as string)![1]!;
      const event = {
        id: `evt_${newId('x')}`, object: 'event', type: 'payment_intent.succeeded', api_version: '2025-01-27.acacia', created: Math.floor(Date.now() / 1000),
        data: { object: { id: 'pi_stored00000001', object: 'payment_intent', amount: 1000, amount_received: 1000, currency: 'usd', status: 'succeeded', metadata: { kontor_payment_id: pending } } },
      };
      const body = JSON.stringify(event);
      const headers = { 'stripe-signature': stripeSignatureHeader(body, PLATFORM_STRIPE.webhookSecret, Math.floor(Date.now() / 1000)) };
      // What handleWebhook stores before applying, as left by a process that stopped in between.
      const account = (await db().select().from(gatewayAccounts).where(eq(gatewayAccounts.id, platformAccountId)))[0]!;
      const verified = await gatewayOf(live.deps, account).verifyWebhook(Buffer.from(body), headers);
      await db().insert(gatewayWebhooks).values({ id: newId('whk'), gatewayAccountId: platformAccountId, gateway: 'stripe', eventId: verified.eventId, type: verified.type, payload: body, headers, outcome: verified.outcome ?? null, receivedAt: live.deps.clock.now(), error: 'Connection terminated unexpectedly' });
      expect((await reconcilePayments(live.deps)).webhooks).to.equal(0); // less than a minute old: its delivery may still be running
      live.deps.testClock.advance(2 * 60_000);
      expect((await reconcilePayments(live.deps)).webhooks).to.equal(1);
      const [row] = await db().select().from(gatewayWebhooks).where(eq(gatewayWebhooks.eventId, event.id));
      expect(row!.processedAt).to.not.equal(null);
      expect(row!.error).to.equal(null);
      expect(await paymentRow(pending)).to.include({ status: 'confirmed', gatewayReference: 'pi_stored00000001' });
      expect(await poolBalance()).to.equal(before + 2000);
      // Its redelivery is a duplicate.
      const res = await fetch(`${live.base}/webhooks/${platformAccountId}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      expect(await res.json()).to.deep.include({ duplicate: true });
      await reconcilePayments(live.deps);
      expect(await confirmations(pending)).to.have.length(1);
      expect(await poolBalance()).to.equal(before + 2000);
    });

    it('the platform refunds it at Stripe through the API, audit-logged', async () => {
      const res = await api().post(`/api/v1/payments/${paymentId}/refund`).set(bearer(w.platformKey)).send({ reason: 'ordered twice' }).expect(200);
      expect(res.body).to.include({ status: 'refunded', refundedMinor: 1000 });
      const [audit] = await db().select().from(auditLog).where(and(eq(auditLog.action, 'payment.refunded'), eq(auditLog.targetId, paymentId)));
      expect(audit!.data).to.include({ gateway: 'stripe', amountMinor: 1000, reason: 'ordered twice' });
      expect((audit!.data as { gatewayReference: string }).gatewayReference).to.match(/^re_/);
      // Stripe itself reports the charge refunded.
      await stripeWebhook(platformAccountId, (await paymentRow(paymentId)).gatewayReference!, 'charge.refunded');
    });
  });

  // --- NestPay (agency A), callbacks -------------------------------------------------------------

  describe('NestPay callbacks', () => {
    before(async () => {
      await useGateway(w.a.id, { kind: 'nestpay', ...NESTPAY });
    });

    it('a tampered callback is refused (400): nothing granted, the payment still pending, the rejection kept', async () => {
      const before = await subBalance();
      const { paymentId, goUrl } = await portalBuy();
      const back = await payAtBank(goUrl, { tamper: true });
      const res = await postForm(back.action, back.fields);
      expect(res.status).to.equal(400);
      expect(res.html).to.contain('could not be verified');
      expect(await paymentRow(paymentId)).to.include({ status: 'pending' });
      expect((await purchaseOf(paymentId)).status).to.equal('pending_payment');
      const events = await db().select().from(paymentEvents).where(eq(paymentEvents.paymentId, paymentId));
      const rejected = events.filter((e) => (e.raw as { rejected?: string } | null)?.rejected);
      expect(rejected).to.have.length(1);
      expect((rejected[0]!.raw as { body: Record<string, string> }).body.HASH).to.equal(back.fields.HASH);
      expect(await subBalance()).to.equal(before);

      // The bank did take the money: the buyer opens the same pay link again and pays again. The
      // bank refuses the duplicate order id, and Kontor asks it: the sale it holds is confirmed, once.
      const again = await payAtBank(goUrl);
      expect(again.fields.ProcReturnCode).to.equal('99');
      const res2 = await postForm(again.action, again.fields);
      expect(res2.status, res2.html).to.equal(200);
      expect(res2.html).to.contain('Payment confirmed');
      expect(await paymentRow(paymentId)).to.include({ status: 'confirmed', amountMinor: 9990 });
      expect(await grantsOf(paymentId)).to.have.length(1);
      expect(await subBalance()).to.equal(before + 500);
    });

    it('a callback with a repeated field reaches the verifier as sent and is refused; the genuine one is then applied', async () => {
      const before = await subBalance();
      const { paymentId, goUrl } = await portalBuy();
      const back = await payAtBank(goUrl);
      // Every genuine field, plus a second "amount": a copy the hash does not cover.
      const doubled = new URLSearchParams(back.fields);
      doubled.append('amount', '0.01');
      const res = await fetch(back.action, { method: 'POST', body: doubled, redirect: 'manual' });
      expect(res.status).to.equal(400);
      expect(await res.text()).to.contain('is not a single text value');
      expect(await paymentRow(paymentId)).to.include({ status: 'pending' });
      expect(await subBalance()).to.equal(before);
      const genuine = await postForm(back.action, back.fields);
      expect(genuine.status, genuine.html).to.equal(200);
      expect(await paymentRow(paymentId)).to.include({ status: 'confirmed' });
      expect(await subBalance()).to.equal(before + 500);
    });

    it('a replayed callback is applied once', async () => {
      const before = await subBalance();
      const { paymentId, goUrl } = await portalBuy();
      const back = await payAtBank(goUrl);
      const first = await postForm(back.action, back.fields);
      expect(first.status, first.html).to.equal(200);
      expect(first.html).to.contain('Payment confirmed');
      const second = await postForm(back.action, back.fields);
      expect(second.status).to.equal(200);
      expect(second.html).to.contain('already settled');
      expect(await subBalance()).to.equal(before + 500);
      expect(await confirmations(paymentId)).to.have.length(1);
      expect(await grantsOf(paymentId)).to.have.length(1);
      expect((await purchaseOf(paymentId)).status).to.equal('granted');
    });

    for (const [name, opts, reason] of [
      ['a declined card', { pan: card('decline') }, 'Do not honour'],
      ['a failed 3D Secure step', { pan: card('approve'), password: 'wrong' }, '3D'],
    ] as const) {
      it(`${name} fails the payment with the bank's message and grants nothing`, async () => {
        const before = await subBalance();
        const { paymentId, goUrl } = await portalBuy();
        const back = await payAtBank(goUrl, opts);
        const res = await postForm(back.action, back.fields);
        expect(res.status).to.equal(402);
        expect(res.html).to.contain('Payment not completed');
        const p = await paymentRow(paymentId);
        expect(p.status).to.equal('failed');
        expect(p.failureReason).to.contain(reason);
        expect((await purchaseOf(paymentId)).status).to.equal('payment_failed');
        expect(await subBalance()).to.equal(before);
      });
    }

    it('an amount or a currency in a correctly hashed callback that differs from the order fails the payment: nothing granted', async () => {
      for (const change of [{ amount: '1.00' }, { currency: '840' }] as Record<string, string>[]) {
        const before = await subBalance();
        const { paymentId, goUrl } = await portalBuy();
        const back = await payAtBank(goUrl);
        const { HASH: _h, encoding: _e, ...rest } = back.fields;
        const fields = { ...rest, ...change };
        const res = await postForm(back.action, { ...fields, HASH: nestpayHashV3(fields, NESTPAY.storeKey), encoding: 'UTF-8' });
        expect(res.status, JSON.stringify(change)).to.equal(402);
        const p = await paymentRow(paymentId);
        expect(p.status).to.equal('failed');
        expect(p.failureReason).to.contain('amount_mismatch');
        expect(await subBalance()).to.equal(before);
      }
    });

    it('missing or malformed fields are refused (400) and logged, nothing granted', async () => {
      const { paymentId, goUrl } = await portalBuy();
      const back = await payAtBank(goUrl);
      const url = back.action;
      const { HASH, ...noHash } = back.fields;
      const { oid: _oid, ...noOid } = back.fields;
      const { mdStatus: _md, ...noMd } = back.fields;
      const bodies: Record<string, string>[] = [
        {},
        noHash,
        { ...back.fields, HASH: 'not-base64!' },
        { ...back.fields, HASH: `${HASH!.slice(0, -4)}AAA=` },
        noOid,
        noMd,
        { ...back.fields, amount: 'abc' },
      ];
      for (const body of bodies) {
        const res = await postForm(url, body);
        expect(res.status, JSON.stringify(Object.keys(body))).to.equal(400);
      }
      const get = await fetch(url);
      expect(get.status).to.equal(400);
      expect(await paymentRow(paymentId)).to.include({ status: 'pending' });
      const events = await db().select().from(paymentEvents).where(eq(paymentEvents.paymentId, paymentId));
      expect(events.filter((e) => (e.raw as { rejected?: string } | null)?.rejected)).to.have.length(bodies.length + 1);
      // The genuine answer still settles it afterwards.
      expect((await postForm(url, back.fields)).status).to.equal(200);
      expect(await paymentRow(paymentId)).to.include({ status: 'confirmed' });
    });

    it('an unknown order id is refused (404); a pay link with a bad signature too', async () => {
      const res = await postForm(`${live.base}/payments/callback/pay_doesnotexist`, { oid: 'pay_doesnotexist', HASH: 'x' });
      expect(res.status).to.equal(404);
      expect(res.html).to.contain('unknown');
      const { paymentId } = await portalBuy();
      expect((await fetch(`${live.base}/payments/go/${paymentId}?sig=forged`)).status).to.equal(404);
      expect((await fetch(`${live.base}/payments/go/pay_doesnotexist?sig=x`)).status).to.equal(404);
    });

    it('a callback for another order or another seller is refused: nothing granted', async () => {
      const before = await subBalance();
      const one = await portalBuy();
      const backOne = await payAtBank(one.goUrl);
      const two = await portalBuy();
      expect(two.paymentId).to.not.equal(one.paymentId);
      // Order one's genuine answer posted to order two's callback.
      expect((await postForm(`${live.base}/payments/callback/${two.paymentId}`, backOne.fields)).status).to.equal(400);
      // The answer re-signed with another seller's (agency B's) store key.
      const { HASH: _h, encoding: _e, ...rest } = backOne.fields;
      expect((await postForm(backOne.action, { ...rest, HASH: nestpayHashV3(rest, B_NESTPAY.storeKey), encoding: 'UTF-8' })).status).to.equal(400);
      // Agency A's bank answer posted to the platform's (Stripe) order.
      const order = await api().post('/api/v1/orders').set(bearer(w.a.key)).send({ kind: 'topup', topupPackageId: topupId }).expect(201);
      const platformPayment = /go\/(pay_\w+)/.exec(order.body.checkoutUrl as string)![1]!;
      expect((await postForm(`${live.base}/payments/callback/${platformPayment}`, backOne.fields)).status).to.equal(400);
      for (const id of [one.paymentId, two.paymentId, platformPayment]) expect((await paymentRow(id)).status).to.equal('pending');
      expect(await subBalance()).to.equal(before);
    });

    it('reconciliation settles a payment approved at the bank whose callback never arrived', async () => {
      const before = await subBalance();
      const { paymentId, goUrl } = await portalBuy();
      await payAtBank(goUrl); // the buyer closed the tab: the post-back is never posted
      expect((await reconcilePayments(live.deps)).payments).to.equal(0); // too recent to ask about
      expect(await paymentRow(paymentId)).to.include({ status: 'pending' });
      live.deps.testClock.advance(11 * 60_000);
      const r = await reconcilePayments(live.deps);
      expect(r.payments).to.be.at.least(1);
      expect(await paymentRow(paymentId)).to.include({ status: 'confirmed' });
      expect((await purchaseOf(paymentId)).status).to.equal('granted');
      expect(await subBalance()).to.be.at.least(before + 500);
      // Run again: settled once.
      await reconcilePayments(live.deps);
      expect(await confirmations(paymentId)).to.have.length(1);
      expect(await grantsOf(paymentId)).to.have.length(1);
    });

    it('the agency refunds a NestPay payment through the bank\'s XML API, audit-logged', async () => {
      const { paymentId, goUrl } = await portalBuy();
      const back = await payAtBank(goUrl);
      expect((await postForm(back.action, back.fields)).status).to.equal(200);
      const res = await api().post(`/api/v1/payments/${paymentId}/refund`).set(bearer(w.a.key)).send({ reason: 'client cancelled' }).expect(200);
      expect(res.body).to.include({ status: 'refunded', refundedMinor: 9990 });
      const [audit] = await db().select().from(auditLog).where(and(eq(auditLog.action, 'payment.refunded'), eq(auditLog.targetId, paymentId)));
      expect(audit!.data).to.include({ gateway: 'nestpay', amountMinor: 9990, reason: 'client cancelled' });
      // The bank has it: a second full refund is refused by the bank itself.
      const gw = gatewayOf(live.deps, (await db().select().from(gatewayAccounts).where(eq(gatewayAccounts.sellerAgencyId, w.a.id)))[0]!);
      const again = await gw.refund(await paymentRow(paymentId), 9990, 'x');
      expect(again.status).to.equal('failed');
      // Another agency cannot refund it.
      await api().post(`/api/v1/payments/${paymentId}/refund`).set(bearer(w.b.key)).send({ reason: 'x' }).expect(404);
    });
  });

  // --- iyzico (agency A): webhooks and refunds ---------------------------------------------------

  describe('iyzico', () => {
    let paymentId: string;
    before(async () => {
      await useGateway(w.a.id, { kind: 'iyzico', ...IYZICO });
    });

    it('a replayed webhook is applied once; the buyer\'s later callback changes nothing', async () => {
      const before = await subBalance();
      const buy = await portalBuy();
      paymentId = buy.paymentId;
      const accountId = (await paymentRow(paymentId)).gatewayAccountId!;
      const ret = await payAtIyzico(buy.goUrl, '4543590000000006');
      // The sandbox posts CHECKOUT_FORM_AUTH to the seller's webhook URL; it settles the payment.
      const hook = await eventually('the iyzico webhook', async () => {
        const rows = await db().select().from(gatewayWebhooks).where(eq(gatewayWebhooks.gatewayAccountId, accountId));
        return rows.find((r) => r.payload.includes(paymentId) && r.processedAt !== null);
      });
      expect(hook.type).to.equal('CHECKOUT_FORM_AUTH');
      expect(await paymentRow(paymentId)).to.include({ status: 'confirmed' });
      const replay = await fetch(`${live.base}/webhooks/${accountId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-iyz-signature-v3': hook.headers['x-iyz-signature-v3']! }, body: hook.payload });
      expect(replay.status).to.equal(200);
      expect(await replay.json()).to.deep.include({ duplicate: true });
      // A forged one is refused.
      const forged = await fetch(`${live.base}/webhooks/${accountId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-iyz-signature-v3': 'bad' }, body: hook.payload });
      expect(forged.status).to.equal(400);
      const back = await postForm(ret.action, ret.fields);
      expect(back.status).to.equal(200);
      expect(back.html).to.contain('already settled');
      expect(await db().select().from(gatewayWebhooks).where(eq(gatewayWebhooks.eventId, hook.eventId))).to.have.length(1);
      expect(await confirmations(paymentId)).to.have.length(1);
      expect(await grantsOf(paymentId)).to.have.length(1);
      expect(await subBalance()).to.equal(before + 500);
    });

    it('the agency refunds it at iyzico through the API, audit-logged', async () => {
      const res = await api().post(`/api/v1/payments/${paymentId}/refund`).set(bearer(w.a.key)).send({ reason: 'goodwill' }).expect(200);
      expect(res.body).to.include({ status: 'refunded', refundedMinor: 9990 });
      const [audit] = await db().select().from(auditLog).where(and(eq(auditLog.action, 'payment.refunded'), eq(auditLog.targetId, paymentId)));
      expect(audit!.data).to.include({ gateway: 'iyzico', amountMinor: 9990, reason: 'goodwill' });
      await api().post(`/api/v1/payments/${paymentId}/refund`).set(bearer(w.a.key)).send({ reason: 'again' }).expect(409);
    });

  });

  // --- Stripe (agency A): a gateway that keeps the buyer waiting -----------------------------------

  describe('Stripe, a payment still processing when the buyer comes back', () => {
    before(async () => {
      await useGateway(w.a.id, { kind: 'stripe', ...STRIPE });
    });

    it('nothing is granted on the buyer\'s return; the succeeded webhook grants it once', async () => {
      const before = await subBalance();
      const { paymentId, goUrl } = await portalBuy();
      const callbackUrl = await payAtStripe(goUrl, 'pm_card_sandboxTimeout');
      expect(new URL(callbackUrl).searchParams.get('redirect_status')).to.equal('processing');
      const back = await fetch(callbackUrl);
      const html = await back.text();
      expect(back.status).to.equal(200);
      expect(html).to.contain('Payment processing');
      expect(await paymentRow(paymentId)).to.include({ status: 'pending' });
      expect(await subBalance()).to.equal(before);
      // The webhook confirms the payment, then grants the purchase: wait for the grant itself.
      await eventually('the purchase granted after its webhook', async () => (await paymentRow(paymentId)).status === 'confirmed' && (await grantsOf(paymentId)).length > 0);
      expect(await grantsOf(paymentId)).to.have.length(1);
      expect(await subBalance()).to.equal(before + 500);
    });
  });
});

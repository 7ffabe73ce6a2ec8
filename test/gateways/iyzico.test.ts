// iyzico end to end: the real iyzipay client against the offline sandbox over real HTTP, the
// sandbox's pages driven like a browser (fetch, then headless Chromium), callbacks, stored cards,
// idempotent charges and refunds, signed webhooks, and credential validation.
import { paymentRow } from '../support/payment-row';
import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import Iyzipay from 'iyzipay';
import helmet from 'helmet';
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '../../src/lib/ids';
import { ValidationError } from '../../src/lib/errors';
import {
  GatewayError,
  GatewayTimeoutError,
  type Payment,
  type PaymentGateway,
  type SavedMethodInfo,
  type SavedMethodRef,
  type StartContext,
  type VerifiedOutcome,
} from '../../src/payments/gateway';
import { iyzicoApiUri, iyzicoRegistration, IYZICO_SANDBOX_3DS_PASSWORD, IYZICO_TEST_CARD_NUMBERS } from '../../src/gateways/iyzico';
import { createIyzicoSandbox, createIyzicoSandboxStore, type IyzicoSandboxStore } from '../../sandboxes';
import type { IyzicoSandboxMerchant } from '../../sandboxes';
import { iyzicoAuthorizationV2, iyzicoWebhookSignatureV3 } from '../../src/gateways/iyzico/signature';
import { parseIyzicoPrice, toIyzicoPrice } from '../../src/gateways/iyzico/price';
import { listen } from '../support/server';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium } from '../support/browser';
import { requireOrSkip } from '../support/env';
import { localize, tFor } from '../../src/i18n/i18n';

const VISA = '4543590000000006';
const MASTERCARD = '5528790000000008';
const DECLINED = '4111111111111129';
const THREEDS = '4766620000000001';
const SLOW = '4190000000000002';
const FAIL = '4191000000000001';
const TAMPER = '4192000000000000';

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError, but it resolved');
}

const successes = (store: IyzicoSandboxStore, basketId: string) =>
  [...store.payments.values()].filter((p) => p.basketId === basketId && p.status === 'SUCCESS');

describe('iyzico gateway against the sandbox', function () {
  let w: IyzicoWorld;
  before(async () => {
    w = await startIyzicoWorld();
  });
  after(async () => {
    await w.close();
  });

  async function started(over: Partial<Payment> = {}, ctx: Partial<StartContext> = {}) {
    const payment = makePayment(w, over);
    const start = await w.gateway.start(payment, startContext(w, payment, ctx));
    if (start.kind !== 'redirect' || !start.gatewayReference) throw new Error('expected a redirect with a token');
    payment.gatewayReference = start.gatewayReference;
    return { payment, url: start.url, token: start.gatewayReference };
  }

  describe('checkout form', () => {
    it('starts with a redirect to the sandbox checkout page showing the amount', async () => {
      const { url, token, payment } = await started();
      expect(url).to.equal(`${w.base}/sandbox/iyzico/checkout/${token}`);
      const form = w.store.forms.get(token)!;
      expect(form.conversationId).to.equal(payment.id);
      expect(form.paidPriceMinor).to.equal(12550);
      expect(form.callbackUrl).to.equal(`${w.base}/payments/callback/${payment.id}`);
      const html = await (await fetch(url)).text();
      expect(html).to.include('SANDBOX - no real money');
      expect(html).to.include('TRY 125.50');
      expect(html).to.include('Gold package (credit package)');
      expect(html).to.not.match(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).to.not.match(/\son[a-z]+="/);
    });

    it('a paid form is reported approved with amount, currency and iyzico payment id, the same however often it is verified', async () => {
      const { payment, url, token } = await started({ amountMinor: 100, currency: 'USD' });
      const back = await payInSandbox(url, VISA);
      expect(back.status).to.equal(200);
      expect(back.returnForm.action).to.equal(`${w.base}/payments/callback/${payment.id}`);
      expect(back.returnForm.fields).to.deep.equal({ token });
      const outcome = back.body.outcome as VerifiedOutcome;
      expect(outcome).to.include({ paymentId: payment.id, approved: true, amountMinor: 100, currency: 'USD' });
      expect(outcome.gatewayReference).to.match(/^\d+$/);
      expect(outcome.savedMethod).to.equal(undefined);
      // A replayed callback verifies to the same data (the core applies it once) and charges nothing.
      const again = await w.gateway.verifyCallback(payment, { body: { token }, query: {} });
      expect(again).to.deep.equal(outcome);
      expect(successes(w.store, payment.id)).to.have.length(1);
    });

    it('a card saved in the form comes back as a stored card that can be charged off-session', async () => {
      const { payment, url } = await started({}, { saveMethod: true });
      const outcome = (await payInSandbox(url, MASTERCARD, { register: true })).body.outcome as VerifiedOutcome;
      expect(outcome.approved).to.equal(true);
      const saved = outcome.savedMethod!;
      expect(saved.customerRef).to.match(/^cuk_/);
      expect(saved.methodRef).to.match(/^ct_/);
      expect(saved).to.include({ brand: 'mastercard', last4: '0008' });

      const renewal = makePayment(w, { amountMinor: 9900 });
      const charge = await w.gateway.chargeOffSession({ payment: renewal, method: saved, idempotencyKey: `renew-${renewal.id}`, description: 'Renewal' });
      expect(charge.status).to.equal('succeeded');
      expect(successes(w.store, renewal.id)).to.have.length(1);
      expect(successes(w.store, payment.id)).to.have.length(1);
    });

    it('a saved card is offered again: the form carries its cardUserKey and a new card joins that card user', async () => {
      const first = await started();
      const saved = ((await payInSandbox(first.url, VISA, { register: true })).body.outcome as VerifiedOutcome).savedMethod!;
      const second = await started({}, { savedMethod: { customerRef: saved.customerRef, methodRef: saved.methodRef } });
      expect(w.store.forms.get(second.token)!.cardUserKey).to.equal(saved.customerRef);
      const again = ((await payInSandbox(second.url, MASTERCARD, { register: true })).body.outcome as VerifiedOutcome).savedMethod!;
      expect(again.customerRef).to.equal(saved.customerRef);
      expect(again.methodRef).to.not.equal(saved.methodRef);
    });

    it('a declined card is reported failed with the bank message, nothing charged', async () => {
      const { payment, url } = await started();
      const outcome = (await payInSandbox(url, DECLINED, { register: true })).body.outcome as VerifiedOutcome;
      expect(outcome).to.include({ paymentId: payment.id, approved: false, reason: 'Insufficient card limit, insufficient balance' });
      expect(outcome.pending).to.not.equal(true);
      expect(outcome.savedMethod).to.equal(undefined);
      expect(successes(w.store, payment.id)).to.have.length(0);
    });

    it('3-D Secure: the right password approves, a wrong one fails the payment', async () => {
      const ok = await started();
      const approved = (await payInSandbox(ok.url, THREEDS, { password: IYZICO_SANDBOX_3DS_PASSWORD })).body.outcome as VerifiedOutcome;
      expect(approved).to.include({ approved: true, amountMinor: 12550 });

      const bad = await started();
      const failed = (await payInSandbox(bad.url, THREEDS, { password: '000000' })).body.outcome as VerifiedOutcome;
      expect(failed.approved).to.equal(false);
      expect(failed.reason).to.match(/3-D Secure/);
      expect(successes(w.store, bad.payment.id)).to.have.length(0);
    });

    it('an unknown card number is refused on the page and nothing happens', async () => {
      const { url, token } = await started();
      const page = await fetch(url);
      const res = await submit(formIn(await page.text(), url, 'iyzico-card-form'), { cardNumber: '4242424242424242' });
      expect(res.status).to.equal(422);
      expect(res.text).to.include('Use one of the test cards');
      expect(w.store.forms.get(token)!.paymentId).to.equal(undefined);
    });

    it('refuses a tampered retrieve answer (wrong response signature)', async () => {
      const { payment, url } = await started();
      const back = await payInSandbox(url, TAMPER);
      expect(back.status).to.equal(400);
      expect(back.body.error).to.equal('invalid_callback');
      expect(back.body.message).to.match(/signature/);
      // The same token verified directly, too.
      const err = await rejection(w.gateway.verifyCallback(payment, { body: { token: payment.gatewayReference! }, query: {} }));
      expect(err.code).to.equal('invalid_callback');
    });

    it("refuses a callback whose token belongs to another payment, or that is missing or malformed", async () => {
      const paid = await started();
      await payInSandbox(paid.url, VISA);
      const other = makePayment(w);
      const cases: Record<string, string>[] = [{ token: paid.token }, {}, { token: '' }, { token: '../../etc' }, { token: `${paid.token}' or 1=1` }];
      for (const body of cases) {
        const err = await rejection(w.gateway.verifyCallback(other, { body, query: {} }));
        expect(err.code, JSON.stringify(body)).to.equal('invalid_callback');
      }
      const echoed = await rejection(w.gateway.verifyCallback(paid.payment, { body: { token: paid.token, conversationId: other.id }, query: {} }));
      expect(echoed.code).to.equal('invalid_callback');
    });

    it('refuses the same token verified with another merchant\'s credentials', async () => {
      const paid = await started();
      await payInSandbox(paid.url, VISA);
      const err = await rejection(w.otherGateway.verifyCallback(paid.payment, { body: { token: paid.token }, query: {} }));
      expect(err.code).to.equal('gateway_error');
    });

    it('a "fail" card makes the API answer an error: the callback is not trusted, retrieve says pending', async () => {
      const { payment, url } = await started();
      const back = await payInSandbox(url, FAIL);
      expect(back.body.error).to.equal('gateway_error');
      expect(back.body.message).to.match(/System error/);
      const outcome = await w.gateway.retrieve(payment);
      expect(outcome).to.include({ paymentId: payment.id, approved: false, pending: true });
      expect(successes(w.store, payment.id)).to.have.length(0);
    });

    it('a callback before the buyer paid is an API error, and retrieve reports pending', async () => {
      const { payment, token } = await started();
      const err = await rejection(w.gateway.verifyCallback(payment, { body: { token }, query: {} }));
      expect(err.code).to.equal('gateway_error');
      expect((await w.gateway.retrieve(payment)).pending).to.equal(true);
    });

    it('a slow first answer times out; verifying again gets the recorded result', async () => {
      const { payment, url, token } = await started();
      const back = await payInSandbox(url, SLOW);
      expect(back.body.error).to.equal('gateway_timeout');
      const outcome = await w.gateway.verifyCallback(payment, { body: { token }, query: {} });
      expect(outcome).to.include({ approved: true, amountMinor: 12550 });
      expect(successes(w.store, payment.id)).to.have.length(1);
      await sleep(1300); // let the sandbox finish its delayed answer before the server closes
    });
  });

  describe('authentication of API calls', () => {
    it('the sandbox refuses a wrong secret key, an unknown API key, and a body changed after signing', async () => {
      const wrongSecret = w.gatewayWith({ apiKey: MERCHANT.apiKey, secretKey: 'not-the-secret' });
      const payment = makePayment(w);
      expect((await rejection(wrongSecret.start(payment, startContext(w, payment)))).code).to.equal('gateway_auth_failed');
      const unknown = w.gatewayWith({ apiKey: 'sandbox-nobody', secretKey: 'x' });
      const err = await rejection(unknown.start(payment, startContext(w, payment)));
      expect(err.code).to.equal('gateway_auth_failed');
      expect(err.message).to.match(/1001/);

      const uriPath = '/payment/detail';
      const signedBody = JSON.stringify({ locale: 'en', paymentId: '1' });
      const randomKey = 'abc123';
      const authorization = iyzicoAuthorizationV2({ ...MERCHANT, randomKey, uriPath, body: signedBody });
      const send = (body: string, rnd = randomKey) =>
        fetch(`${w.base}/sandbox/iyzico${uriPath}`, { method: 'POST', headers: { Authorization: authorization, 'x-iyzi-rnd': rnd, 'Content-Type': 'application/json' }, body });
      const honest = (await (await send(signedBody)).json()) as Record<string, unknown>;
      expect(honest.errorCode).to.equal('SBX_PAYMENT_NOT_FOUND'); // authenticated, just unknown
      const tampered = (await (await send(JSON.stringify({ locale: 'en', paymentId: '2' }))).json()) as Record<string, unknown>;
      expect(tampered).to.include({ status: 'failure', errorCode: '1000' });
      const otherRnd = (await (await send(signedBody, 'other')).json()) as Record<string, unknown>;
      expect(otherRnd.errorCode).to.equal('1000');
      const none = (await (await fetch(`${w.base}/sandbox/iyzico${uriPath}`, { method: 'POST', body: signedBody })).json()) as Record<string, unknown>;
      expect(none.errorCode).to.equal('1000');
    });
  });

  describe('stored cards and off-session charges', () => {
    const customer = { id: 'sub_42', name: 'Mehmet Demir', email: 'mehmet@example.com' };
    let visa: SavedMethodInfo;
    before(async () => {
      visa = await w.gateway.saveTestCard(customer, 'visa');
    });

    it('saves the documented test cards through the card storage API', async () => {
      expect(visa.customerRef).to.match(/^cuk_/);
      expect(visa.methodRef).to.match(/^ct_approve_/);
      expect(visa).to.include({ brand: 'visa', last4: IYZICO_TEST_CARD_NUMBERS.visa.slice(-4), expMonth: 12 });
      const declined = await w.gateway.saveTestCard(customer, 'declined');
      expect(declined.customerRef).to.equal(visa.customerRef);
      expect(declined.methodRef).to.match(/^ct_decline_/);
    });

    it('charges a saved visa once per idempotency key', async () => {
      const payment = makePayment(w, { amountMinor: 4999, currency: 'EUR' });
      const key = `charge-${payment.id}`;
      const first = await w.gateway.chargeOffSession({ payment, method: visa, idempotencyKey: key, description: 'Monthly renewal' });
      expect(first.status).to.equal('succeeded');
      const again = await w.gateway.chargeOffSession({ payment, method: visa, idempotencyKey: key, description: 'Monthly renewal' });
      expect(again.status).to.equal('succeeded');
      if (first.status !== 'succeeded' || again.status !== 'succeeded') return;
      expect(again.gatewayReference).to.equal(first.gatewayReference);
      expect(successes(w.store, payment.id)).to.have.length(1);
      expect(successes(w.store, payment.id)[0]!.paidPriceMinor).to.equal(4999);
    });

    it('a declined card is declined with the bank message, nothing charged', async () => {
      const method = await w.gateway.saveTestCard(customer, 'declined');
      const payment = makePayment(w);
      const result = await w.gateway.chargeOffSession({ payment, method, idempotencyKey: `k-${payment.id}`, description: 'x' });
      expect(result).to.include({ status: 'declined', reason: 'Insufficient card limit, insufficient balance' });
      expect(successes(w.store, payment.id)).to.have.length(0);
    });

    it('a card that needs 3-D Secure requires action off-session', async () => {
      const method = await w.gateway.saveTestCard(customer, '3ds');
      expect(method.brand).to.equal('visa');
      const payment = makePayment(w);
      const result = await w.gateway.chargeOffSession({ payment, method, idempotencyKey: `k-${payment.id}`, description: 'x' });
      expect(result.status).to.equal('requires_action');
      expect(successes(w.store, payment.id)).to.have.length(0);
    });

    it('times out, and a retry with the same key returns the recorded payment: exactly one charge', async () => {
      const method = await w.gateway.saveTestCard(customer, 'timeout');
      const payment = makePayment(w);
      const req = { payment, method, idempotencyKey: `k-${payment.id}`, description: 'x' };
      const err = await rejection(w.gateway.chargeOffSession(req));
      expect(err).to.be.instanceOf(GatewayTimeoutError);
      expect(successes(w.store, payment.id)).to.have.length(1); // charged although the client gave up
      const retry = await w.gateway.chargeOffSession(req);
      expect(retry.status).to.equal('succeeded');
      if (retry.status === 'succeeded') expect(retry.gatewayReference).to.equal(successes(w.store, payment.id)[0]!.paymentId);
      expect(successes(w.store, payment.id)).to.have.length(1);
      await sleep(1300);
    });

    it('a tampered charge answer is refused', async () => {
      // A stored "tamper" card (sandbox-only) through the card storage API itself.
      const payment = makePayment(w);
      const tamper = await storeCardNumber(w, TAMPER);
      const err = await rejection(w.gateway.chargeOffSession({ payment, method: tamper, idempotencyKey: `k-${payment.id}`, description: 'x' }));
      expect(err.code).to.equal('invalid_response');
    });

    it('tokens are stateless (a restarted sandbox still charges them) and bound to the merchant and card user', async () => {
      const restarted = await startIyzicoWorld();
      try {
        const payment = makePayment(restarted);
        const ok = await restarted.gateway.chargeOffSession({ payment, method: visa, idempotencyKey: `k-${payment.id}`, description: 'x' });
        expect(ok.status).to.equal('succeeded');
        const foreign = await rejection(restarted.otherGateway.chargeOffSession({ payment, method: visa, idempotencyKey: `k2-${payment.id}`, description: 'x' }));
        expect(foreign.code).to.equal('gateway_error');
        const wrongUser = await rejection(
          restarted.gateway.chargeOffSession({ payment, method: { customerRef: 'cuk_someoneelse', methodRef: visa.methodRef }, idempotencyKey: `k3-${payment.id}`, description: 'x' }),
        );
        expect(wrongUser.code).to.equal('gateway_error');
        expect(successes(restarted.store, payment.id)).to.have.length(1);
      } finally {
        await restarted.close();
      }
    });

    it('saveTestCard refuses production mode', async () => {
      const prod = iyzicoRegistration.create(MERCHANT, { mode: 'production', sandboxUrl: null, timeoutMs: 100 });
      expect((await rejection(prod.saveTestCard(customer, 'visa'))).code).to.equal('test_mode_only');
    });
  });

  describe('refunds', () => {
    it('refunds part of an approved payment once per key, and refuses more than was paid', async () => {
      const { payment, url } = await started({ amountMinor: 10000 });
      const outcome = (await payInSandbox(url, VISA)).body.outcome as VerifiedOutcome;
      payment.gatewayReference = outcome.gatewayReference!;
      const first = await w.gateway.refund(payment, 2550, `refund-${payment.id}-1`);
      expect(first.status).to.equal('succeeded');
      const replay = await w.gateway.refund(payment, 2550, `refund-${payment.id}-1`);
      expect(replay).to.deep.equal(first);
      const record = w.store.payments.get(outcome.gatewayReference!)!;
      expect(record.refundedMinor).to.equal(2550);
      const tooMuch = await w.gateway.refund(payment, 7451, `refund-${payment.id}-2`);
      expect(tooMuch.status).to.equal('failed');
      expect(record.refundedMinor).to.equal(2550);
      const rest = await w.gateway.refund(payment, 7450, `refund-${payment.id}-3`);
      expect(rest.status).to.equal('succeeded');
      expect(record.refundedMinor).to.equal(10000);
    });

    it('needs the iyzico payment id', async () => {
      const payment = makePayment(w, { gatewayReference: null });
      expect((await rejection(w.gateway.refund(payment, 100, 'k'))).code).to.equal('no_gateway_reference');
    });
  });

  describe('retrieve (reconciliation)', () => {
    it('by checkout form token, by iyzico payment id, and by conversation id', async () => {
      const { payment, url } = await started();
      const outcome = (await payInSandbox(url, VISA)).body.outcome as VerifiedOutcome;
      const byToken = await w.gateway.retrieve(payment);
      expect(byToken).to.include({ paymentId: payment.id, approved: true, amountMinor: 12550, currency: 'TRY', gatewayReference: outcome.gatewayReference });
      const byId = await w.gateway.retrieve({ ...payment, gatewayReference: outcome.gatewayReference! });
      expect(byId).to.include({ paymentId: payment.id, approved: true, amountMinor: 12550, currency: 'TRY' });
      const byConversation = await w.gateway.retrieve({ ...payment, gatewayReference: null });
      expect(byConversation).to.include({ paymentId: payment.id, approved: true });
    });

    it("refuses another payment's detail and reports an unknown one as pending", async () => {
      const { payment, url } = await started();
      const outcome = (await payInSandbox(url, VISA)).body.outcome as VerifiedOutcome;
      const other = makePayment(w, { gatewayReference: outcome.gatewayReference! });
      expect((await rejection(w.gateway.retrieve(other))).code).to.equal('invalid_response');
      const unknown = await w.gateway.retrieve(makePayment(w));
      expect(unknown).to.include({ approved: false, pending: true });
      expect(payment.id).to.not.equal(other.id);
    });

    it('a declined payment is reported failed', async () => {
      const { payment, url } = await started();
      await payInSandbox(url, DECLINED);
      expect(await w.gateway.retrieve(payment)).to.include({ approved: false, reason: 'Insufficient card limit, insufficient balance' });
    });
  });

  describe('webhooks', () => {
    async function webhookFor(match: (payload: Record<string, unknown>) => boolean): Promise<ReceivedWebhook> {
      for (let i = 0; i < 50; i++) {
        const hook = w.webhooks.find((h) => match(JSON.parse(h.raw.toString('utf8')) as Record<string, unknown>));
        if (hook) return hook;
        await sleep(50);
      }
      throw new Error('no webhook arrived');
    }

    it('a checkout form webhook verifies, with a stable event id and the retrieved outcome', async () => {
      const { payment, url, token } = await started();
      await payInSandbox(url, VISA, { register: true });
      const hook = await webhookFor((p) => p.token === token);
      expect(hook.headers['x-iyz-signature-v3']).to.match(/^[0-9a-f]{64}$/);
      const event = await w.gateway.verifyWebhook(hook.raw, hook.headers);
      expect(event.type).to.equal('CHECKOUT_FORM_AUTH');
      expect(event.outcome).to.include({ paymentId: payment.id, approved: true, amountMinor: 12550, currency: 'TRY' });
      expect(event.outcome!.savedMethod?.last4).to.equal('0006');
      const again = await w.gateway.verifyWebhook(Buffer.from(hook.raw), { ...hook.headers });
      expect(again.eventId).to.equal(event.eventId);
    });

    it('an off-session charge webhook names the Kontor payment (basketId), not the idempotency key', async () => {
      const method = await w.gateway.saveTestCard({ id: 'c', name: 'C D', email: 'c@example.com' }, 'visa');
      const payment = makePayment(w);
      await w.gateway.chargeOffSession({ payment, method, idempotencyKey: `idem-${payment.id}`, description: 'x' });
      const hook = await webhookFor((p) => p.paymentConversationId === `idem-${payment.id}`);
      const event = await w.gateway.verifyWebhook(hook.raw, hook.headers);
      expect(event.type).to.equal('API_AUTH');
      expect(event.outcome).to.include({ paymentId: payment.id, approved: true, amountMinor: 12550 });
    });

    it('refuses a forged, missing or mismatched signature, and a changed body', async () => {
      const { url, token } = await started();
      await payInSandbox(url, VISA);
      const hook = await webhookFor((p) => p.token === token);
      const payload = JSON.parse(hook.raw.toString('utf8')) as Record<string, unknown>;
      const forgedWithOtherKey = iyzicoWebhookSignatureV3(payload, 'guessed-secret');
      const changed = Buffer.from(JSON.stringify({ ...payload, status: 'FAILURE' }));
      const attempts: [Buffer, Record<string, string | undefined>][] = [
        [hook.raw, { 'x-iyz-signature-v3': forgedWithOtherKey }],
        [hook.raw, {}],
        [hook.raw, { 'x-iyz-signature-v3': '' }],
        [changed, hook.headers],
        [Buffer.from('not json'), hook.headers],
      ];
      for (const [raw, headers] of attempts) {
        const err = await rejection(w.gateway.verifyWebhook(raw, headers));
        expect(err.code).to.equal('invalid_signature');
      }
    });
  });
});

describe('iyzico checkout in headless Chromium', function () {
  let w: IyzicoWorld;
  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    w = await startIyzicoWorld({ csp: true, timeoutMs: 2000 });
  });
  after(async () => {
    await w?.close();
  });

  it('the buyer pays on the sandbox page, saves the card, and lands on the callback that verified the payment', async () => {
    const payment = makePayment(w, { amountMinor: 34900 });
    const start = await w.gateway.start(payment, startContext(w, payment, { saveMethod: true }));
    if (start.kind !== 'redirect') throw new Error('expected a redirect');
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
      });
      await page.goto(start.url);
      expect(await page.getByTestId('sandbox-banner').textContent()).to.include('SANDBOX - no real money');
      expect(await page.getByTestId('iyzico-amount').textContent()).to.include('TRY 349.00');
      // The "Use" button (sandbox-iyzico.js) fills the card number.
      await page.locator(`button[data-card-number="${THREEDS}"]`).click();
      expect(await page.getByTestId('iyzico-card-number').inputValue()).to.equal(THREEDS);
      await page.getByTestId('iyzico-register-card').check();
      await page.getByTestId('iyzico-pay').click();
      await page.getByTestId('iyzico-3ds-password').fill(IYZICO_SANDBOX_3DS_PASSWORD);
      // The return page submits itself (script file, no inline script) to the callback URL.
      await Promise.all([page.waitForURL(`${w.base}/payments/callback/${payment.id}`), page.getByTestId('iyzico-3ds-submit').click()]);
      const body = JSON.parse((await page.locator('body').textContent()) ?? '{}') as { outcome: VerifiedOutcome };
      expect(body.outcome).to.include({ paymentId: payment.id, approved: true, amountMinor: 34900, currency: 'TRY' });
      expect(body.outcome.savedMethod).to.include({ brand: 'visa', last4: '0001' });
      expect(problems, problems.join('\n')).to.deep.equal([]);
    } finally {
      await browser.close();
    }
  });

  it('a declined card in the browser ends at the callback reporting the failure', async () => {
    const payment = makePayment(w);
    const start = await w.gateway.start(payment, startContext(w, payment, { lang: 'tr' }));
    if (start.kind !== 'redirect') throw new Error('expected a redirect');
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(start.url);
      expect(await page.getByTestId('iyzico-amount').textContent()).to.include('TRY 125,50');
      await page.getByTestId('iyzico-card-number').fill(DECLINED);
      await Promise.all([page.waitForURL(`${w.base}/payments/callback/${payment.id}`), page.getByTestId('iyzico-pay').click()]);
      const body = JSON.parse((await page.locator('body').textContent()) ?? '{}') as { outcome: VerifiedOutcome };
      expect(body.outcome).to.include({ approved: false, reason: 'Insufficient card limit, insufficient balance' });
    } finally {
      await browser.close();
    }
  });
});

describe('iyzico registration', () => {
  const parse = iyzicoRegistration.parseCredentials;
  const fieldsOf = (fn: () => unknown): Record<string, string> => {
    try {
      fn();
    } catch (err) {
      // Field messages are read as an English reader reads them.
      if (err instanceof ValidationError) return Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [k, localize(tFor('en'), v)]));
      throw err;
    }
    throw new Error('expected a ValidationError');
  };

  it('describes its form: API key, secret key (secret), optional base URL', () => {
    expect(iyzicoRegistration.kind).to.equal('iyzico');
    expect(iyzicoRegistration.credentialFields.map((f) => [f.name, f.secret, f.required])).to.deep.equal([
      ['apiKey', false, true],
      ['secretKey', true, true],
      ['baseUrl', false, false],
    ]);
  });

  it('refuses missing or blank fields with one message per field', () => {
    expect(fieldsOf(() => parse({}, 'test'))).to.deep.equal({ apiKey: 'API key is required.', secretKey: 'Secret key is required.' });
    expect(fieldsOf(() => parse({ apiKey: '  ', secretKey: 'x' }, 'test'))).to.have.keys('apiKey');
    expect(fieldsOf(() => parse({ apiKey: 'a b', secretKey: 'x' }, 'test')).apiKey).to.match(/spaces/);
  });

  it('accepts test settings and trims; an empty base URL means iyzico', () => {
    expect(parse({ apiKey: ' sandbox-abc ', secretKey: 'sandbox-def', baseUrl: '' }, 'test')).to.deep.equal({ apiKey: 'sandbox-abc', secretKey: 'sandbox-def' });
    expect(parse({ apiKey: 'a', secretKey: 'b', baseUrl: 'http://proxy.local:8080/iyzico/' }, 'test')).to.deep.equal({
      apiKey: 'a',
      secretKey: 'b',
      baseUrl: 'http://proxy.local:8080/iyzico',
    });
    expect(fieldsOf(() => parse({ apiKey: 'a', secretKey: 'b', baseUrl: 'ftp://x' }, 'test'))).to.have.keys('baseUrl');
    expect(fieldsOf(() => parse({ apiKey: 'a', secretKey: 'b', baseUrl: 'not a url' }, 'test'))).to.have.keys('baseUrl');
  });

  it('production refuses a non-HTTPS base URL, iyzico sandbox keys and the sandbox host', () => {
    expect(fieldsOf(() => parse({ apiKey: 'live-a', secretKey: 'live-b', baseUrl: 'http://api.iyzipay.com' }, 'production')).baseUrl).to.match(/HTTPS/);
    expect(fieldsOf(() => parse({ apiKey: 'sandbox-a', secretKey: 'sandbox-b' }, 'production'))).to.have.keys('apiKey', 'secretKey');
    expect(fieldsOf(() => parse({ apiKey: 'live-a', secretKey: 'live-b', baseUrl: 'https://sandbox-api.iyzipay.com' }, 'production'))).to.have.keys('baseUrl');
    expect(parse({ apiKey: 'live-a', secretKey: 'live-b', baseUrl: 'https://api.iyzipay.com' }, 'production')).to.deep.equal({
      apiKey: 'live-a',
      secretKey: 'live-b',
      baseUrl: 'https://api.iyzipay.com',
    });
  });

  it('create refuses stored credentials without keys, and a non-HTTPS base URL in production', () => {
    expect(() => iyzicoRegistration.create({ apiKey: 'a' }, { mode: 'test', sandboxUrl: null, timeoutMs: 100 })).to.throw(ValidationError);
    expect(() => iyzicoRegistration.create({ apiKey: 'a', secretKey: 'b', baseUrl: 'http://x' }, { mode: 'production', sandboxUrl: null, timeoutMs: 100 })).to.throw(ValidationError);
  });

  it('talks to the sandbox in test mode when there is one, else to iyzico', () => {
    const c = { apiKey: 'a', secretKey: 'b' };
    expect(iyzicoApiUri(c, 'test', 'http://127.0.0.1:3000/')).to.equal('http://127.0.0.1:3000/sandbox/iyzico');
    expect(iyzicoApiUri(c, 'test', null)).to.equal('https://sandbox-api.iyzipay.com');
    expect(iyzicoApiUri(c, 'production', null)).to.equal('https://api.iyzipay.com');
    expect(iyzicoApiUri({ ...c, baseUrl: 'https://proxy.example/iyzico' }, 'production', null)).to.equal('https://proxy.example/iyzico');
  });
});

describe('iyzico prices', () => {
  it('formats minor units with two decimals', () => {
    expect([0, 5, 100, 12550, 100_000_000_000].map(toIyzicoPrice)).to.deep.equal(['0.00', '0.05', '1.00', '125.50', '1000000000.00']);
    expect(() => toIyzicoPrice(1.5)).to.throw(RangeError);
    expect(() => toIyzicoPrice(-1)).to.throw(RangeError);
  });

  it('reads what iyzipay sends and iyzico answers, and refuses the rest', () => {
    const ok: [unknown, number][] = [['12.5', 1250], [12.5, 1250], ['12.50', 1250], ['100.0', 10000], [100, 10000], ['0.05', 5], [0.1, 10], ['1000000000.00', 100_000_000_000]];
    for (const [v, minor] of ok) expect(parseIyzicoPrice(v), String(v)).to.equal(minor);
    for (const v of ['', ' ', '-1', '1.005', '1e3', 1e21, '12,50', 'abc', null, undefined, NaN, Infinity, '.5', '5.']) {
      expect(parseIyzicoPrice(v), String(v)).to.equal(null);
    }
  });

  it('round-trips every amount through iyzipay\'s float formatting exactly', () => {
    // iyzipay's formatPrice: parseFloat(price).toString(); iyzico answers JSON numbers.
    for (let minor = 0; minor < 100_000; minor += 7) {
      const wire = parseFloat(toIyzicoPrice(minor)).toString();
      expect(parseIyzicoPrice(wire)).to.equal(minor);
      expect(parseIyzicoPrice(Number(wire))).to.equal(minor);
    }
  });
});

// ---------------------------------------------------------------------------
// The test world: the sandbox mounted where the core mounts it, a webhook receiver, and a
// merchant callback endpoint that runs verifyCallback.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const MERCHANT = { apiKey: 'sandbox-kontor-api-key', secretKey: 'sandbox-kontor-secret-key' };
const OTHER_MERCHANT = { apiKey: 'sandbox-other-api-key', secretKey: 'sandbox-other-secret-key' };

interface ReceivedWebhook {
  raw: Buffer;
  headers: Record<string, string | undefined>;
}

interface IyzicoWorld {
  base: string;
  store: IyzicoSandboxStore;
  gateway: PaymentGateway;
  otherGateway: PaymentGateway;
  webhooks: ReceivedWebhook[];
  /** Payments the callback endpoint knows (the core's payments table, in short). */
  payments: Map<string, Payment>;
  gatewayWith(credentials: Record<string, string>, timeoutMs?: number): PaymentGateway;
  close(): Promise<void>;
}

async function startIyzicoWorld(opts: { timeoutMs?: number; slowAnswerMs?: number; csp?: boolean } = {}): Promise<IyzicoWorld> {
  const store = createIyzicoSandboxStore();
  const webhooks: ReceivedWebhook[] = [];
  const payments = new Map<string, Payment>();
  let base = '';
  const merchants = new Map<string, IyzicoSandboxMerchant>();

  const app = express();
  app.use(
    '/sandbox/iyzico',
    createIyzicoSandbox({
      resolveMerchant: async (apiKey) => merchants.get(apiKey) ?? null,
      store,
      slowAnswerMs: opts.slowAnswerMs ?? 1200,
    }),
  );
  if (opts.csp) {
    // The app's own CSP, to prove the sandbox pages need no inline script.
    app.use(
      helmet({
        contentSecurityPolicy: {
          useDefaults: false,
          directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], formAction: ["'self'"], objectSrc: ["'none'"] },
        },
      }),
    );
  }
  app.use('/assets', express.static(path.join(root, 'public')));
  // The callback answers JSON, for which Chromium asks /favicon.ico.
  app.get('/favicon.ico', (_req, res) => {
    res.sendStatus(204);
  });
  app.use('/assets/vendor/pico', express.static(path.join(root, 'node_modules/@picocss/pico/css')));
  app.post('/webhooks/iyzico', express.raw({ type: () => true }), (req, res) => {
    webhooks.push({ raw: req.body as Buffer, headers: flatHeaders(req.headers) });
    res.sendStatus(200);
  });
  app.post('/payments/callback/:id', express.urlencoded({ extended: false }), async (req, res) => {
    const payment = payments.get(req.params.id);
    if (!payment) {
      res.status(404).json({ error: 'unknown payment' });
      return;
    }
    try {
      const outcome = await world.gateway.verifyCallback(payment, { body: req.body as Record<string, string>, query: req.query as Record<string, string> });
      res.json({ outcome });
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      res.status(400).json({ error: err.code, message: err.message });
    }
  });

  const server = await listen(app);
  base = server.base;
  merchants.set(MERCHANT.apiKey, { secretKey: MERCHANT.secretKey, webhookUrl: `${base}/webhooks/iyzico`, merchantId: 3382172 });
  merchants.set(OTHER_MERCHANT.apiKey, { secretKey: OTHER_MERCHANT.secretKey });

  const gatewayWith = (credentials: Record<string, string>, timeoutMs = opts.timeoutMs ?? 400) =>
    iyzicoRegistration.create(credentials, { mode: 'test', sandboxUrl: base, timeoutMs });
  const world: IyzicoWorld = {
    base,
    store,
    gateway: gatewayWith(MERCHANT),
    otherGateway: gatewayWith(OTHER_MERCHANT),
    webhooks,
    payments,
    gatewayWith,
    close: server.close,
  };
  return world;
}

function flatHeaders(h: IncomingHttpHeaders): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function makePayment(world: IyzicoWorld, over: Partial<Payment> = {}): Payment {
  const p = paymentRow({ id: newId('pay'), buyerSubAccountId: 'sub_buyer', purpose: 'package_purchase', referenceId: newId('pur'), gateway: 'iyzico', ...over });
  world.payments.set(p.id, p);
  return p;
}

function startContext(world: IyzicoWorld, payment: Payment, over: Partial<StartContext> = {}): StartContext {
  return {
    callbackUrl: `${world.base}/payments/callback/${payment.id}`,
    lang: 'en',
    description: 'Gold package (credit package)',
    buyer: { id: 'usr_buyer', name: 'Ayşe Yılmaz', email: 'ayse@example.com', ip: '203.0.113.7' },
    ...over,
  };
}

// ---- A browser, the fetch way: follow the forms the sandbox pages contain ---------------------

interface Form {
  action: string;
  fields: Record<string, string>;
}

const unescape = (v: string) => v.replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The first form (or the one with this data-testid) of a page, with its hidden and prefilled inputs. */
function formIn(html: string, pageUrl: string, testId?: string): Form {
  const re = /<form\b([^>]*)>([\s\S]*?)<\/form>/g;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const attrs = m[1]!;
    if (testId && !attrs.includes(`data-testid="${testId}"`)) continue;
    const action = /action="([^"]*)"/.exec(attrs)?.[1] ?? '';
    const fields: Record<string, string> = {};
    for (const input of m[2]!.matchAll(/<input\b([^>]*)>/g)) {
      const a = input[1]!;
      const name = /name="([^"]+)"/.exec(a)?.[1];
      if (!name || /type="checkbox"/.test(a)) continue;
      fields[name] = unescape(/value="([^"]*)"/.exec(a)?.[1] ?? '');
    }
    return { action: new URL(unescape(action), pageUrl).toString(), fields };
  }
  throw new Error(`no form${testId ? ` ${testId}` : ''} in page:\n${html.slice(0, 500)}`);
}

async function submit(form: Form, fields: Record<string, string> = {}): Promise<{ status: number; url: string; text: string }> {
  const res = await fetch(form.action, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...form.fields, ...fields }).toString(),
  });
  return { status: res.status, url: form.action, text: await res.text() };
}

/**
 * Opens the checkout page, pays with a card (and the 3-D Secure password when asked), then
 * follows the auto-submitting return page to the merchant's callback. Returns what the callback
 * endpoint answered (the verified outcome, or the refusal).
 */
async function payInSandbox(
  url: string,
  card: string,
  opts: { register?: boolean; password?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; returnForm: Form }> {
  const page = await fetch(url);
  if (page.status !== 200) throw new Error(`checkout page answered ${page.status}`);
  const cardForm = formIn(await page.text(), url, 'iyzico-card-form');
  let result = await submit(cardForm, { cardNumber: card, ...(opts.register ? { registerCard: 'on' } : {}) });
  if (result.text.includes('data-testid="iyzico-3ds-form"')) {
    result = await submit(formIn(result.text, result.url, 'iyzico-3ds-form'), { password: opts.password ?? '' });
  }
  const returnForm = formIn(result.text, result.url, 'iyzico-return-form');
  const back = await submit(returnForm);
  return { status: back.status, body: JSON.parse(back.text) as Record<string, unknown>, returnForm };
}

/** Stores any sandbox test card number through the real client's card storage call. */
async function storeCardNumber(world: IyzicoWorld, cardNumber: string): Promise<SavedMethodRef> {
  const sdk = new Iyzipay({ ...MERCHANT, uri: `${world.base}/sandbox/iyzico` });
  const res = await new Promise<Record<string, unknown>>((resolve, reject) =>
    sdk.card.create(
      { locale: 'en', email: 'tamper@example.com', card: { cardAlias: 'x', cardHolderName: 'T T', cardNumber, expireMonth: '12', expireYear: '2030' } },
      (err, result) => (err ? reject(err) : resolve(result as Record<string, unknown>)),
    ),
  );
  return { customerRef: String(res.cardUserKey), methodRef: String(res.cardToken) };
}

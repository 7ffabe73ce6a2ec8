import { expect } from 'chai';
import { ValidationError } from '../../src/lib/errors';
import { GatewayError, GatewayTimeoutError, type PaymentGateway } from '../../src/payments/gateway';
import { stripeRegistration } from '../../src/gateways/stripe';
import { stripeSignatureHeader } from '../../sandboxes';
import { OTHER_SELLER, SELLER, buyer, callbackUrl, gatewayFor, getPage, makePayment, payOnHostedPage, queryOf, startHarness, submit, waitFor, type Harness } from './stripe-harness';
import { localize, tFor } from '../../src/i18n/i18n';

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('Stripe gateway against the fake Stripe API (stripe-node over HTTP)', () => {
  let h: Harness;
  let gw: PaymentGateway;

  before(async () => {
    h = await startHarness({ hangMs: 1_500 });
    gw = gatewayFor(h);
  });
  after(async () => {
    await h.close();
  });

  const chargesOf = (paymentId: string) => h.sandbox.store.charges('acct_seller_a').filter((c) => (c.metadata as Record<string, string>).kontor_payment_id === paymentId);

  describe('credentials', () => {
    it('refuses missing fields, one message per field', () => {
      const err = (() => {
        try {
          stripeRegistration.parseCredentials({}, 'test');
        } catch (e) {
          return e;
        }
      })() as ValidationError;
      expect(err).to.be.instanceOf(ValidationError);
      expect(Object.keys(err.fields).sort()).to.deep.equal(['publishableKey', 'secretKey', 'webhookSecret']);
      expect(localize(tFor('en'), err.fields.secretKey!)).to.match(/Secret key is required/);
    });

    it('refuses malformed keys with a message saying what is expected', () => {
      expect(() => stripeRegistration.parseCredentials({ ...SELLER, secretKey: 'pk_test_123456789', webhookSecret: 'secret' }, 'test'))
        .to.throw(ValidationError)
        .with.property('fields')
        .that.has.keys('secretKey', 'webhookSecret');
    });

    it('refuses test keys in production and live keys in test mode', () => {
      const prod = (() => {
        try {
          stripeRegistration.parseCredentials(SELLER, 'production');
        } catch (e) {
          return e as ValidationError;
        }
      })();
      expect(prod?.fields.secretKey).to.match(/live secret key/);
      expect(prod?.fields.publishableKey).to.match(/live publishable key/);
      const live = { secretKey: 'sk_live_51Kontor00000000', publishableKey: 'pk_live_51Kontor00000000', webhookSecret: SELLER.webhookSecret };
      expect(() => stripeRegistration.parseCredentials(live, 'test')).to.throw(ValidationError).with.nested.property('fields.secretKey').that.matches(/Test mode needs a test secret key/);
      expect(stripeRegistration.parseCredentials({ ...live, secretKey: `  ${live.secretKey} ` }, 'production')).to.deep.equal(live);
      expect(() => stripeRegistration.create(SELLER, { mode: 'production', sandboxUrl: null, timeoutMs: 1000 })).to.throw(ValidationError);
    });

    it('marks the secret key and webhook secret as secrets', () => {
      const secrets = stripeRegistration.credentialFields.filter((f) => f.secret).map((f) => f.name);
      expect(secrets).to.deep.equal(['secretKey', 'webhookSecret']);
    });

    it('refuses a sandbox URL with a path (stripe-node has no base path)', () => {
      expect(() => stripeRegistration.create(SELLER, { mode: 'test', sandboxUrl: `${h.base}/sandbox`, timeoutMs: 1000 })).to.throw(GatewayError).with.property('code', 'invalid_sandbox_url');
    });

    it('a secret key the API does not know is a GatewayError, not a crash', async () => {
      const bad = gatewayFor(h, { ...SELLER, secretKey: 'sk_test_51UnknownKey0000000000' });
      const err = await rejection(bad.saveTestCard(buyer, 'visa'));
      expect(err).to.be.instanceOf(GatewayError).with.property('code', 'invalid_credentials');
    });
  });

  describe('hosted card page (buyer present)', () => {
    it('start -> card page -> Visa -> callback verified approved, with amount and currency', async () => {
      const payment = makePayment({ amountMinor: 12_550, currency: 'TRY' });
      const start = await gw.start(payment, { callbackUrl: callbackUrl(payment), lang: 'en', description: 'Top-up', buyer });
      expect(start.kind).to.equal('redirect');
      if (start.kind !== 'redirect') return;
      expect(start.gatewayReference).to.match(/^pi_/);
      expect(start.url).to.contain(`/sandbox/stripe/pay/${start.gatewayReference}`);
      const page = await getPage(start.url);
      expect(page.html).to.contain('SANDBOX - no real money');
      expect(page.html).to.contain('TRY 125.50');

      const { returnedTo, steps } = await payOnHostedPage(h.base, start.url, 'pm_card_visa');
      expect(steps).to.deep.equal(['pay']);
      expect(returnedTo.startsWith(callbackUrl(payment))).to.equal(true);
      const query = queryOf(returnedTo);
      expect(query).to.include({ payment_intent: start.gatewayReference, redirect_status: 'succeeded' });

      const outcome = await gw.verifyCallback({ ...payment, gatewayReference: start.gatewayReference! }, { query, body: {} });
      expect(outcome).to.deep.include({ paymentId: payment.id, approved: true, amountMinor: 12_550, currency: 'TRY', gatewayReference: start.gatewayReference });
      expect(outcome.savedMethod).to.equal(undefined);
      expect(chargesOf(payment.id)).to.have.length(1);

      // Replay-safe: the same return verified again reports the same outcome, and charges nothing.
      const again = await gw.verifyCallback(payment, { query, body: {} });
      expect(again).to.deep.equal(outcome);
      expect(chargesOf(payment.id)).to.have.length(1);
    });

    it('starting the same payment twice reuses one PaymentIntent (idempotency key per payment)', async () => {
      const payment = makePayment();
      const ctx = { callbackUrl: callbackUrl(payment), lang: 'en' as const, description: 'Top-up', buyer };
      const a = await gw.start(payment, ctx);
      const b = await gw.start(payment, ctx);
      expect(a.gatewayReference).to.be.a('string').and.equal(b.gatewayReference);
    });

    it('a declined card: the page shows the decline; the return reports failed with Stripe\'s message and the intent can no longer be paid', async () => {
      const payment = makePayment();
      const start = await gw.start(payment, { callbackUrl: callbackUrl(payment), lang: 'en', description: 'Top-up', buyer });
      if (start.kind !== 'redirect') throw new Error('expected a redirect');
      const page = await getPage(start.url);
      const declined = await submit(h.base, page.html, 'pay', { payment_method: 'pm_card_chargeDeclined' });
      expect(declined.status).to.equal(402);
      expect(declined.html).to.contain('Your card was declined.');

      const outcome = await gw.verifyCallback(payment, { query: { payment_intent: start.gatewayReference! }, body: {} });
      expect(outcome).to.deep.include({ approved: false, reason: 'Your card was declined.', amountMinor: payment.amountMinor, currency: 'TRY' });
      expect(outcome.pending).to.not.equal(true);

      // Made final at Stripe: another card on the same page is refused, nothing more is charged.
      const retry = await submit(h.base, (await getPage(start.url)).html, 'pay', { payment_method: 'pm_card_visa' }).catch(() => null);
      expect(retry).to.equal(null); // the page has no pay form any more
      expect((await getPage(start.url)).html).to.contain('canceled');
      expect(chargesOf(payment.id).map((c) => c.status)).to.deep.equal(['failed']);
    });

    it('a buyer who cancels on the page comes back to a failed payment', async () => {
      const payment = makePayment();
      const start = await gw.start(payment, { callbackUrl: callbackUrl(payment), lang: 'en', description: 'Top-up', buyer });
      if (start.kind !== 'redirect') throw new Error('expected a redirect');
      const res = await submit(h.base, (await getPage(start.url)).html, 'cancel');
      expect(res.status).to.equal(303);
      const query = queryOf(res.location!);
      expect(query.redirect_status).to.equal('failed');
      const outcome = await gw.verifyCallback(payment, { query, body: {} });
      expect(outcome).to.deep.include({ approved: false, reason: 'The payment was canceled.' });
      expect(chargesOf(payment.id)).to.have.length(0);
    });

    it('3D Secure: the card page redirects to the 3DS page; completing it approves the payment', async () => {
      const payment = makePayment({ currency: 'EUR', amountMinor: 999 });
      const start = await gw.start(payment, { callbackUrl: callbackUrl(payment), lang: 'en', description: 'Chatbots', buyer });
      if (start.kind !== 'redirect') throw new Error('expected a redirect');
      const { returnedTo, steps } = await payOnHostedPage(h.base, start.url, 'pm_card_authenticationRequired', 'complete');
      expect(steps).to.deep.equal(['pay', '3ds']);
      const outcome = await gw.verifyCallback(payment, { query: queryOf(returnedTo), body: {} });
      expect(outcome).to.deep.include({ approved: true, amountMinor: 999, currency: 'EUR' });
    });

    it('3D Secure failed: reported failed with Stripe\'s authentication message, nothing charged', async () => {
      const payment = makePayment();
      const start = await gw.start(payment, { callbackUrl: callbackUrl(payment), lang: 'en', description: 'Top-up', buyer });
      if (start.kind !== 'redirect') throw new Error('expected a redirect');
      const { returnedTo } = await payOnHostedPage(h.base, start.url, 'pm_card_authenticationRequired', 'fail');
      expect(queryOf(returnedTo).redirect_status).to.equal('failed');
      const outcome = await gw.verifyCallback(payment, { query: queryOf(returnedTo), body: {} });
      expect(outcome.approved).to.equal(false);
      expect(outcome.reason).to.match(/failed authentication/);
      expect(chargesOf(payment.id)).to.have.length(0);
    });

    it('a card still processing when the buyer returns is pending, and approved once Stripe settles it', async () => {
      const payment = makePayment();
      const start = await gw.start(payment, { callbackUrl: callbackUrl(payment), lang: 'en', description: 'Top-up', buyer });
      if (start.kind !== 'redirect') throw new Error('expected a redirect');
      const { returnedTo } = await payOnHostedPage(h.base, start.url, 'pm_card_sandboxTimeout');
      expect(queryOf(returnedTo).redirect_status).to.equal('processing');
      const outcome = await gw.verifyCallback(payment, { query: queryOf(returnedTo), body: {} });
      expect(outcome).to.deep.include({ approved: false, pending: true });
      const withRef = { ...payment, gatewayReference: start.gatewayReference! };
      await new Promise((r) => setTimeout(r, 1_700)); // the sandbox settles it after hangMs
      expect(await gw.retrieve(withRef)).to.deep.include({ approved: true, amountMinor: payment.amountMinor });
    });

    it('refuses a tampered return: another payment\'s intent, an unknown intent, or none', async () => {
      const mine = makePayment();
      const other = makePayment();
      const start = await gw.start(other, { callbackUrl: callbackUrl(other), lang: 'en', description: 'Top-up', buyer });
      const { returnedTo } = await payOnHostedPage(h.base, (start as { url: string }).url, 'pm_card_visa');
      const stolen = queryOf(returnedTo); // a paid intent, but for another payment
      const cases: Record<string, string>[] = [stolen, { payment_intent: 'pi_DoesNotExist000000000000' }, {}, { payment_intent: 'pi_x/../../v1/customers' }];
      for (const query of cases) {
        const err = await rejection(gw.verifyCallback(mine, { query, body: {} }));
        expect(err, JSON.stringify(query)).to.be.instanceOf(GatewayError).with.property('code', 'invalid_callback');
      }
      // The payment already knows its intent: a different one in the query is refused before any call.
      const err = await rejection(gw.verifyCallback({ ...other, gatewayReference: 'pi_SomethingElse0000' }, { query: stolen, body: {} }));
      expect(err).to.be.instanceOf(GatewayError).with.property('code', 'invalid_callback');
    });

    it('another seller\'s key cannot see this seller\'s intents', async () => {
      const payment = makePayment();
      const start = await gw.start(payment, { callbackUrl: callbackUrl(payment), lang: 'en', description: 'Top-up', buyer });
      const otherGw = gatewayFor(h, OTHER_SELLER);
      const err = await rejection(otherGw.verifyCallback(payment, { query: { payment_intent: start.gatewayReference! }, body: {} }));
      expect(err).to.be.instanceOf(GatewayError).with.property('code', 'invalid_callback');
    });

    it('saves the card when asked, and a later purchase with it completes without the page', async () => {
      const payment = makePayment();
      const start = await gw.start(payment, { callbackUrl: callbackUrl(payment), lang: 'en', description: 'Top-up', buyer, saveMethod: true });
      if (start.kind !== 'redirect') throw new Error('expected a redirect');
      const { returnedTo } = await payOnHostedPage(h.base, start.url, 'pm_card_visa');
      const outcome = await gw.verifyCallback(payment, { query: queryOf(returnedTo), body: {} });
      expect(outcome.approved).to.equal(true);
      expect(outcome.savedMethod).to.deep.include({ brand: 'visa', last4: '4242', expMonth: 12, expYear: 2034 });
      expect(outcome.savedMethod!.customerRef).to.match(/^cus_/);
      expect(outcome.savedMethod!.methodRef).to.match(/^pm_visa_/);

      const next = makePayment({ amountMinor: 5_000 });
      const paid = await gw.start(next, { callbackUrl: callbackUrl(next), lang: 'en', description: 'Top-up', buyer, savedMethod: outcome.savedMethod });
      expect(paid).to.deep.include({ kind: 'completed', approved: true });
      expect(chargesOf(next.id)).to.have.length(1);
    });
  });

  describe('webhooks', () => {
    it('verifies a signed payment_intent.succeeded; a replay has the same event id; a forged one is refused', async () => {
      const payment = makePayment();
      const start = await gw.start(payment, { callbackUrl: callbackUrl(payment), lang: 'en', description: 'Top-up', buyer });
      await payOnHostedPage(h.base, (start as { url: string }).url, 'pm_card_visa');
      await h.sandbox.store.flush();
      const hook = await waitFor(() => h.webhooks.find((w) => w.type === 'payment_intent.succeeded' && w.body.toString().includes(payment.id)));
      expect(hook.headers['stripe-signature']).to.match(/^t=\d+,v1=[0-9a-f]{64}$/);

      const event = await gw.verifyWebhook(hook.body, hook.headers);
      expect(event.eventId).to.match(/^evt_/);
      expect(event.type).to.equal('payment_intent.succeeded');
      expect(event.outcome).to.deep.include({ paymentId: payment.id, approved: true, amountMinor: payment.amountMinor, currency: 'TRY', gatewayReference: start.gatewayReference });

      const replay = await gw.verifyWebhook(Buffer.from(hook.body), { ...hook.headers });
      expect(replay.eventId).to.equal(event.eventId);

      const tampered = Buffer.from(hook.body.toString().replace(`"amount": ${payment.amountMinor}`, '"amount": 1'));
      expect(tampered.equals(hook.body)).to.equal(false);
      for (const [body, headers] of [
        [tampered, hook.headers],
        [hook.body, { ...hook.headers, 'stripe-signature': stripeSignatureHeader(hook.body.toString(), 'whsec_NotTheSellersSecret000', Math.floor(Date.now() / 1000)) }],
        [hook.body, { ...hook.headers, 'stripe-signature': undefined }],
        [hook.body, { ...hook.headers, 'stripe-signature': stripeSignatureHeader(hook.body.toString(), SELLER.webhookSecret, Math.floor(Date.now() / 1000) - 3600) }],
      ] as const) {
        const err = await rejection(gw.verifyWebhook(body, headers));
        expect(err).to.be.instanceOf(GatewayError).with.property('code', 'invalid_signature');
      }
    });

    it('a failed attempt is reported pending (the buyer may still pay); setup and refund events carry no outcome', async () => {
      const payment = makePayment();
      const start = await gw.start(payment, { callbackUrl: callbackUrl(payment), lang: 'en', description: 'Top-up', buyer });
      await submit(h.base, (await getPage((start as { url: string }).url)).html, 'pay', { payment_method: 'pm_card_chargeDeclinedInsufficientFunds' });
      await h.sandbox.store.flush();
      const hook = await waitFor(() => h.webhooks.find((w) => w.type === 'payment_intent.payment_failed' && w.body.toString().includes(payment.id)));
      const event = await gw.verifyWebhook(hook.body, hook.headers);
      expect(event.outcome).to.deep.include({ paymentId: payment.id, approved: false, pending: true, reason: 'Your card has insufficient funds.' });

      await gw.saveTestCard({ id: 'usr_hooks', name: 'Hook', email: 'hook@example.test' }, 'visa');
      await h.sandbox.store.flush();
      const setup = await waitFor(() => h.webhooks.find((w) => w.type === 'setup_intent.succeeded'));
      const setupEvent = await gw.verifyWebhook(setup.body, setup.headers);
      expect(setupEvent.type).to.equal('setup_intent.succeeded');
      expect(setupEvent.outcome).to.equal(undefined);
    });
  });

  describe('saved cards, buyer absent', () => {
    const customer = { id: 'usr_offsession', name: 'Mehmet Demir', email: 'mehmet@example.test' };

    it('saves a test card through a SetupIntent and charges it off-session', async () => {
      const saved = await gw.saveTestCard(customer, 'visa');
      expect(saved).to.deep.include({ brand: 'visa', last4: '4242', expMonth: 12, expYear: 2034 });
      const again = await gw.saveTestCard(customer, 'visa');
      expect(again.customerRef, 'one Stripe customer per buyer').to.equal(saved.customerRef);

      const payment = makePayment({ amountMinor: 4_990, currency: 'USD' });
      const result = await gw.chargeOffSession({ payment, method: saved, idempotencyKey: `renew-${payment.id}`, description: 'Renewal' });
      expect(result.status).to.equal('succeeded');
      if (result.status !== 'succeeded') return;
      expect(result.gatewayReference).to.match(/^pi_/);
      expect(chargesOf(payment.id)).to.have.length(1);
      expect(chargesOf(payment.id)[0]).to.deep.include({ amount: 4_990, currency: 'usd', status: 'succeeded' });

      const outcome = await gw.retrieve({ ...payment, gatewayReference: result.gatewayReference });
      expect(outcome).to.deep.include({ approved: true, amountMinor: 4_990, currency: 'USD' });
      const found = await gw.retrieve(payment); // no reference kept: found by its metadata
      expect(found.gatewayReference).to.equal(result.gatewayReference);
      expect(found.approved).to.equal(true);
    });

    it('a saved card survives a restart of the sandbox (stateless PaymentMethod and customer ids)', async () => {
      const saved = await gw.saveTestCard(customer, 'visa');
      const fresh = await startHarness({ hangMs: 100 });
      try {
        const payment = makePayment();
        const result = await gatewayFor(fresh).chargeOffSession({ payment, method: saved, idempotencyKey: `k-${payment.id}`, description: 'Renewal' });
        expect(result.status).to.equal('succeeded');
      } finally {
        await fresh.close();
      }
    });

    it('declined: the decline message is kept', async () => {
      const saved = await gw.saveTestCard(customer, 'declined');
      expect(saved.last4).to.equal('0341');
      const payment = makePayment();
      const result = await gw.chargeOffSession({ payment, method: saved, idempotencyKey: `k-${payment.id}`, description: 'Renewal' });
      expect(result).to.deep.include({ status: 'declined', reason: 'Your card was declined.' });
      expect(chargesOf(payment.id).map((c) => c.status)).to.deep.equal(['failed']);
    });

    it('a saved card declined with the buyer present completes as not approved; the card page still works for that payment', async () => {
      const saved = await gw.saveTestCard(customer, 'declined');
      const payment = makePayment();
      const ctx = { callbackUrl: callbackUrl(payment), lang: 'en' as const, description: 'Top-up', buyer };
      const first = await gw.start(payment, { ...ctx, savedMethod: saved });
      expect(first).to.deep.include({ kind: 'completed', approved: false, reason: 'Your card was declined.' });
      expect(first.gatewayReference).to.match(/^pi_/);
      const byPage = await gw.start(payment, ctx);
      expect(byPage.kind).to.equal('redirect');
      expect(byPage.gatewayReference).to.not.equal(first.gatewayReference);
      const { returnedTo } = await payOnHostedPage(h.base, (byPage as { url: string }).url, 'pm_card_visa');
      expect(await gw.verifyCallback({ ...payment, gatewayReference: byPage.gatewayReference! }, { query: queryOf(returnedTo), body: {} })).to.deep.include({ approved: true });
      expect(chargesOf(payment.id).map((c) => c.status)).to.deep.equal(['failed', 'succeeded']);
    });

    it('a 3DS card off-session answers requires_action (authentication_required)', async () => {
      const saved = await gw.saveTestCard(customer, '3ds');
      expect(saved.last4).to.equal('3184');
      const payment = makePayment();
      const result = await gw.chargeOffSession({ payment, method: saved, idempotencyKey: `k-${payment.id}`, description: 'Renewal' });
      expect(result.status).to.equal('requires_action');
      expect((result as { reason: string }).reason).to.match(/requires authentication/);
      expect(chargesOf(payment.id).filter((c) => c.status === 'succeeded')).to.have.length(0);

      // With the buyer present the same card goes to the 3DS page.
      const present = makePayment();
      const start = await gw.start(present, { callbackUrl: callbackUrl(present), lang: 'en', description: 'Top-up', buyer, savedMethod: saved });
      expect(start.kind).to.equal('redirect');
      expect((start as { url: string }).url).to.contain('/sandbox/stripe/3ds/');
    });

    it('timeout: GatewayTimeoutError, then a retry with the same key returns the recorded intent: exactly one charge', async () => {
      const saved = await gw.saveTestCard(customer, 'timeout');
      const impatient = gatewayFor(h, SELLER, 300);
      const payment = makePayment({ amountMinor: 7_700 });
      const req = { payment, method: saved, idempotencyKey: `renew-${payment.id}`, description: 'Renewal' };
      const began = Date.now();
      const err = await rejection(impatient.chargeOffSession(req));
      expect(err).to.be.instanceOf(GatewayTimeoutError);
      expect(Date.now() - began).to.be.lessThan(1_400);
      expect(chargesOf(payment.id), 'the sandbox charged before answering late').to.have.length(1);

      const retried = await impatient.chargeOffSession(req);
      expect(retried.status).to.equal('succeeded');
      expect((retried as { gatewayReference: string }).gatewayReference).to.equal(chargesOf(payment.id)[0]!.payment_intent);
      expect(chargesOf(payment.id)).to.have.length(1);

      // The same key with different parameters is Stripe's idempotency_error, never a second charge.
      const conflict = await rejection(impatient.chargeOffSession({ ...req, payment: { ...payment, amountMinor: 100 } }));
      expect(conflict).to.be.instanceOf(GatewayError).with.property('code', 'idempotency_conflict');
      expect(chargesOf(payment.id)).to.have.length(1);
    });

    it('refunds with an idempotency key: a retried refund refunds once; too much is refused', async () => {
      const saved = await gw.saveTestCard(customer, 'visa');
      const payment = makePayment({ amountMinor: 10_000 });
      const charge = await gw.chargeOffSession({ payment, method: saved, idempotencyKey: `k-${payment.id}`, description: 'Top-up' });
      const paid = { ...payment, gatewayReference: (charge as { gatewayReference: string }).gatewayReference };

      const first = await gw.refund(paid, 4_000, `refund-1-${payment.id}`);
      expect(first.status).to.equal('succeeded');
      expect((first as { gatewayReference: string }).gatewayReference).to.match(/^re_/);
      const replay = await gw.refund(paid, 4_000, `refund-1-${payment.id}`);
      expect(replay).to.deep.equal(first);
      expect(chargesOf(payment.id)[0]!.amount_refunded).to.equal(4_000);

      const tooMuch = await gw.refund(paid, 7_000, `refund-2-${payment.id}`);
      expect(tooMuch.status).to.equal('failed');
      expect((tooMuch as { reason: string }).reason).to.match(/greater than the unrefunded amount/);

      const rest = await gw.refund(paid, 6_000, `refund-3-${payment.id}`);
      expect(rest.status).to.equal('succeeded');
      expect(chargesOf(payment.id)[0]).to.deep.include({ amount_refunded: 10_000, refunded: true });
      await h.sandbox.store.flush();
      const refunded = h.webhooks.filter((w) => w.type === 'charge.refunded' && w.body.toString().includes(payment.id));
      expect(refunded).to.have.length(2);
      expect((await gw.verifyWebhook(refunded[0]!.body, refunded[0]!.headers)).outcome).to.equal(undefined);

      const noRef = await rejection(gw.refund(payment, 100, 'x'));
      expect(noRef).to.be.instanceOf(GatewayError).with.property('code', 'missing_reference');
    });
  });
});

describe('the fake Stripe API speaks Stripe\'s protocol', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ hangMs: 200 });
  });
  after(async () => {
    await h.close();
  });

  const api = (path: string, init: RequestInit = {}, key: string | null = SELLER.secretKey) =>
    fetch(`${h.base}${path}`, { ...init, headers: { ...(key ? { Authorization: `Bearer ${key}` } : {}), 'Content-Type': 'application/x-www-form-urlencoded', ...(init.headers as Record<string, string>) } });

  it('needs the Bearer secret key', async () => {
    const none = await api('/v1/customers', {}, null);
    expect(none.status).to.equal(401);
    expect(((await none.json()) as { error: { type: string } }).error.type).to.equal('invalid_request_error');
    const wrong = await api('/v1/customers', {}, 'sk_test_nope12345678');
    expect(wrong.status).to.equal(401);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).to.match(/^Invalid API Key provided: sk_test_\**5678$/);
  });

  it('answers a card decline as 402 card_error with Stripe\'s error shape and the intent', async () => {
    const res = await api('/v1/payment_intents', { method: 'POST', body: 'amount=500&currency=usd&confirm=true&payment_method=pm_card_chargeDeclined&metadata[kontor_payment_id]=pay_x' });
    expect(res.status).to.equal(402);
    const body = (await res.json()) as { error: Record<string, unknown> & { payment_intent: Record<string, unknown> } };
    expect(body.error).to.include({ type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' });
    expect(body.error.payment_intent).to.include({ object: 'payment_intent', status: 'requires_payment_method' });
    expect(body.error.payment_intent.metadata).to.deep.equal({ kontor_payment_id: 'pay_x' });
  });

  it('replays an idempotent request and refuses the same key with other parameters', async () => {
    const post = (body: string) => api('/v1/customers', { method: 'POST', body, headers: { 'Idempotency-Key': 'idem-1' } });
    const a = await post('email=a%40example.test');
    const b = await post('email=a%40example.test');
    expect(b.headers.get('idempotent-replayed')).to.equal('true');
    expect(((await b.json()) as { id: string }).id).to.equal(((await a.json()) as { id: string }).id);
    const c = await post('email=other%40example.test');
    expect(c.status).to.equal(400);
    expect(((await c.json()) as { error: { type: string } }).error.type).to.equal('idempotency_error');
  });

  it('does not answer paths outside /v1 and /sandbox/stripe (the app keeps them)', async () => {
    const res = await fetch(`${h.base}/healthz`);
    expect(res.status).to.equal(404);
    expect(await res.text()).to.not.contain('invalid_request_error');
    const unknown = await api('/v1/charges');
    expect(unknown.status).to.equal(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).to.match(/Unrecognized request URL/);
  });

  it('the hosted page refuses a wrong client secret', async () => {
    const created = (await (await api('/v1/payment_intents', { method: 'POST', body: 'amount=500&currency=eur' })).json()) as { id: string };
    const page = await getPage(`${h.base}/sandbox/stripe/pay/${created.id}?client_secret=${created.id}_secret_wrong`);
    expect(page.status).to.equal(404);
  });
});

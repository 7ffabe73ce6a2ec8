import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import type { Payment, PaymentGateway } from '../../src/payments/gateway';
import { CHROMIUM_MISSING, chromiumAvailable, launchChromium } from '../support/browser';
import { requireOrSkip } from '../support/env';
import { buyer, gatewayFor, makePayment, startHarness, type Harness } from './stripe-harness';

// A real headless Chromium on the hosted card page and the 3DS page, ending at a callback
// endpoint that runs verifyCallback as the core's route will.
describe('Stripe sandbox pages in headless Chromium', function () {
  let h: Harness;
  let gw: PaymentGateway;
  let browser: Browser;
  const payments = new Map<string, Payment>();

  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    // csp: the strict policy Kontor's pages have (no inline script or style); these must work under it.
    h = await startHarness({
      hangMs: 1_000,
      csp: true,
      extra: (app) => {
        app.get('/payments/callback/:paymentId', async (req, res) => {
          const payment = payments.get(String(req.params.paymentId));
          if (!payment) return void res.status(404).send('unknown payment');
          try {
            const outcome = await gw.verifyCallback(payment, { query: req.query as Record<string, string>, body: {} });
            res.type('html').send(`<!doctype html><title>Callback</title><pre data-testid="outcome">${JSON.stringify(outcome).replace(/</g, '\\u003c')}</pre>`);
          } catch (err) {
            res.status(400).type('html').send(`<!doctype html><title>Refused</title><pre data-testid="refused">${(err as Error).message}</pre>`);
          }
        });
      },
    });
    gw = gatewayFor(h);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  async function begin(amountMinor: number) {
    const payment = makePayment({ amountMinor, currency: 'TRY' });
    payments.set(payment.id, payment);
    const start = await gw.start(payment, { callbackUrl: `${h.base}/payments/callback/${payment.id}`, lang: 'tr', description: '1.000 kredi', buyer });
    if (start.kind !== 'redirect') throw new Error('expected a redirect');
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    // CSP refusals and script errors; a page's own status (402 after a decline) is not a problem.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    page.on('response', (r) => {
      const type = r.request().resourceType();
      if (r.status() >= 400 && type !== 'document' && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(start.url);
    return { payment, start, page, context, problems };
  }

  it('pays with the 3DS card: card page -> 3DS page -> callback verified approved', async () => {
    const { payment, start, page, context, problems } = await begin(25_000);
    expect(await page.getByTestId('sandbox-banner').textContent()).to.contain('SANDBOX - no real money');
    expect(await page.getByTestId('amount').textContent()).to.equal('TRY 250.00');
    await page.getByTestId('card-authenticationRequired').check();
    await page.getByTestId('pay').click();
    await page.waitForURL(/\/sandbox\/stripe\/3ds\/pi_/);
    expect(await page.getByTestId('intent-status').textContent()).to.equal('requires_action');
    await page.screenshot({ path: 'tmp/stripe-3ds.png' }).catch(() => undefined);
    await page.getByTestId('complete-3ds').click();
    await page.waitForURL(new RegExp(`/payments/callback/${payment.id}\\?`));
    const outcome = JSON.parse((await page.getByTestId('outcome').textContent())!) as Record<string, unknown>;
    expect(outcome).to.deep.include({ paymentId: payment.id, approved: true, amountMinor: 25_000, currency: 'TRY', gatewayReference: start.gatewayReference });
    expect(new URL(page.url()).searchParams.get('redirect_status')).to.equal('succeeded');
    expect(problems).to.deep.equal([]);
    expect(h.sandbox.store.charges('acct_seller_a').filter((c) => c.payment_intent === start.gatewayReference)).to.have.length(1);
    await context.close();
  });

  it('a declined card shows Stripe\'s message on the page; giving up returns a failed payment', async () => {
    const { payment, page, context, problems } = await begin(1_000);
    await page.getByTestId('card-chargeDeclined').check();
    await page.getByTestId('pay').click();
    expect(await page.getByTestId('card-error').textContent()).to.equal('Your card was declined.');
    await page.screenshot({ path: 'tmp/stripe-pay-declined.png', fullPage: true }).catch(() => undefined);
    await page.getByTestId('cancel').click();
    await page.waitForURL(new RegExp(`/payments/callback/${payment.id}\\?`));
    const outcome = JSON.parse((await page.getByTestId('outcome').textContent())!) as Record<string, unknown>;
    expect(outcome).to.deep.include({ approved: false, reason: 'Your card was declined.' });
    expect(problems).to.deep.equal([]);
    await context.close();
  });
});

import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { creditLedger, gatewayAccounts, paymentEvents, payments, purchases } from '../../db/schema';
import { getBalance } from '../../src/credits/credits.usecases';
import { IYZICO_SANDBOX_3DS_PASSWORD } from '../../src/gateways/iyzico';
import { nestpaySandboxCards, NESTPAY_SANDBOX_3D_PASSWORD } from '../../sandboxes';
import { credentialsOf, saveGatewayAccount } from '../../src/payments/gateway-accounts';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium } from '../support/browser';
import { resetData } from '../support/db';
import { IYZICO, NESTPAY, ownerActor, STRIPE } from '../support/gateways';
import { requireOrSkip } from '../support/env';
import { bearer } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { startLiveApp, type LiveApp } from '../support/live-app';
import { createWorld, PASSWORD, type World } from '../support/world';

const APPROVED_PAN = nestpaySandboxCards.find((c) => c.behaviour === 'approve')!.pan;


/**
 * Issue #5: a full portal purchase through each gateway in real headless Chromium, against the
 * sandboxes the app itself serves. Agency A sets NestPay up on its Payment systems page in the
 * browser; iyzico and Stripe are saved directly. The client pays, lands on the result page,
 * and the credits are granted exactly once.
 */
describe('browser: portal purchase through each payment gateway', function () {
  this.timeout(90_000);
  let live: LiveApp;
  let w: World;
  let browser: Browser;
  let packageId: string;
  const CREDITS = 500;

  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    await resetData();
    live = await startLiveApp();
    w = await createWorld(live.deps);
    const api = () => request(live.app);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 10_000, reason: 'seed' }).expect(201);
    const dep = (await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Support', creditsPerRequest: 2 }).expect(201)).body.id as string;
    packageId = (await api().post('/api/v1/packages').set(bearer(w.a.key))
      .send({ name: 'Starter pack', type: 'credit', priceMinor: 9990, currency: 'TRY', credits: CREDITS, departmentIds: [dep], published: true }).expect(201)).body.id;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (live) await assertLedgerInvariant(live.deps.db);
    await live?.close();
  });

  const watch = (page: Page) => {
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    // CSP refusals and script errors; a page's own status (402 after a decline) is not a problem.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    return problems;
  };

  async function login(page: Page, email: string, landing: string) {
    await page.goto(`${live.base}/login`);
    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('form[action="/login"] button[type=submit]');
    await page.waitForURL((url) => url.pathname.startsWith(landing));
  }

  /** The client opens the packages page and presses Buy: the browser leaves for the gateway. */
  async function buy(page: Page) {
    await page.goto(`${live.base}/portal/packages`);
    await page.locator(`[data-package="${packageId}"]`).getByRole('button', { name: 'Buy Starter pack' }).click();
  }

  const subBalance = async () => (await getBalance(live.deps, { agencyId: w.a.id, subAccountId: w.a.subs[0].id })).balance;

  /** After the result page: the purchase granted once, one confirmed transition, one ledger entry. */
  async function expectGrantedOnce(paymentId: string, gateway: string) {
    const [payment] = await live.deps.db.select().from(payments).where(eq(payments.id, paymentId));
    expect(payment).to.include({ status: 'confirmed', gateway, amountMinor: 9990, currency: 'TRY' });
    expect(payment!.gatewayAccountId).to.be.a('string');
    const [purchase] = await live.deps.db.select().from(purchases).where(eq(purchases.id, payment!.referenceId));
    expect(purchase!.status).to.equal('granted');
    const confirmations = await live.deps.db.select().from(paymentEvents).where(and(eq(paymentEvents.paymentId, paymentId), eq(paymentEvents.toStatus, 'confirmed'), eq(paymentEvents.fromStatus, 'pending')));
    expect(confirmations).to.have.length(1);
    const grants = await live.deps.db.select().from(creditLedger).where(eq(creditLedger.reference, `purchase:${purchase!.id}`));
    expect(grants.filter((g) => g.delta > 0)).to.have.length(1);
    await assertLedgerInvariant(live.deps.db);
  }

  async function landOnResult(page: Page): Promise<string> {
    await page.waitForURL(new RegExp(`^${live.base}/payments/callback/pay_\\w+`));
    const result = page.getByTestId('payment-result');
    expect(await result.getAttribute('data-outcome')).to.be.oneOf(['confirmed', 'already']);
    expect(await page.locator('h1').first().textContent()).to.equal('Payment confirmed');
    const paymentId = /callback\/(pay_\w+)/.exec(page.url())![1]!;
    await page.getByTestId('payment-continue').click();
    await page.waitForURL(`${live.base}/portal/purchases`);
    expect(await page.locator('[data-testid=purchases] tbody tr').first().getByTestId('status').textContent()).to.equal('granted');
    return paymentId;
  }

  it('NestPay (İş Bankası): the owner saves it on the Payment systems page; the client pays on the 3D gate with the card form and the 3D password', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, w.a.owner.email, '/agency');
    await page.goto(`${live.base}/agency/payment-systems`);
    const section = page.getByTestId('gateway-nestpay');
    await section.locator('summary').click();
    await section.locator('select[name=bank]').selectOption('isbank');
    await section.locator('select[name=mode]').selectOption('test');
    await section.locator('input[name=clientId]').fill(NESTPAY.clientId);
    await section.locator('input[name=storeKey]').fill(NESTPAY.storeKey);
    await section.locator('input[name=apiUser]').fill(NESTPAY.apiUser);
    await section.locator('input[name=apiPassword]').fill(NESTPAY.apiPassword);
    await page.getByTestId('save-nestpay').click();
    await page.waitForURL(`${live.base}/agency/payment-systems`);
    expect(await page.locator('.flash-success').textContent()).to.contain('Payment system saved: nestpay (test mode)');
    expect(await page.getByTestId('gateway-mode').textContent()).to.equal('Test');
    const html = await page.content();
    expect(html).to.not.contain(NESTPAY.storeKey.replace(/&/g, '&amp;').replace(/</g, '&lt;'));
    expect(html).to.not.contain('Kontor|Store');
    const [account] = await live.deps.db.select().from(gatewayAccounts).where(eq(gatewayAccounts.sellerAgencyId, w.a.id));
    expect(account!.kind).to.equal('nestpay');
    expect(credentialsOf(live.deps, account!)).to.include(NESTPAY);
    await context.close();

    const buyer = await browser.newContext();
    const client = await buyer.newPage();
    const clientProblems = watch(client);
    await login(client, w.a.subs[0].owner.email, '/portal');
    const before = await subBalance();
    await buy(client);
    // The auto-posted page (autosubmit.js, under the strict CSP) carries the hashed form to the gate.
    await client.getByTestId('card-form').waitFor();
    expect(client.url()).to.equal(`${live.base}/sandbox/nestpay/fim/est3Dgate`);
    expect(await client.getByTestId('sandbox-banner').textContent()).to.contain('SANDBOX - no real money');
    expect(await client.getByTestId('gate-amount').textContent()).to.equal('99.90 TRY');
    await client.locator(`[data-fill-pan="${APPROVED_PAN}"]`).click();
    await client.fill('input[name=expMonth]', '12');
    await client.fill('input[name=expYear]', '30');
    await client.fill('input[name=cvv]', '000');
    await client.getByTestId('card-submit').click();
    await client.fill('input[name=password]', NESTPAY_SANDBOX_3D_PASSWORD);
    await client.getByTestId('password-submit').click();
    // The bank's post-back page submits itself to okUrl: Kontor's callback.
    const paymentId = await landOnResult(client);
    expect(await subBalance()).to.equal(before + CREDITS);
    await expectGrantedOnce(paymentId, 'nestpay');
    expect([...problems, ...clientProblems]).to.deep.equal([]);
    await buyer.close();
  });

  it('iyzico: the client pays on the checkout form (3-D Secure card) and lands on the result page', async () => {
    await saveGatewayAccount(live.deps, ownerActor(w.a.id, w.a.owner.id), w.a.id, { kind: 'iyzico', mode: 'test', ...IYZICO });
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, w.a.subs[0].owner.email, '/portal');
    const before = await subBalance();
    await buy(page);
    await page.waitForURL(new RegExp(`^${live.base}/sandbox/iyzico/checkout/`));
    expect(await page.getByTestId('iyzico-amount').textContent()).to.include('99');
    await page.getByTestId('iyzico-card-number').fill('4766620000000001');
    await page.getByTestId('iyzico-pay').click();
    await page.getByTestId('iyzico-3ds-password').fill(IYZICO_SANDBOX_3DS_PASSWORD);
    await page.getByTestId('iyzico-3ds-submit').click();
    const paymentId = await landOnResult(page);
    expect(await subBalance()).to.equal(before + CREDITS);
    await expectGrantedOnce(paymentId, 'iyzico');
    expect(problems).to.deep.equal([]);
    await context.close();
  });

  for (const card of ['visa', 'authenticationRequired'] as const) {
    it(`Stripe: the client pays on the card page${card === 'visa' ? '' : ', then the 3D Secure step'}`, async () => {
      await saveGatewayAccount(live.deps, ownerActor(w.a.id, w.a.owner.id), w.a.id, { kind: 'stripe', mode: 'test', ...STRIPE });
      const context = await browser.newContext();
      const page = await context.newPage();
      const problems = watch(page);
      await login(page, w.a.subs[0].owner.email, '/portal');
      const before = await subBalance();
      await buy(page);
      await page.waitForURL(new RegExp(`^${live.base}/sandbox/stripe/pay/pi_`));
      expect(await page.getByTestId('amount').textContent()).to.equal('TRY 99.90');
      await page.getByTestId(`card-${card}`).check();
      await page.getByTestId('pay').click();
      if (card === 'authenticationRequired') {
        await page.waitForURL(/\/sandbox\/stripe\/3ds\/pi_/);
        await page.getByTestId('complete-3ds').click();
      }
      const paymentId = await landOnResult(page);
      expect(await subBalance()).to.equal(before + CREDITS);
      await expectGrantedOnce(paymentId, 'stripe');
      expect(problems).to.deep.equal([]);
      await context.close();
    });
  }
});

import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { gatewayAccounts, payments, purchases } from '../../db/schema';
import { nestpaySandboxCards, NESTPAY_SANDBOX_3D_PASSWORD } from '../../sandboxes';
import { saveGatewayAccount } from '../../src/payments/gateway-accounts';
import { browserWorld, signIn } from '../support/browser';
import { NESTPAY, ownerActor } from '../support/gateways';
import { bearer } from '../support/http';

const APPROVED_PAN = nestpaySandboxCards.find((c) => c.behaviour === 'approve')!.pan;

/**
 * Issue #18: a NestPay purchase in 3 installments through the sandbox bank in real headless
 * Chromium, at 1366 and 390 pixels. The owner offers installments on the Payment systems page;
 * the client picks 3 on the pay link's page and pays at the bank; the payment ends confirmed with
 * installments 3 and the surcharged total.
 */
describe('browser: a NestPay purchase in 3 installments', function () {
  this.timeout(120_000);
  const t = browserWorld();
  let departmentId: string;

  before(async function () {
    if (!t.deps) return;
    await request(t.base).post(`/api/v1/agencies/${t.w.a.id}/adjustments`).set(bearer(t.w.platformKey)).send({ credits: 10_000, reason: 'seed' }).expect(201);
    departmentId = (await request(t.base).post('/api/v1/departments').set(bearer(t.w.a.key)).send({ name: 'Support', creditsPerRequest: 2 }).expect(201)).body.id as string;
    await saveGatewayAccount(t.deps, ownerActor(t.w.a.id, t.w.a.owner.id), t.w.a.id, { kind: 'nestpay', mode: 'test', ...NESTPAY });
  });

  const noOverflow = async (page: Page, what: string) => {
    const [scroll, inner] = await page.locator('html').evaluate((el) => [el.scrollWidth, el.ownerDocument.defaultView!.innerWidth]);
    expect(scroll, `${what}: page ${scroll}px wide in a ${inner}px window`).to.be.at.most(inner!);
  };
  const watch = (page: Page) => {
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    return problems;
  };

  for (const width of [1366, 390]) {
    it(`at ${width} pixels: the owner offers 3 and 6 installments, the client pays in 3 at the bank, the payment is confirmed with installments 3`, async () => {
      const viewport = { width, height: width === 390 ? 844 : 800 };
      const name = `Installment pack ${width}`;
      const packageId = (await request(t.base).post('/api/v1/packages').set(bearer(t.w.a.key))
        .send({ name, type: 'credit', priceMinor: 9990, currency: 'TRY', credits: 500, departmentIds: [departmentId], published: true }).expect(201)).body.id as string;

      // The owner sets the installments on the Payment systems page.
      const ownerContext = await t.browser.newContext({ viewport });
      const owner = await ownerContext.newPage();
      const ownerProblems = watch(owner);
      await signIn(owner, t.base, t.w.a.owner.email);
      await owner.goto(`${t.base}/agency/payment-systems`);
      const settings = owner.getByTestId('installments-settings');
      await settings.getByTestId('offer-3').check();
      await settings.getByTestId('surcharge-3').fill('2,5');
      await settings.getByTestId('offer-6').check();
      await settings.getByTestId('surcharge-6').fill('4');
      await noOverflow(owner, 'payment systems');
      await owner.getByTestId('save-installments').click();
      await owner.waitForURL(`${t.base}/agency/payment-systems`);
      expect(await owner.locator('.flash-success').textContent()).to.contain('Installments saved: 3, 6.');
      const [account] = await t.deps.db.select().from(gatewayAccounts).where(eq(gatewayAccounts.sellerAgencyId, t.w.a.id));
      expect(account!.installmentPlan).to.deep.equal({ offers: [{ count: 3, surchargeBp: 250 }, { count: 6, surchargeBp: 400 }], minAmountMinor: 0 });
      expect(ownerProblems).to.deep.equal([]);
      await ownerContext.close();

      // The client buys; the pay link asks how to pay.
      const context = await t.browser.newContext({ viewport });
      const page = await context.newPage();
      const problems = watch(page);
      await signIn(page, t.base, t.w.a.subs[0].owner.email);
      await page.goto(`${t.base}/portal/packages`);
      await page.locator(`[data-package="${packageId}"]`).getByRole('button', { name: `Buy ${name}` }).click();
      await page.getByTestId('installment-form').waitFor();
      await noOverflow(page, 'installment choice');
      expect(await page.getByTestId('split-3').textContent()).to.equal('2 × TRY 34.13 + TRY 34.14');
      expect(await page.getByTestId('total-3').textContent()).to.contain('Total TRY 102.40');
      await page.getByTestId('option-3').locator('input[type=radio]').check();
      await page.getByTestId('installments-continue').click();

      // The bank's gate (auto-posted under the strict CSP), in 3 installments.
      await page.getByTestId('card-form').waitFor();
      expect(page.url()).to.equal(`${t.base}/sandbox/nestpay/fim/est3Dgate`);
      expect(await page.getByTestId('gate-amount').textContent()).to.equal('102.40 TRY');
      expect(await page.getByTestId('gate-taksit').textContent()).to.equal('3 installments');
      await page.locator(`[data-fill-pan="${APPROVED_PAN}"]`).click();
      await page.fill('input[name=expMonth]', '12');
      await page.fill('input[name=expYear]', '30');
      await page.fill('input[name=cvv]', '000');
      await page.getByTestId('card-submit').click();
      await page.fill('input[name=password]', NESTPAY_SANDBOX_3D_PASSWORD);
      await page.getByTestId('password-submit').click();

      await page.waitForURL(new RegExp(`^${t.base}/payments/callback/pay_\\w+`));
      expect(await page.locator('h1').first().textContent()).to.equal('Payment confirmed');
      expect(await page.getByTestId('payment-installments').textContent()).to.equal('3 installments · surcharge TRY 2.50 included');
      await noOverflow(page, 'payment result');
      const paymentId = /callback\/(pay_\w+)/.exec(page.url())![1]!;
      const [payment] = await t.deps.db.select().from(payments).where(eq(payments.id, paymentId));
      expect(payment).to.include({ status: 'confirmed', gateway: 'nestpay', installments: 3, installmentSurchargeBp: 250, installmentSurchargeMinor: 250, amountMinor: 10_240, currency: 'TRY' });
      const [purchase] = await t.deps.db.select().from(purchases).where(eq(purchases.id, payment!.referenceId));
      expect(purchase!.status).to.equal('granted');
      expect(problems).to.deep.equal([]);
      await context.close();
    });
  }
});

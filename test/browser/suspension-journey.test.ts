// Issue 16's second journey in real Chromium, at a laptop's and a phone's width: a client starts a
// monthly package from its billing page, two invoices go past their due date (the test clock and
// the scheduler's tick, as the billing engine runs them), the portal holds it on the invoice page
// and refuses new packages, it pays everything overdue in one payment on the sandbox gateway and
// is back: the portal opens and it can buy again.
import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import { invoices } from '../../db/schema';
import { billingApi, moveTo, tick } from '../support/billing';
import { browserWorld, fitsWindow, navigate, screenshot, signIn, viewportFor, watchErrors, WIDTHS } from '../support/browser';

describe('browser journey: a client is suspended, pays all overdue at once and is back', function () {
  this.timeout(120_000);
  const t = browserWorld({ start: new Date('2026-03-01T09:00:00Z') });
  let monthly: { id: string };
  let addon: { id: string };

  before(async () => {
    const b = billingApi(t.app);
    monthly = await b.createPackage(t.w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 3100, chatbotSessions: 20_000, published: true });
    addon = await b.createPackage(t.w.a.key, { name: 'Ticket desk', kind: 'addon', billing: 'monthly', monthlyPriceMinor: 900, modules: ['ticket_system'], published: true });
  });

  // The laptop's client starts in March (overdue by 12 May), the phone's in May (overdue by 12 July).
  const plan = { 1366: { client: 0, start: '2026-03-01', cuts: ['2026-04-01', '2026-05-01'], late: '2026-05-12' }, 390: { client: 1, start: '2026-05-12', cuts: ['2026-06-01', '2026-07-01'], late: '2026-07-12' } } as const;

  for (const width of WIDTHS) {
    it(`at ${width} pixels: buys, is suspended, pays all overdue in one payment and buys again`, async () => {
      const p = plan[width];
      const sub = t.w.a.subs[p.client];
      moveTo(t.deps, p.start);
      const context = await t.browser.newContext({ viewport: viewportFor(width) });
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      const problems = watchErrors(page);
      await signIn(page, t.base, sub.owner.email);

      // Buys: starts the monthly package from its billing page.
      await navigate(page, 'Billing', 'Billing');
      await page.locator(`[data-testid=offers] [data-package="${monthly.id}"]`).getByRole('button', { name: 'Start Chatbot 20k' }).click();
      await page.waitForLoadState('load');
      expect(await page.getByTestId('current-packages').innerText()).to.contain('Chatbot 20k');

      // Two monthly invoices are cut and not paid: past the second one's due date it is suspended.
      for (const day of [...p.cuts, p.late]) {
        moveTo(t.deps, day);
        await tick(t.deps);
      }
      const open = await t.deps.db.select().from(invoices).where(and(eq(invoices.subAccountId, sub.id), eq(invoices.status, 'open')));
      expect(open, 'two open invoices').to.have.length(2);
      await page.goto(`${t.base}/portal`);
      expect(new URL(page.url()).pathname, 'the portal holds it on the invoice page').to.equal('/portal/billing');
      expect(await page.getByTestId('suspension-reason').innerText()).to.contain('2 invoices are past their due date');
      expect(await page.getByTestId('suspension-lift').innerText()).to.match(/pay/i);
      const statuses = await page.locator('[data-testid=past-invoices] [data-testid=invoice-status]').allInnerTexts();
      expect(statuses.filter((s) => /overdue/i.test(s)), 'past-due invoices say overdue').to.have.length(2);
      // No new package while suspended: the buttons are disabled and say why.
      expect(await page.locator(`[data-testid=offers] [data-package="${monthly.id}"] button`).isDisabled()).to.equal(true);
      expect(await page.getByTestId('suspended-action').count()).to.be.greaterThan(0);
      await fitsWindow(page, 'the suspended billing page');
      await screenshot(page, 'journey-suspension-suspended');

      // One payment for everything overdue, on the sandbox gateway.
      const total = open.reduce((s, i) => s + i.totalMinor, 0);
      await page.getByTestId('pay-all-overdue').click();
      await page.waitForURL(/\/sandbox\/checkout\//);
      const amount = await page.getByTestId('checkout-amount').innerText();
      expect(Number(amount.replace(/[^\d]/g, ''))).to.equal(total);
      await fitsWindow(page, 'the sandbox checkout');
      await screenshot(page, 'journey-suspension-checkout');
      await page.getByTestId('pay').click();
      await page.waitForLoadState('load');
      await t.deps.queue.drain();

      // Back: every invoice paid, the portal opens, and buying works again.
      const still = await t.deps.db.select().from(invoices).where(and(eq(invoices.subAccountId, sub.id), eq(invoices.status, 'open')));
      expect(still, 'no open invoice left').to.deep.equal([]);
      await page.goto(`${t.base}/portal`);
      expect(new URL(page.url()).pathname).to.equal('/portal');
      await navigate(page, 'Billing', 'Billing');
      expect(await page.getByTestId('suspension').count()).to.equal(0);
      expect(await page.getByTestId('pay-overdue').count()).to.equal(0);
      await page.locator('[data-testid=modules] form', { has: page.locator(`input[value="${addon.id}"]`) }).getByRole('button').click();
      await page.waitForLoadState('load');
      expect(await page.getByTestId('current-packages').innerText()).to.contain('Ticket desk');
      await fitsWindow(page, 'the billing page after paying');
      await screenshot(page, 'journey-suspension-back');
      expect(problems).to.deep.equal([]);
      await context.close();
    });
  }
});

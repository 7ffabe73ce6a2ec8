import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium, signIn } from '../support/browser';
import { billingApi, moveTo } from '../support/billing';
import { resetData } from '../support/db';
import type { TestDeps } from '../support/deps';
import { startLiveApp, type LiveApp } from '../support/live-app';
import { requireOrSkip } from '../support/env';
import { createWorld, type World } from '../support/world';

/** Real headless Chromium: the billing page's forms and the prediction chart (Chart.js, no inline script under the CSP). */
describe('browser: billing page and invoice prediction chart', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let w: World;
  let live: LiveApp;
  let app: LiveApp['app'];
  let base: string;
  let browser: Browser;

  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    await resetData();
    // Links are absolute (PUBLIC_URL): the app is built for the port it already listens on.
    live = await startLiveApp({ start: new Date('2026-03-10T09:00:00Z') });
    ({ deps, base, app } = live);
    w = await createWorld(deps);
    const b = billingApi(app);
    await b.createPackage(w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 3100, chatbotSessions: 20_000 });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await live?.close();
  });

  it('starts a package from the billing page and draws the month on the prediction page, with no CSP violation or script error', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    await signIn(page, base, w.a.subs[0].owner.email);
    await page.waitForURL(`${base}/portal`);
    await page.getByRole('link', { name: 'Billing', exact: true }).click();
    await page.waitForURL(`${base}/portal/billing`);
    await page.getByRole('button', { name: 'Start Chatbot 20k' }).click();
    await page.waitForURL(`${base}/portal/billing`);
    expect(await page.locator('.flash-success').textContent()).to.contain('Chatbot 20k started today');
    moveTo(deps, '2026-03-20');
    await page.getByRole('link', { name: 'prediction, day by day' }).click();
    await page.waitForURL(`${base}/portal/billing/upcoming`);
    await page.waitForSelector('#invoice-chart[data-drawn=true]');
    // 10..20 = 11 of 31 days of 3100 = 1100 so far; 10..31 = 22 days = 2200 at month end.
    expect(await page.getByTestId('so-far').textContent()).to.equal('TRY 11.00');
    expect(await page.getByTestId('estimate').textContent()).to.equal('TRY 22.00');
    const box = await page.locator('#invoice-chart').boundingBox();
    expect(box!.width).to.be.greaterThan(100);
    expect(problems).to.deep.equal([]);
  });
});

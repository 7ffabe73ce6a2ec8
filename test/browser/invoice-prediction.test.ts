import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium } from '../support/browser';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { requireOrSkip } from '../support/env';
import { createWorld, PASSWORD, type World } from '../support/world';

/** Real headless Chromium: the billing page's forms and the prediction chart (Chart.js, no inline script under the CSP). */
describe('browser: billing page and invoice prediction chart', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let w: World;
  let server: Server;
  let base: string;
  let browser: Browser;

  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    await resetData();
    server = createServer();
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    deps = await makeTestDeps({ config: { PUBLIC_URL: base }, start: new Date('2026-03-10T09:00:00Z') });
    w = await createWorld(deps);
    const app = createApp(deps);
    server.on('request', app);
    const b = billingApi(app);
    await b.createPackage(w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 3100, chatbotSessions: 20_000 });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    server?.close();
    await deps?.close();
  });

  it('starts a package from the billing page and draws the month on the prediction page, with no CSP violation or script error', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${base}/login`);
    await page.fill('input[name=email]', w.a.subs[0].owner.email);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
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

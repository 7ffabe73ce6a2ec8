import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium, screenshot, signIn } from '../support/browser';
import request from 'supertest';
import { resetData } from '../support/db';
import type { TestDeps } from '../support/deps';
import { startLiveApp, type LiveApp } from '../support/live-app';
import { requireOrSkip } from '../support/env';
import { bearer } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { createWorld, type World } from '../support/world';

/** Real headless Chromium (Debian's): a client buys a package and pays on the sandbox checkout. */
describe('browser: client buys a package', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let w: World;
  let live: LiveApp;
  let app: LiveApp['app'];
  let base: string;
  let browser: Browser;
  let packageId: string;

  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    await resetData();
    // Links are absolute (PUBLIC_URL): the app is built for the port it already listens on.
    live = await startLiveApp();
    ({ deps, base, app } = live);
    w = await createWorld(deps);
    await request(app).post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 10_000, reason: 'seed' }).expect(201);
    const dep = (await request(app).post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Support', creditsPerRequest: 2 }).expect(201)).body.id as string;
    packageId = (await request(app).post('/api/v1/packages').set(bearer(w.a.key))
      .send({ name: 'Starter pack', type: 'credit', priceMinor: 9990, currency: 'TRY', credits: 500, departmentIds: [dep], published: true }).expect(201)).body.id;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (deps) await assertLedgerInvariant(deps.db);
    await live?.close();
  });

  it('logs in, buys a credit package, pays on the sandbox page and sees it granted, with no CSP violation or script error', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));

    await signIn(page, base, w.a.subs[0].owner.email);
    await page.waitForURL(`${base}/portal`);

    await page.getByRole('link', { name: 'Packages', exact: true }).click();
    await page.waitForURL(`${base}/portal/packages`);
    expect(await page.getByTestId('balance').textContent()).to.equal('0 credits');
    const card = page.locator(`[data-package="${packageId}"]`);
    expect(await card.textContent()).to.contain('TRY 99.90').and.contain('500').and.contain('Support');
    await card.getByRole('button', { name: 'Buy Starter pack' }).click();

    await page.waitForURL(new RegExp(`^${base}/sandbox/checkout/pay_\\w+\\?sig=`));
    expect(await page.locator('main').textContent()).to.contain('Sandbox payment — no real money');
    expect(await page.getByTestId('checkout-package').textContent()).to.contain('Starter pack');
    expect(await page.getByTestId('checkout-amount').textContent()).to.equal('TRY 99.90');
    await screenshot(page, 'portal-purchase-checkout');
    await page.getByTestId('pay').click();

    await page.waitForURL(`${base}/portal/purchases`);
    const row = page.locator('[data-testid=purchases] tbody tr').first();
    expect(await row.textContent()).to.contain('Starter pack').and.contain('TRY 99.90');
    expect(await row.getByTestId('status').textContent()).to.equal('granted');
    expect(await page.getByTestId('balance').textContent()).to.equal('500 credits');
    expect(await page.locator('.flash-success').textContent()).to.contain('Payment confirmed: package applied');
    await screenshot(page, 'portal-purchase-granted');

    // The overview shows the new balance too.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.waitForURL(`${base}/portal`);
    expect(await page.getByTestId('balance').textContent()).to.equal('500 credits');
    expect(problems).to.deep.equal([]);
  });
});

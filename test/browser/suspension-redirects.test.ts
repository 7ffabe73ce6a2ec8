import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium, signIn } from '../support/browser';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import type { TestDeps } from '../support/deps';
import { startLiveApp, type LiveApp } from '../support/live-app';
import { requireOrSkip } from '../support/env';
import { bearer } from '../support/http';
import { createWorld, type World } from '../support/world';

/** Real headless Chromium: every redirect to the invoice page (suspended, provider suspended, over a limit) and the way back. */
describe('browser: suspension and over-limit redirects to the invoice page', function () {
  this.timeout(90_000);
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
    live = await startLiveApp({ start: new Date('2026-03-01T09:00:00Z') });
    ({ deps, base, app } = live);
    w = await createWorld(deps);
    const b = billingApi(app);
    // Client a1 and agency B run up two overdue invoices; client a2 goes over its representatives.
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot', billing: 'monthly', monthlyPriceMinor: 3100 });
    await b.start(w.a.subs[0].key, pkg.id).expect(201);
    const plan = await b.createPackage(w.platformKey, { name: 'Agency plan', billing: 'monthly', monthlyPriceMinor: 31000 });
    await b.start(w.b.key, plan.id).expect(201);
    const team = await b.createPackage(w.a.key, { name: 'Team 2', billing: 'monthly', monthlyPriceMinor: 5000, representatives: 1 });
    const sub = (await b.start(w.a.subs[1].key, team.id).expect(201)).body;
    for (const n of [1, 2]) await b.api().post('/api/v1/representatives').set(bearer(w.a.subs[1].key)).send({ name: `Rep ${n}`, email: `rep${n}@a2.test` }).expect(201);
    await b.cancel(w.a.subs[1].key, sub.id).expect(200);
    for (const day of ['2026-04-01', '2026-05-01', '2026-05-12']) {
      moveTo(deps, day);
      await tick(deps);
    }
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await live?.close();
  });

  async function signInAs(email: string): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, base, email);
    return page;
  }
  const path = (page: Page) => new URL(page.url()).pathname;

  it('a suspended client lands on its invoice page from every portal page, with the reason and the amount; profile stays open', async () => {
    const page = await signInAs(w.a.subs[0].owner.email);
    for (const p of ['/portal', '/portal/api-keys', '/portal/team', '/portal/whatsapp']) {
      await page.goto(`${base}${p}`);
      expect(path(page), p).to.equal('/portal/billing');
    }
    expect(await page.getByTestId('suspension-reason').textContent()).to.contain('2 invoices are past their due date');
    expect(await page.getByTestId('amount-due').textContent()).to.contain('62');
    await page.goto(`${base}/profile`);
    expect(path(page)).to.equal('/profile');
  });

  it('an agency suspended for its invoices is sent to its invoice page', async () => {
    const page = await signInAs(w.b.owner.email);
    for (const p of ['/agency', '/agency/sub-accounts', '/agency/api-keys']) {
      await page.goto(`${base}${p}`);
      expect(path(page), p).to.equal('/agency/billing');
    }
    expect(await page.getByTestId('suspension').textContent()).to.contain('Your account is suspended');
  });

  it('a client over its limit is told how many to delete, deletes one from the invoice page, and the portal opens again', async () => {
    const page = await signInAs(w.a.subs[1].owner.email);
    await page.goto(`${base}/portal`);
    expect(path(page)).to.equal('/portal/billing');
    expect(await page.getByTestId('over-limits').textContent()).to.contain('You have 2 representatives and your plan allows 1: delete 1 representative, or add 1 by upgrading your package.');
    await page.getByRole('button', { name: 'Delete Rep 1' }).click();
    await page.waitForURL(`${base}/portal/billing`);
    expect(await page.locator('.flash-success').textContent()).to.contain('Rep 1 removed');
    expect(await page.getByTestId('over-limits').count()).to.equal(0);
    await page.goto(`${base}/portal`);
    expect(path(page)).to.equal('/portal');
  });
});

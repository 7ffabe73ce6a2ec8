// Issue 16's third journey in real Chromium, at a laptop's and a phone's width: an agency publishes
// a credit pack its pool cannot cover (the page warns), a client buys it and pays on the sandbox
// gateway; the paid purchase waits for the pool, the client is told so, the agency's home lists it
// with the way to act; the agency buys credits from the platform's store (sandbox checkout too),
// the purchase is applied, and the client sees its credits.
import { expect } from 'chai';
import request from 'supertest';
import { browserWorld, fitsWindow, navigate, screenshot, signIn, viewportFor, watchErrors, WIDTHS } from '../support/browser';
import { bearer } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';

describe('browser journey: a paid purchase waits for the agency\'s pool and is applied after a top-up', function () {
  this.timeout(120_000);
  const t = browserWorld();

  before(async () => {
    // The platform sells 10,000 credits for TRY 500 in its store.
    await request(t.app).post('/api/v1/topup-packages').set(bearer(t.w.platformKey)).send({ credits: 10_000, priceMinor: 50_000, currency: 'TRY' }).expect(201);
  });
  after(async () => {
    if (t.deps) await assertLedgerInvariant(t.deps.db);
  });

  // Each pack needs more than the pool holds when it is bought: 0 at first, 4,000 after the first top-up.
  const plan = { 1366: { client: 0, credits: '6000', shown: '6,000', pool: '0' }, 390: { client: 1, credits: '6000', shown: '6,000', pool: '4,000' } } as const;

  for (const width of WIDTHS) {
    it(`at ${width} pixels: the purchase waits, shows on the agency's home, and is applied after the agency tops up`, async () => {
      const p = plan[width];
      const sub = t.w.a.subs[p.client];
      const packName = `Credits 6k ${width === 390 ? 'phone' : 'laptop'}`;
      const context = await t.browser.newContext({ viewport: viewportFor(width) });
      context.setDefaultTimeout(15_000);
      const agency = await context.newPage();
      const problems = watchErrors(agency);
      await signIn(agency, t.base, t.w.a.owner.email);

      // The agency publishes a pack its pool cannot cover: the page says so and how to act.
      await navigate(agency, 'Catalog', 'Catalog');
      const form = agency.locator('form[action="/agency/packages"]');
      await form.locator('input[name=name]').fill(packName);
      await form.locator('input[name=price]').fill('299.90');
      await form.locator('input[name=credits]').fill(p.credits);
      await form.locator('input[name=published]').check();
      await form.locator('button[type=submit]').click();
      await agency.waitForLoadState('load');
      expect(await agency.locator('.flash').innerText()).to.contain(`needs ${p.shown} credits per sale and your pool has ${p.pool}`).and.contain('Buy credits or turn on auto-billing');
      await screenshot(agency, 'journey-pool-publish-warning');

      // The client buys it and pays: the payment is taken, the credits wait for the agency's pool.
      const portal = await (await t.browser.newContext({ viewport: viewportFor(width) })).newPage();
      portal.context().setDefaultTimeout(15_000);
      const portalProblems = watchErrors(portal);
      await signIn(portal, t.base, sub.owner.email);
      await navigate(portal, 'Packages', 'Packages');
      await portal.getByRole('button', { name: `Buy ${packName}` }).click();
      await portal.waitForURL(/\/sandbox\/checkout\//);
      await portal.getByTestId('pay').click();
      await portal.waitForURL(/\/portal\/purchases/);
      expect(await portal.locator('.flash').innerText()).to.contain('the package will be applied shortly');
      const row = portal.locator('[data-testid=purchases] tbody tr', { hasText: packName });
      expect(await row.getByTestId('status').innerText()).to.match(/paid/i);
      // The status is in sight, not scrolled off to the right of a phone's screen.
      const box = (await row.getByTestId('status').boundingBox())!;
      expect(box.x + box.width, 'the status inside the window').to.be.at.most(width);
      expect(await portal.getByTestId('balance').innerText()).to.equal('0 credits');
      await fitsWindow(portal, 'the client\'s purchases while waiting');
      await screenshot(portal, 'journey-pool-client-waiting');

      // The agency's home lists the paid purchase waiting for it, with the ways to act.
      await navigate(agency, 'Home', 'Home');
      const waiting = agency.getByTestId('waiting-purchases');
      expect(await waiting.innerText()).to.contain(sub.name).and.contain(packName).and.contain(p.shown).and.contain('TRY 299.90');
      await fitsWindow(agency, 'the agency home with a waiting purchase');
      await screenshot(agency, 'journey-pool-agency-home');

      // It buys credits from the platform's store and pays on the sandbox checkout.
      await waiting.getByRole('link', { name: 'Buy credits' }).click();
      await agency.waitForURL(/\/agency\/store$/);
      await agency.getByRole('button', { name: 'Buy', exact: true }).first().click();
      await agency.waitForURL(/\/sandbox\/checkout\//);
      await agency.getByTestId('pay').click();
      await agency.waitForLoadState('load');
      await t.deps.queue.drain();

      // Applied: gone from the agency's home; the client sees the purchase granted and its credits.
      await agency.goto(`${t.base}/agency`);
      expect(await agency.getByTestId('waiting-purchases').count(), 'nothing waiting any more').to.equal(0);
      await screenshot(agency, 'journey-pool-agency-home-after');
      await portal.goto(`${t.base}/portal/purchases`);
      expect(await portal.locator('[data-testid=purchases] tbody tr', { hasText: packName }).getByTestId('status').innerText()).to.equal('granted');
      expect(await portal.getByTestId('balance').innerText()).to.equal('6,000 credits');
      await screenshot(portal, 'journey-pool-client-granted');
      expect(problems).to.deep.equal([]);
      expect(portalProblems).to.deep.equal([]);
      await portal.context().close();
      await context.close();
    });
  }
});

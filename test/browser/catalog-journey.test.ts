// Issue 16's first journey in real Chromium, at a laptop's and a phone's width: the agency creates
// and publishes every kind of offer its catalog page sells (credit pack, prepaid monthly credits,
// monthly package, term package, add-on module, per-unit item, extra sessions) through its screens,
// and its client, signed in to the portal, sees each one where it buys it.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { browserWorld, fitsWindow, navigate, screenshot, signIn, viewportFor, watchErrors, WIDTHS } from '../support/browser';
import { bearer } from '../support/http';

describe('browser journey: the agency publishes every kind of offer and its client sees each', function () {
  this.timeout(120_000);
  const t = browserWorld();

  /** Fills the form of a new prepaid package (credit pack or monthly credits) and submits it. */
  async function createPrepaid(page: Page, o: { name: string; type: 'credit' | 'subscription'; price: string; credits: string; termMonths?: string }) {
    const form = page.locator('form[action="/agency/packages"]');
    await form.locator('input[name=name]').fill(o.name);
    await form.locator('select[name=type]').selectOption(o.type);
    await form.locator('input[name=price]').fill(o.price);
    await form.locator('input[name=credits]').fill(o.credits);
    if (o.termMonths) await form.locator('input[name=termMonths]').fill(o.termMonths);
    await form.getByLabel('Support').check();
    await form.locator('input[name=published]').check();
    await form.locator('button[type=submit]').click();
    await page.waitForLoadState('load');
    const said = await page.locator('.flash, .field-error').allInnerTexts();
    expect(said.join(' | '), o.name).to.contain(o.name);
  }

  /** Fills the form of a new billed item (package, add-on, per-unit item, extra sessions) and submits it. */
  async function createBilled(page: Page, o: Record<string, string> & { name: string; kind: string }) {
    const details = page.locator('details', { has: page.getByTestId('billed-offer-form') });
    if (!(await details.evaluate((d) => d.hasAttribute('open')))) await details.locator('summary').click();
    const form = page.getByTestId('billed-offer-form');
    await form.locator('select[name=kind]').selectOption(o.kind);
    await form.locator('input[name=name]').fill(o.name);
    if (o.billing) await form.locator('select[name=billing]').selectOption(o.billing);
    if (o.termMonths) await form.locator('select[name=termMonths]').selectOption(o.termMonths);
    await form.locator('input[name=price]').fill(o.price!);
    for (const k of ['chatbotSessions', 'representatives', 'whatsappChannels']) if (o[k]) await form.locator(`input[name=${k}]`).fill(o[k]);
    if (o.module) await form.locator(`input[name=modules][value=${o.module}]`).check();
    if (o.unit) await form.locator('select[name=unit]').selectOption(o.unit);
    await form.locator('input[name=published]').check();
    await form.locator('button[type=submit]').click();
    await page.waitForLoadState('load');
    const said = await page.locator('.flash, .field-error').allInnerTexts();
    expect(said.join(' | '), o.name).to.contain(o.name);
  }

  for (const width of WIDTHS) {
    it(`at ${width} pixels: seven offers created and published from the catalog page, each in the client's portal`, async () => {
      const n = width === 390 ? 'phone' : 'laptop';
      if (width === WIDTHS[0]) {
        // A pool that covers the credit offers (publishing one it cannot cover warns: another journey).
        await request(t.app).post(`/api/v1/agencies/${t.w.a.id}/adjustments`).set(bearer(t.w.platformKey)).send({ credits: 100_000, reason: 'seed' }).expect(201);
        await request(t.app).post('/api/v1/departments').set(bearer(t.w.a.key)).send({ name: 'Support', creditsPerRequest: 2 }).expect(201);
      }
      const names = {
        pack: `Credits 1k ${n}`, monthlyCredits: `Credits 500 a month for 6 months ${n}`, monthly: `Chatbot 20k ${n}`, term: `Chatbot year ${n}`,
        addon: `Reports module ${n}`, unit: `Extra representative ${n}`, sessions: `Session block ${n}`,
      };
      const context = await t.browser.newContext({ viewport: viewportFor(width) });
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      const problems = watchErrors(page);
      await signIn(page, t.base, t.w.a.owner.email);
      await navigate(page, 'Catalog', 'Catalog');
      expect(new URL(page.url()).pathname).to.equal('/agency/packages');
      await fitsWindow(page, 'the catalog page');

      await createPrepaid(page, { name: names.pack, type: 'credit', price: '149.50', credits: '1000' });
      await createPrepaid(page, { name: names.monthlyCredits, type: 'subscription', price: '540', credits: '500', termMonths: '6' });
      await createBilled(page, { kind: 'package', name: names.monthly, billing: 'monthly', price: '1500', chatbotSessions: '20000', representatives: '2' });
      await createBilled(page, { kind: 'package', name: names.term, billing: 'term', termMonths: '12', price: '1500', chatbotSessions: '20000', representatives: '2' });
      await createBilled(page, { kind: 'addon', name: names.addon, price: '250', module: width === 390 ? 'ticket_system' : 'ai_assistant' });
      await createBilled(page, { kind: 'quantity', name: names.unit, price: '120', unit: 'representative' });
      await createBilled(page, { kind: 'extra_sessions', name: names.sessions, price: '300', chatbotSessions: '5000' });

      // What the clients see: the buyers' view lists every one of them, published.
      await page.goto(`${t.base}/agency/packages?view=buyers`);
      const buyers = await page.locator('main').innerText();
      for (const name of Object.values(names)) expect(buyers, name).to.contain(name);
      await fitsWindow(page, 'the catalog page with seven offers');
      await screenshot(page, 'journey-catalog-agency');
      expect(problems).to.deep.equal([]);

      // The client, in its portal: prepaid offers on Packages, billed ones on Billing.
      await context.clearCookies();
      const client = await context.newPage();
      const clientProblems = watchErrors(client);
      await signIn(client, t.base, t.w.a.subs[0].owner.email);
      await navigate(client, 'Packages', 'Packages');
      const prepaid = await client.getByTestId('packages').innerText();
      expect(prepaid).to.contain(names.pack).and.contain('TRY 149.50').and.contain(names.monthlyCredits);
      expect(await client.getByRole('button', { name: `Buy ${names.pack}` }).isVisible()).to.equal(true);
      await fitsWindow(client, 'the portal packages');
      await screenshot(client, 'journey-catalog-portal-packages');

      await navigate(client, 'Billing', 'Billing');
      expect(await client.getByTestId('offers').innerText()).to.contain(names.monthly).and.contain(names.term);
      expect(await client.getByTestId('modules').innerText()).to.contain(names.addon);
      const extras = await client.getByTestId('additional').innerText();
      expect(extras).to.contain(names.unit);
      expect(await client.getByTestId('extra-sessions').innerText()).to.contain('5,000');
      await fitsWindow(client, 'the portal billing page');
      await screenshot(client, 'journey-catalog-portal-billing');
      expect(clientProblems).to.deep.equal([]);
      await context.close();
    });
  }
});

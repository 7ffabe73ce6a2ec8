import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { agencies, subAccounts } from '../../db/schema';
import { newId } from '../../src/lib/ids';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium, signIn } from '../support/browser';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { requireOrSkip } from '../support/env';
import { createWorld, type World } from '../support/world';

/** Kept by CI as artefacts (gitignored): the pages at a laptop's and a phone's width. */
const SHOTS = path.resolve('artifacts/screenshots');

/** Real headless Chromium at 1366 and 390 pixels: nothing wider than the window, a menu on a phone. */
describe('browser: layout at 1366 and 390 pixels', function () {
  this.timeout(90_000);
  let deps: TestDeps;
  let w: World;
  let server: Server;
  let base: string;
  let browser: Browser;

  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    await deps.db.update(agencies).set({ brandDisplayName: 'Atlas Studio', brandColor: '#0b6e4f', supportEmail: 'help@atlas.example' }).where(eq(agencies.id, w.a.id));
    // A client with a long unbroken name: its row must scroll inside the table, not widen the page.
    const now = deps.clock.now();
    await deps.db.insert(subAccounts).values({ id: newId('sub'), agencyId: w.a.id, name: `Client-with-a-very-long-name-${'x'.repeat(60)}`, billingEmail: `billing-${'y'.repeat(40)}@example.test`, createdAt: now, updatedAt: now });
    server = createApp(deps).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    server?.close();
    await deps?.close();
  });

  const noOverflow = async (page: Page, what: string) => {
    const [scroll, inner] = await page.locator('html').evaluate((el) => [el.scrollWidth, el.ownerDocument.defaultView!.innerWidth]);
    expect(scroll, `${what}: page ${scroll}px wide in a ${inner}px window`).to.be.at.most(inner!);
  };

  for (const width of [1366, 390]) {
    it(`agency and portal pages fit ${width} pixels, with the navigation usable`, async () => {
      const context = await browser.newContext({ viewport: { width, height: width === 390 ? 844 : 768 } });
      const problems: string[] = [];
      const page = await context.newPage();
      page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
      page.on('pageerror', (e) => problems.push(e.message));

      await signIn(page, base, w.a.owner.email);
      await page.goto(`${base}/agency/sub-accounts`);
      await noOverflow(page, 'agency sub-accounts');
      await page.screenshot({ path: path.join(SHOTS, `agency-sub-accounts-${width}.png`), fullPage: true });
      // The navigation's groups: Home, Clients, Catalog, Reports, Money, Settings, in one row at 1366.
      const menu = page.locator('summary.nav-toggle');
      if (width === 390) {
        expect(await page.getByRole('link', { name: 'Sub-accounts' }).isVisible()).to.equal(false);
        await menu.click();
      } else {
        expect(await menu.isVisible()).to.equal(false);
        const tops = await page.locator('.nav-links > li').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
        expect(new Set(tops).size, 'one row of navigation').to.equal(1);
      }
      const groups = await page.locator('.nav-links > li').allTextContents();
      expect(groups.map((g) => g.trim().split(/\s+/)[0])).to.deep.equal(['Home', 'Clients', 'Catalog', 'Reports', 'Money', 'Settings']);
      await page.locator('summary', { hasText: 'Money' }).click();
      await page.screenshot({ path: path.join(SHOTS, `agency-menu-${width}.png`) });
      await page.getByRole('link', { name: 'Invoices' }).click();
      await page.waitForURL(`${base}/agency/invoices`);
      await noOverflow(page, 'agency invoices');

      await page.goto(`${base}/agency/settings`);
      await noOverflow(page, 'agency settings');
      await page.screenshot({ path: path.join(SHOTS, `agency-settings-${width}.png`), fullPage: true });
      await page.goto(`${base}/agency/settings/collections`);
      await noOverflow(page, 'agency collection settings');

      const client = await context.newPage();
      await context.clearCookies();
      await signIn(client, base, w.a.subs[0].owner.email);
      for (const p of ['/portal', '/portal/billing', '/portal/packages']) {
        await client.goto(`${base}${p}`);
        await noOverflow(client, p);
        expect(await client.getByTestId('brand').textContent()).to.equal('Atlas Studio');
        expect(await client.locator('body').textContent()).to.not.contain('Kontor');
        const shot = p === '/portal' ? 'portal' : `portal-${p.split('/').pop()}`;
        await client.screenshot({ path: path.join(SHOTS, `${shot}-${width}.png`), fullPage: true });
      }
      // The brand colour reached the page (its stylesheet passed the CSP).
      const primary = await client.locator('header.site-header').evaluate((el) => { const st = el.ownerDocument.defaultView!.getComputedStyle(el); return [st.borderTopColor, st.getPropertyValue('--pico-primary-background').trim()]; });
      expect(primary).to.deep.equal(['rgb(11, 110, 79)', '#0b6e4f']);
      expect(problems).to.deep.equal([]);
      await context.close();
    });
  }

  // Issue 16: a long agency name broke the header on a phone (the brand pushed the menu, the bell
  // and the language switch out of the window). It is cut with an ellipsis, the full name in its title.
  for (const width of [390, 1366]) {
    it(`a long agency name keeps the header within ${width} pixels, the full name in the brand's title and accessible name`, async () => {
      const long = 'Atlas Studio Dijital Pazarlama Reklam ve Yazılım Hizmetleri Anonim Şirketi';
      await deps.db.update(agencies).set({ name: long, brandDisplayName: long }).where(eq(agencies.id, w.a.id));
      const context = await browser.newContext({ viewport: { width, height: width === 390 ? 844 : 768 } });
      try {
        const page = await context.newPage();
        const onScreen = async (what: string, locator: ReturnType<Page['locator']>) => {
          expect(await locator.isVisible(), `${what} visible`).to.equal(true);
          const box = (await locator.boundingBox())!;
          expect(box.x, `${what} starts in the window`).to.be.at.least(0);
          expect(box.x + box.width, `${what} ends in the ${width}px window`).to.be.at.most(width);
        };
        const header = async (what: string, tenantInMenu: boolean) => {
          await noOverflow(page, what);
          const brand = page.getByTestId('brand');
          await onScreen(`${what}: brand`, brand);
          await onScreen(`${what}: language switch`, page.getByTestId('language-switch').locator('button'));
          if (width === 390) {
            await onScreen(`${what}: menu`, page.locator('summary.nav-toggle'));
            await onScreen(`${what}: bell`, page.getByTestId('bell-phone'));
            await page.locator('summary.nav-toggle').click();
            // Open, the menu is a panel under the header: the button stays beside the bell, not over it.
            const bell = (await page.getByTestId('bell-phone').boundingBox())!;
            const button = (await page.locator('summary.nav-toggle').boundingBox())!;
            const apart = bell.x + bell.width <= button.x || button.x + button.width <= bell.x || bell.y + bell.height <= button.y || button.y + button.height <= bell.y;
            expect(apart, `${what}: the open menu's button does not cover the bell`).to.equal(true);
            await onScreen(`${what}: language switch with the menu open`, page.getByTestId('language-switch').locator('button'));
          } else {
            await onScreen(`${what}: bell`, page.getByTestId('bell'));
          }
          const tenant = page.getByTestId('tenant-name');
          if (tenantInMenu) {
            await onScreen(`${what}: tenant name`, tenant);
            expect(await tenant.getAttribute('title')).to.contain(long);
          }
          await noOverflow(page, `${what} with the menu open`);
        };

        await signIn(page, base, w.a.owner.email);
        await page.goto(`${base}/agency/sub-accounts`);
        await header('agency console', true);
        await page.screenshot({ path: path.join(SHOTS, `agency-long-name-${width}.png`) });

        await context.clearCookies();
        await signIn(page, base, w.a.subs[0].owner.email);
        for (const p of ['/portal', '/portal/billing']) {
          await page.goto(`${base}${p}`);
          // The brand is the agency's: its whole name is the link's name and title, its text cut on a phone.
          const brand = page.getByTestId('brand');
          expect(await brand.getAttribute('title')).to.equal(long);
          expect(await page.getByRole('link', { name: long, exact: true }).count()).to.equal(1);
          if (width === 390) {
            const [scroll, client] = await brand.locator('strong').evaluate((el) => [el.scrollWidth, el.clientWidth]);
            expect(scroll, 'the name is cut (ellipsis), not wrapped or spilled').to.be.above(client!);
          }
          await header(`portal ${p}`, true);
        }
        await page.screenshot({ path: path.join(SHOTS, `portal-long-name-${width}.png`) });
      } finally {
        await context.close();
        await deps.db.update(agencies).set({ name: w.a.name, brandDisplayName: 'Atlas Studio' }).where(eq(agencies.id, w.a.id));
      }
    });
  }
});

// axe-core in real Chromium on the main pages of the three scopes: no serious or critical
// violation (WCAG 2.1 A and AA rules).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AxeBuilder } from '@axe-core/playwright';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { createApp } from '../../src/web/app';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium, signIn } from '../support/browser';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { requireOrSkip } from '../support/env';
import { createWorld, type World } from '../support/world';

describe('browser: accessibility (axe-core)', function () {
  this.timeout(180_000);
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
    server = createApp(deps).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    server?.close();
    await deps?.close();
  });

  const pages: Record<string, { email: () => string; paths: string[] }> = {
    platform: { email: () => w.platformAdmin.email, paths: ['/platform', '/platform/agencies', '/platform/catalog', '/platform/invoices', '/platform/payments', '/platform/payment-systems', '/profile'] },
    agency: { email: () => w.a.owner.email, paths: ['/agency', '/agency/sub-accounts', '/agency/packages', '/agency/purchases', '/agency/credits', '/agency/billing', '/agency/invoices', '/agency/store', '/agency/auto-billing', '/agency/settings', '/agency/team'] },
    client: { email: () => w.a.subs[0].owner.email, paths: ['/portal', '/portal/packages', '/portal/purchases', '/portal/billing', '/portal/credits'] },
  };

  for (const [scope, { email, paths }] of Object.entries(pages)) {
    it(`the ${scope}'s pages have no serious or critical violation`, async () => {
      const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
      const page = await context.newPage();
      await signIn(page, base, email());
      const found: string[] = [];
      for (const p of [...paths, ...(scope === 'agency' ? [`/agency/sub-accounts/${w.a.subs[0].id}`] : [])]) {
        await page.goto(`${base}${p}`);
        const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
        for (const v of result.violations.filter((x) => x.impact === 'serious' || x.impact === 'critical')) {
          found.push(`${p}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
        }
      }
      await context.close();
      expect(found, found.join('\n')).to.deep.equal([]);
    });
  }
});

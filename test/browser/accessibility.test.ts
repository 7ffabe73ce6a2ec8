// axe-core in real Chromium on the main pages of the three scopes: no serious or critical
// violation (WCAG 2.1 A and AA rules).
import { AxeBuilder } from '@axe-core/playwright';
import { expect } from 'chai';
import { browserWorld, signIn } from '../support/browser';

describe('browser: accessibility (axe-core)', function () {
  this.timeout(180_000);
  const t = browserWorld();

  const pages: Record<string, { email: () => string; paths: string[] }> = {
    platform: { email: () => t.w.platformAdmin.email, paths: ['/platform', '/platform/agencies', '/platform/catalog', '/platform/invoices', '/platform/payments', '/platform/payment-systems', '/platform/settings/collections', '/profile'] },
    agency: { email: () => t.w.a.owner.email, paths: ['/agency', '/agency/sub-accounts', '/agency/packages', '/agency/purchases', '/agency/credits', '/agency/billing', '/agency/invoices', '/agency/store', '/agency/auto-billing', '/agency/settings', '/agency/settings/collections', '/agency/team'] },
    client: { email: () => t.w.a.subs[0].owner.email, paths: ['/portal', '/portal/packages', '/portal/purchases', '/portal/billing', '/portal/credits'] },
  };

  for (const [scope, { email, paths }] of Object.entries(pages)) {
    it(`the ${scope}'s pages have no serious or critical violation`, async () => {
      const context = await t.browser.newContext({ viewport: { width: 1366, height: 900 } });
      const page = await context.newPage();
      await signIn(page, t.base, email());
      const found: string[] = [];
      for (const p of [...paths, ...(scope === 'agency' ? [`/agency/sub-accounts/${t.w.a.subs[0].id}`] : [])]) {
        await page.goto(`${t.base}${p}`);
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

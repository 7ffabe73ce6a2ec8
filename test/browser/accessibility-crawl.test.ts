// axe-core in real Chromium on every page of the three scopes: the demo world's platform admin,
// agency owner and client each sign in, every page reachable from their navigation (and the pages
// those link to: one client, one invoice, one offer...) is found by following the links, one page
// per kind of page (the same page with another id or filter is the same markup), and each is
// checked for serious or critical WCAG 2.1 A/AA violations.
import { AxeBuilder } from '@axe-core/playwright';
import { expect } from 'chai';
import type { BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { DEMO_KEYS, DEMO_PASSWORD, seedDemo } from '../../src/demo/seed';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium } from '../support/browser';
import { resetData } from '../support/db';
import { requireOrSkip } from '../support/env';
import { bearer } from '../support/http';
import { startLiveApp, type LiveApp } from '../support/live-app';
import type { Browser } from 'playwright-core';

/** Pages per test (a test stays well under a minute on a loaded machine); a scope has at most CHUNKS of them. */
const PER_TEST = 5;
const CHUNKS = 11;
/** An id in a path: the same page for another client, invoice or offer. */
const ID_SEGMENT = /\/[a-z]{2,4}_[0-9a-z]{6,}(?=\/|$)/g;

const scopes = [
  { scope: 'platform', email: 'admin@kontor.test' },
  { scope: 'agency', email: 'owner@atlas.test' },
  { scope: 'client', email: 'owner@lumen.test' },
] as const;

describe('browser: accessibility of every page of the three scopes (axe-core crawl of the demo world)', function () {
  this.timeout(120_000);
  let live: LiveApp;
  let browser: Browser;
  const crawled = new Map<string, { context: BrowserContext; page: Page; paths: string[] }>();

  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    await resetData();
    live = await startLiveApp();
    expect(await seedDemo(live.deps)).to.equal(true);
    // Lists that are not empty: a credit adjustment, a running subscription, a paid offline purchase.
    const api = () => request(live.app);
    const subs = (await api().get('/api/v1/sub-accounts').set(bearer(DEMO_KEYS.atlas)).expect(200)).body.data as { id: string; name: string }[];
    const lumen = subs.find((s) => s.name === 'Cafe Lumen')!;
    await api().post(`/api/v1/sub-accounts/${lumen.id}/adjustments`).set(bearer(DEMO_KEYS.atlas)).send({ credits: 250, reason: 'goodwill', note: 'Opening gift' }).expect(201);
    const offered = (await api().get('/api/v1/packages').set(bearer(DEMO_KEYS.atlasClient)).expect(200)).body.data as { id: string; name: string }[];
    await api().post('/api/v1/subscriptions').set(bearer(DEMO_KEYS.atlasClient)).send({ packageId: offered.find((p) => p.name === 'Chatbot 20k')!.id }).expect(201);
    const pack = (await api().post('/api/v1/packages').set(bearer(DEMO_KEYS.atlas)).send({ name: 'Starter credits', type: 'credit', credits: 1000, priceMinor: 14_950, currency: 'TRY', published: true }).expect(201)).body as { id: string };
    await api().post(`/api/v1/sub-accounts/${lumen.id}/purchases`).set(bearer(DEMO_KEYS.atlas)).send({ packageId: pack.id, payment: 'offline' }).expect(201);
    browser = await launchChromium();
  });
  after(async () => {
    for (const c of crawled.values()) await c.context.close();
    await browser?.close();
    await live?.close();
  });

  for (const { scope, email } of scopes) {
    it(`${scope}: finds every page reachable from the navigation`, async () => {
      const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${live.base}/login`);
      await page.fill('input[name=email]', email);
      await page.fill('input[name=password]', DEMO_PASSWORD);
      await page.click('form[action="/login"] button[type=submit]');
      await page.waitForLoadState('load');

      // Breadth first over the links (fetched with the session's cookies, not rendered: fast).
      const kinds = new Set<string>();
      const paths: string[] = [];
      const queue: string[] = [new URL(page.url()).pathname];
      while (queue.length > 0 && paths.length < PER_TEST * CHUNKS + 1) {
        const p = queue.shift()!;
        const kind = p.split('?')[0]!.replace(ID_SEGMENT, '/:id');
        if (kinds.has(kind)) continue;
        kinds.add(kind);
        const res = await context.request.get(`${live.base}${p}`, { maxRedirects: 0 });
        if (res.status() >= 300 && res.status() < 400) {
          queue.push(new URL(res.headers().location!, `${live.base}${p}`).pathname);
          kinds.delete(kind);
          kinds.add(`${kind} (redirect)`);
          continue;
        }
        expect(res.status(), `GET ${p}`).to.be.below(500);
        if (!String(res.headers()['content-type']).includes('html') || res.status() !== 200) continue;
        paths.push(p);
        const html = await res.text();
        for (const m of html.matchAll(/<a\b[^>]*\shref="([^"#]*)(?:#[^"]*)?"/gi)) {
          const raw = m[1]!.replace(/&amp;/g, '&');
          if (!raw || /^(mailto|tel|javascript):/i.test(raw)) continue;
          const u = new URL(raw, `${live.base}${p}`);
          if (u.origin !== live.base || /\.(csv|pdf|svg|css|js|json)$|\/pdf$/.test(u.pathname) || u.pathname.startsWith('/assets') || u.pathname.startsWith('/sandbox')) continue;
          queue.push(u.pathname + u.search);
        }
      }
      expect(paths.length, `more pages than the ${CHUNKS} tests of ${PER_TEST} check: raise CHUNKS`).to.be.at.most(PER_TEST * CHUNKS);
      expect(paths.length, 'pages found').to.be.greaterThan(4);
      crawled.set(scope, { context, page, paths });
    });

    for (let chunk = 0; chunk < CHUNKS; chunk++) {
      it(`${scope}: pages ${chunk * PER_TEST + 1} to ${(chunk + 1) * PER_TEST} have no serious or critical violation`, async function () {
        const c = crawled.get(scope);
        if (!c) this.skip();
        const mine = c.paths.slice(chunk * PER_TEST, (chunk + 1) * PER_TEST);
        const found: string[] = [];
        for (const p of mine) {
          await c.page.goto(`${live.base}${p}`);
          // Only the violations are reported in detail (the passes are not needed: faster on a big page).
          const result = await new AxeBuilder({ page: c.page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).options({ resultTypes: ['violations'] }).analyze();
          for (const v of result.violations.filter((x) => x.impact === 'serious' || x.impact === 'critical')) {
            found.push(`${p}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
          }
        }
        expect(found, found.join('\n')).to.deep.equal([]);
      });
    }
  }
});

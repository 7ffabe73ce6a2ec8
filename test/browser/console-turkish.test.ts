import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { agencies, subAccounts } from '../../db/schema';
import { createApp } from '../../src/web/app';
import { browserWorld } from '../support/browser';
import { bearer } from '../support/http';
import { PASSWORD } from '../support/world';

/** Kept by CI as artefacts (gitignored). */
const SHOTS = path.resolve('artifacts/screenshots');

/**
 * The Turkish agency console in real Chromium at 1366 pixels: Turkish labels are longer than the
 * English ones, and must still fit (no page wider than the window), and the pool chart draws with
 * the page's own words.
 */
describe('browser: the agency console in Turkish at 1366 pixels', function () {
  this.timeout(90_000);
  const t = browserWorld();

  before(async () => {
    const { deps, w } = t;
    await deps.db.update(agencies).set({ locale: 'tr', name: 'Anadolu Dijital' }).where(eq(agencies.id, w.a.id));
    await deps.db.update(subAccounts).set({ name: 'Ege Kafe' }).where(eq(subAccounts.id, w.a.subs[0].id));
    const app = createApp(deps);
    const api = () => request(app);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 1500, reason: 'başlangıç' }).expect(201);
    await api().put('/api/v1/low-balance-threshold').set(bearer(w.a.key)).send({ threshold: 1000 }).expect(200);
    await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Müşteri hizmetleri', creditsPerRequest: 2 }).expect(201);
    const pack = (await api().post('/api/v1/offers').set(bearer(w.a.key)).send({ kind: 'credit_pack', name: 'Kredi 2 bin', priceMinor: 4990, currency: 'TRY', credits: 2000, published: true }).expect(201)).body.id;
    await api().post('/api/v1/offers').set(bearer(w.a.key)).send({ kind: 'prepaid_subscription', name: 'Altı aylık abonelik', priceMinor: 29900, currency: 'TRY', credits: 300, termMonths: 6, chatbots: 1, published: false }).expect(201);
    await api().post('/api/v1/offers').set(bearer(w.a.key)).send({ kind: 'package', name: 'Sohbet 20 bin', priceMinor: 150_000, currency: 'TRY', billing: 'monthly', chatbotSessions: 20_000, representatives: 3, whatsappChannels: 2, published: true }).expect(201);
    await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/purchases`).set(bearer(w.a.key)).send({ packageId: pack, payment: 'offline' }).expect(201);
    fs.mkdirSync(SHOTS, { recursive: true });
  });

  const noOverflow = async (page: Page, what: string) => {
    const [scroll, inner] = await page.locator('html').evaluate((el) => [el.scrollWidth, el.ownerDocument.defaultView!.innerWidth]);
    expect(scroll, `${what}: page ${scroll}px wide in a ${inner}px window`).to.be.at.most(inner!);
  };

  it('home and packages fit, read in Turkish, and the pool chart draws with Turkish words', async () => {
    const context = await t.browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'tr-TR' });
    const problems: string[] = [];
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${t.base}/login`);
    await page.fill('input[name=email]', t.w.a.owner.email);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('form[action="/login"] button[type=submit]');
    await page.waitForLoadState('load');

    await page.goto(`${t.base}/agency`);
    await page.waitForSelector('#pool-chart[data-drawn="true"]');
    expect(await page.locator('html').getAttribute('lang')).to.equal('tr');
    expect(await page.locator('#pool-chart').getAttribute('data-series-label')).to.equal('Kredi');
    expect(await page.locator('[data-testid="kpi-pool"]').textContent()).to.contain('1.500 kredi');
    await noOverflow(page, 'home');
    await page.screenshot({ path: path.join(SHOTS, 'agency-home-tr-1366.png'), fullPage: true });

    await page.goto(`${t.base}/agency/packages`);
    expect(await page.locator('h1').textContent()).to.equal('Paketler');
    await page.locator('details:has([data-testid="billed-offer-form"]) > summary').click();
    await noOverflow(page, 'packages');
    await page.screenshot({ path: path.join(SHOTS, 'agency-packages-tr-1366.png'), fullPage: true });

    await page.goto(`${t.base}/agency/sub-accounts/${t.w.a.subs[0].id}`);
    await noOverflow(page, 'client page');
    await page.screenshot({ path: path.join(SHOTS, 'agency-client-tr-1366.png'), fullPage: true });
    expect(problems).to.deep.equal([]);
    await context.close();
  });
});

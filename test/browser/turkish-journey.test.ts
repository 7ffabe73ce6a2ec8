import { expect } from 'chai';
import { and, eq, like } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { agencies, outboxEmails, users } from '../../db/schema';
import { readCatalogs } from '../../src/i18n/i18n';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium } from '../support/browser';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { requireOrSkip } from '../support/env';
import { bearer, signIn as signInAgent } from '../support/http';
import { startLiveApp, type LiveApp } from '../support/live-app';
import { createWorld, PASSWORD, type World } from '../support/world';

/**
 * Issue 17's journey in real Chromium: a client of a Turkish agency signs in and reads every page
 * of the portal in Turkish (no catalog key, no English sentence of any catalog), sets an online
 * status, turns email off for every category and switches the language in the header and back.
 * Then a low-balance notice reaches the notification centre and no email, and the month's invoice
 * is still emailed.
 */
const catalogs = readCatalogs();
function flatten(o: Record<string, unknown>, out: Record<string, string> = {}, prefix = ''): Record<string, string> {
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object') flatten(v as Record<string, unknown>, out, `${prefix}${k}.`);
    else out[`${prefix}${k}`] = String(v);
  }
  return out;
}
/**
 * The English sentences of every catalog that Turkish says differently: each fixed run of words
 * between {{parameters}} and markup of at least three words, so a page showing one of them has
 * English left on it.
 */
const englishSentences = (() => {
  const found = new Set<string>();
  for (const ns of Object.keys(catalogs.en)) {
    const en = flatten(catalogs.en[ns]!), tr = flatten(catalogs.tr[ns] ?? {});
    const trText = Object.values(tr).join('\n');
    for (const [key, text] of Object.entries(en)) {
      if (tr[key] === text) continue;
      for (const raw of text.split(/\{\{[^}]*\}\}|<[^>]*>|\n/)) {
        const piece = raw.trim().replace(/^[,;:.()·–\s]+|[,;:()·–\s]+$/g, '');
        if (piece.split(/\s+/).length >= 3 && /[a-z]{3}/.test(piece) && !trText.includes(piece)) found.add(piece);
      }
    }
  }
  return [...found];
})();

describe('browser: a Turkish client\'s journey (language, status, notification choices)', function () {
  this.timeout(180_000);
  let live: LiveApp;
  let w: World;

  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    await resetData();
    live = await startLiveApp({ start: new Date('2026-03-31T09:00:00Z') });
    w = await createWorld(live.deps);
    await live.deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, w.a.id));
    // The client holds a monthly package (its invoice is cut on the 1st) and some credits.
    const b = billingApi(live.app);
    const pkg = await b.createPackage(w.a.key, { name: 'Sohbet paketi', billing: 'monthly', monthlyPriceMinor: 3000, chatbotSessions: 20_000 });
    moveTo(live.deps, '2026-04-01');
    await b.start(w.a.subs[0].key, pkg.id).expect(201);
    const api = () => request(live.app);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 1000, reason: 'seed' }).expect(201);
    await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: 30, reason: 'seed' }).expect(201);
  });
  after(async () => {
    await live?.close();
  });

  const visibleText = (page: Page) => page.locator('body').innerText();
  async function readsTurkish(page: Page, where: string) {
    expect(await page.getAttribute('html', 'lang'), where).to.equal('tr');
    const text = await visibleText(page);
    expect(text.match(/\b[a-z][a-zA-Z]+:[a-z][\w]*\.[\w.]+\b/g) ?? [], `${where}: catalog keys on the page`).to.deep.equal([]);
    expect(englishSentences.filter((s) => text.includes(s)), `${where}: English left on the page`).to.deep.equal([]);
  }

  it('the detector of English text finds it on an English page (so it can fail)', async () => {
    expect(englishSentences.length).to.be.greaterThan(200);
    // The other agency speaks English: its home page is full of catalog sentences.
    const { agent } = await signInAgent(live.app, w.b.owner.email);
    const home = await agent.get('/agency').expect(200);
    const text = home.text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');
    expect(englishSentences.filter((s) => text.includes(s))).to.not.deep.equal([]);
  });

  it('reads every page in Turkish, sets status, choices and language, and gets its notices where it chose', async () => {
    const owner = w.a.subs[0].owner;
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'en-US' });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`${live.base}/login`);
      await page.fill('input[name=email]', owner.email);
      await page.fill('input[name=password]', PASSWORD);
      await page.click('form[action="/login"] button[type=submit]');
      await page.waitForURL(`${live.base}/portal`);

      // Every page the navigation and the header lead to, in Turkish although the browser asks for English.
      const links = await page.locator('header a[href^="/"]').evaluateAll((as) => [...new Set(as.map((a) => a.getAttribute('href')!))]);
      expect(links).to.include.members(['/portal', '/portal/billing', '/profile', '/notifications']);
      for (const href of links) {
        const res = await page.goto(`${live.base}${href}`);
        expect(res?.status(), href).to.equal(200);
        await readsTurkish(page, href);
      }

      // Status, then every email off (invoices must still come), in the profile.
      await page.goto(`${live.base}/profile`);
      await page.selectOption('select[name=status]', 'busy');
      await page.click('[data-testid=status-form] button[type=submit]');
      await page.waitForLoadState('load');
      expect(await page.inputValue('select[name=status]')).to.equal('busy');
      const prefs = page.locator('[data-testid=preferences]');
      for (const box of await prefs.locator('input[type=checkbox][name$=".email"]').all()) await box.uncheck();
      await prefs.locator('button[type=submit]').click();
      await page.waitForLoadState('load');
      await readsTurkish(page, 'profile after saving');
      expect(await page.locator('[data-testid=preferences] input[name$=".email"]:checked').count()).to.equal(0);
      const [u] = await live.deps.db.select({ presence: users.presence }).from(users).where(eq(users.id, owner.id));
      expect(u!.presence).to.equal('busy');

      // The header's switch: English for this person, then back to Turkish.
      await page.click('[data-testid=language-switch] button');
      await page.waitForLoadState('load');
      expect(await page.getAttribute('html', 'lang')).to.equal('en');
      await page.click('[data-testid=language-switch] button');
      await page.waitForLoadState('load');
      expect(await page.getAttribute('html', 'lang')).to.equal('tr');

      // A low-balance notice: in the centre (the bell counts it), no email.
      await request(live.app).put(`/api/v1/sub-accounts/${w.a.subs[0].id}/low-balance-threshold`).set(bearer(w.a.key)).send({ threshold: 50 }).expect(200);
      await live.deps.queue.drain();
      const lowMails = await live.deps.db.select().from(outboxEmails).where(like(outboxEmails.idempotencyKey, 'low-balance:%'));
      expect(lowMails.filter((m) => m.to.includes(owner.email) || m.cc.includes(owner.email)), 'no low-balance email to a person who turned it off').to.deep.equal([]);
      await page.goto(`${live.base}/notifications`);
      await readsTurkish(page, '/notifications with a notice');
      const bell = await page.locator('header a[href="/notifications"]').first().getAttribute('aria-label');
      expect(bell).to.match(/1/);

      // The month's invoice is emailed all the same.
      moveTo(live.deps, '2026-05-01');
      await tick(live.deps);
      const invoiceMails = await live.deps.db.select().from(outboxEmails).where(and(like(outboxEmails.idempotencyKey, 'invoice:%')));
      expect(invoiceMails.some((m) => m.to.includes(owner.email)), 'the invoice email goes whatever the choices').to.equal(true);
      expect(problems).to.deep.equal([]);
    } finally {
      await browser.close();
    }
  });
});

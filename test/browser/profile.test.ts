import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import webpush from 'web-push';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium } from '../support/browser';
import { resetData } from '../support/db';
import { requireOrSkip } from '../support/env';
import { bearer } from '../support/http';
import { startLiveApp, type LiveApp } from '../support/live-app';
import { createWorld, PASSWORD, type World } from '../support/world';
import request from 'supertest';

/** Kept by CI as artefacts (gitignored). */
const SHOTS = path.resolve('artifacts/screenshots');

/**
 * The profile in real Chromium at a phone's and a laptop's width, with push available: a person
 * sets their status and notification choices, and the header's bell counts a notice.
 */
describe('browser: the profile and the notification centre', function () {
  this.timeout(120_000);
  let live: LiveApp;
  let w: World;
  let browser: Browser;

  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    await resetData();
    const vapid = webpush.generateVAPIDKeys();
    live = await startLiveApp({ config: { VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, VAPID_SUBJECT: 'mailto:ops@kontor.test' } });
    w = await createWorld(live.deps);
    // One low-balance notice for the client's owner: the bell shows it.
    const api = () => request(live.app);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 1000, reason: 'seed' }).expect(201);
    await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: 30, reason: 'seed' }).expect(201);
    await api().put(`/api/v1/sub-accounts/${w.a.subs[0].id}/low-balance-threshold`).set(bearer(w.a.key)).send({ threshold: 50 }).expect(200);
    browser = await launchChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await live?.close();
  });

  // The login form's own button (the header's language switch has submit buttons too).
  const signIn = async (page: Page, email: string) => {
    await page.goto(`${live.base}/login`);
    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('form[action="/login"] button[type=submit]');
    await page.waitForLoadState('load');
  };

  const noOverflow = async (page: Page, what: string) => {
    const [scroll, inner] = await page.locator('html').evaluate((el) => [el.scrollWidth, el.ownerDocument.defaultView!.innerWidth]);
    expect(scroll, `${what}: page ${scroll}px wide in a ${inner}px window`).to.be.at.most(inner!);
  };

  for (const width of [1366, 390]) {
    it(`fits ${width} pixels: status, matrix with push, the bell with its count`, async () => {
      const context = await browser.newContext({ viewport: { width, height: width === 390 ? 844 : 900 } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
      await signIn(page, w.a.subs[0].owner.email);
      await page.goto(`${live.base}/profile`);
      await page.selectOption('#status', 'busy');
      await page.click('[data-testid=status-form] button');
      await page.waitForLoadState('load');
      expect(await page.locator('.profile-head [data-testid=status-form] select').inputValue()).to.equal('busy');
      expect(await page.locator('table.preference-matrix thead th').allInnerTexts()).to.deep.equal(['Category', 'Email', 'In-app', 'Mobile push']);
      // The bell is in sight at both widths (beside the name; on a phone beside the menu button).
      const bell = page.getByRole('link', { name: 'Notifications, 1 unread' });
      expect(await bell.count()).to.equal(1);
      expect(await bell.isVisible()).to.equal(true);
      await page.screenshot({ path: path.join(SHOTS, `profile-${width}.png`), fullPage: true });
      await noOverflow(page, 'profile');
      await page.goto(`${live.base}/notifications`);
      expect(await page.locator('[data-kind=low_balance] strong').innerText()).to.equal('Low credit balance');
      await noOverflow(page, 'notifications');
      await page.screenshot({ path: path.join(SHOTS, `notifications-${width}.png`), fullPage: true });
      expect(problems).to.deep.equal([]);
      await context.close();
    });
  }
});

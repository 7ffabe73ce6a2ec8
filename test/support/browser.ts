import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { resetData } from './db';
import { requireOrSkip } from './env';
import { startLiveApp, type LiveApp } from './live-app';
import { createWorld, PASSWORD, type World } from './world';

/** Debian's Chromium (never a downloaded browser build). */
export const CHROMIUM = '/usr/bin/chromium';
export const chromiumAvailable = () => fs.existsSync(CHROMIUM);
export const CHROMIUM_MISSING = `Chromium at ${CHROMIUM} (apt-get install chromium)`;

/** Headless, as root, with the background-networking features off (the machine has no network). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright gives the browser a fresh temporary profile of its own.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Signs in through the login form with the test password; resolves when the next page has loaded. */
export async function signIn(page: Page, base: string, email: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  // The login form's own button: the header's language switch has submit buttons too.
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForLoadState('load');
}

/**
 * For a browser suite: a fresh database, the two-agency world, the app on a local port and
 * Chromium, once for the suite (registers its before/after; skips without Chromium). Read the
 * fields inside hooks and tests.
 */
export function browserWorld(): { deps: LiveApp['deps']; w: World; base: string; browser: Browser } {
  const ctx = {} as { deps: LiveApp['deps']; w: World; base: string; browser: Browser };
  let live: LiveApp | undefined;
  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    await resetData();
    live = await startLiveApp();
    ctx.deps = live.deps;
    ctx.base = live.base;
    ctx.w = await createWorld(live.deps);
    ctx.browser = await launchChromium();
  });
  after(async () => {
    await ctx.browser?.close();
    await live?.close();
  });
  return ctx;
}

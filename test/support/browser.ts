import fs from 'node:fs';
import path from 'node:path';
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
  // The sign-in form's own button (the header's language switch has buttons too).
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForLoadState('load');
}

/**
 * For a browser suite: a fresh database, the two-agency world, the app on a local port and
 * Chromium, once for the suite (registers its before/after; skips without Chromium). Read the
 * fields inside hooks and tests.
 */
export function browserWorld(opts: { start?: Date } = {}): { deps: LiveApp['deps']; app: LiveApp['app']; w: World; base: string; browser: Browser } {
  const ctx = {} as { deps: LiveApp['deps']; app: LiveApp['app']; w: World; base: string; browser: Browser };
  let live: LiveApp | undefined;
  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    await resetData();
    live = await startLiveApp(opts);
    ctx.deps = live.deps;
    ctx.app = live.app;
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

/** Where the browser suites keep their screenshots (gitignored; CI keeps the folder as artefacts). */
export const SCREENSHOTS = path.resolve('artifacts/screenshots');

/** The two widths every journey runs at: a laptop's and a phone's. */
export const WIDTHS = [1366, 390] as const;

/** A context at a laptop's or a phone's size. */
export const viewportFor = (width: number) => ({ width, height: width === 390 ? 844 : 800 });

/** A full-page screenshot named `<name>-<width>.png` in the artefacts folder. */
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const width = page.viewportSize()?.width ?? 0;
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${width}.png`), fullPage: true });
}

/** Fails when the page is wider than its window (content pushed off-screen). */
export async function fitsWindow(page: Page, what: string): Promise<void> {
  const [scroll, inner] = await page.locator('html').evaluate((el) => [el.scrollWidth, el.ownerDocument.defaultView!.innerWidth]);
  if (scroll! > inner!) throw new Error(`${what}: the page is ${scroll}px wide in a ${inner}px window`);
}

/** Collects script errors and console errors of a page (a CSP violation is one). */
export function watchErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  return problems;
}

/**
 * Opens a link of the navigation by its text, through the phone's menu when the window is narrow
 * (the groups are <details>: opened by their summary first).
 */
export async function navigate(page: Page, group: string, link: string): Promise<void> {
  const toggle = page.locator('summary.nav-toggle');
  if (await toggle.isVisible()) await toggle.click();
  const target = page.locator('nav').getByRole('link', { name: link, exact: true }).first();
  if (!(await target.isVisible())) await page.locator('nav summary', { hasText: group }).first().click();
  await target.click();
  await page.waitForLoadState('load');
}

import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PASSWORD } from './world';

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
  await page.click('button[type=submit]');
  await page.waitForLoadState('load');
}

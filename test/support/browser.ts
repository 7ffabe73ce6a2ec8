import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

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

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium } from '../support/browser';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { requireOrSkip } from '../support/env';
import { createWorld, PASSWORD, type World } from '../support/world';

/** Real headless Chromium (Debian's) against the app on a local port. */
describe('browser: agency owner', function () {
  this.timeout(60_000);
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

  it('logs in and sees the sub-accounts list, with no CSP violation or script error', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    // A wrong password answers 401, which Chromium logs; CSP violations and script errors are the problems.
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${base}/agency/sub-accounts`);
    expect(page.url()).to.contain('/login');
    await page.fill('input[name=email]', w.a.owner.email);
    await page.fill('input[name=password]', 'wrong-password');
    await page.click('button[type=submit]');
    await page.getByText('The email or password is not correct.').waitFor();
    expect(await page.inputValue('input[name=email]')).to.equal(w.a.owner.email);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/agency/sub-accounts`);
    const rows = await page.locator('[data-testid=sub-accounts] tbody tr').allTextContents();
    expect(rows.join(' ')).to.contain(w.a.subs[0].name).and.contain(w.a.subs[1].name).and.not.contain(w.b.subs[0].name);
    expect(await page.getByTestId('tenant-name').textContent()).to.equal(w.a.name);
    // The stylesheet loaded under the CSP (pico sets a non-default font on body).
    const font = await page.locator('body').evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).fontFamily);
    expect(font).to.contain('system-ui');
    await page.screenshot({ path: path.join(os.tmpdir(), 'kontor-sub-accounts.png'), fullPage: true });
    expect(problems).to.deep.equal([]);
  });
});

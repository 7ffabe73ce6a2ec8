import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { browserWorld } from '../support/browser';
import { PASSWORD } from '../support/world';

/** Real headless Chromium (Debian's) against the app on a local port. */
describe('browser: agency owner', function () {
  this.timeout(60_000);
  const t = browserWorld();

  it('logs in and sees the sub-accounts list, with no CSP violation or script error', async () => {
    const page = await t.browser.newPage();
    const problems: string[] = [];
    // A wrong password answers 401, which Chromium logs; CSP violations and script errors are the problems.
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${t.base}/agency/sub-accounts`);
    expect(page.url()).to.contain('/login');
    await page.fill('input[name=email]', t.w.a.owner.email);
    await page.fill('input[name=password]', 'wrong-password');
    await page.click('form[action="/login"] button[type=submit]');
    await page.getByText('The email or password is not correct.').waitFor();
    expect(await page.inputValue('input[name=email]')).to.equal(t.w.a.owner.email);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('form[action="/login"] button[type=submit]');
    await page.waitForURL(`${t.base}/agency/sub-accounts`);
    const rows = await page.locator('[data-testid=sub-accounts] tbody tr').allTextContents();
    expect(rows.join(' ')).to.contain(t.w.a.subs[0].name).and.contain(t.w.a.subs[1].name).and.not.contain(t.w.b.subs[0].name);
    expect(await page.getByTestId('tenant-name').textContent()).to.equal(t.w.a.name);
    // The stylesheet loaded under the CSP (pico sets a non-default font on body).
    const font = await page.locator('body').evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).fontFamily);
    expect(font).to.contain('system-ui');
    await page.screenshot({ path: path.join(os.tmpdir(), 'kontor-sub-accounts.png'), fullPage: true });
    expect(problems).to.deep.equal([]);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Actor } from '../../src/auth/actor';
import { transferToSubAccount } from '../../src/credits/credits.usecases';
import { creditAccount, lockAccount } from '../../src/credits/ledger';
import { createDepartment, setSubAccountDepartments } from '../../src/departments/departments.usecases';
import { recordUsageBatch } from '../../src/usage/usage.usecases';
import { UsageRecorder } from '../../src/usage/usage-recorder';
import { browserWorld, signIn } from '../support/browser';

/** Kept by CI as artefacts (gitignored). */
const SHOTS = path.resolve('artifacts/screenshots');
const DAY = 86_400_000;

/** Real headless Chromium: the usage report draws its chart (no inline script) and fits a phone. */
describe('browser: the usage report', function () {
  this.timeout(120_000);
  const ctx = browserWorld();

  before(async () => {
    const { deps, w } = ctx;
    const agency: Actor = { kind: 'user', id: 'u', scope: 'agency', agencyId: w.a.id, subAccountId: null, role: 'owner', billing: true };
    const departments: { id: string }[] = [];
    for (const [name, creditsPerRequest] of [['Sales', 2], ['Support', 5], ['Onboarding', 0]] as const) departments.push(await createDepartment(deps, { actor: agency, input: { name, creditsPerRequest } }));
    const now = deps.clock.now();
    deps.testClock.set(new Date(now.getTime() - 29 * DAY));
    await deps.db.transaction(async (tx) => {
      const pool = await lockAccount(tx, { agencyId: w.a.id, subAccountId: null }, deps.clock.now());
      await creditAccount(tx, pool, { amount: 100_000, source: 'topup', reason: 'grant', reference: 'seed' }, deps.clock.now());
    });
    for (const s of w.a.subs) {
      await setSubAccountDepartments(deps, { actor: agency, subAccountId: s.id, input: { departmentIds: departments.map((d) => d.id) } });
      await deps.db.transaction((tx) => transferToSubAccount(tx, { agencyId: w.a.id, subAccountId: s.id, credits: 20_000, source: 'purchase', reason: 'grant', reference: `seed-${s.id}` }, deps.clock.now()));
    }
    const recorder = new UsageRecorder({ db: deps.db, clock: deps.clock, queue: deps.queue, logger: deps.logger });
    for (let d = 0; d < 30; d++) {
      for (const [i, s] of w.a.subs.entries()) {
        const client: Actor = { kind: 'api_key', id: 'k', scope: 'sub_account', agencyId: w.a.id, subAccountId: s.id, role: 'owner', billing: true };
        const n = 3 + ((d * 7 + i * 5) % 11);
        await recordUsageBatch(recorder, client, { events: Array.from({ length: n }, (_, k) => ({ conversationId: `d${d}-${k}`, departmentId: departments[(k + d + i) % 3]!.id })) });
      }
      deps.testClock.advance(DAY);
    }
  });

  it('draws the chart and keeps the page within 1366 and 390 pixels', async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const width of [1366, 390]) {
      const page = await ctx.browser.newPage({ viewport: { width, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await signIn(page, ctx.base, ctx.w.a.owner.email);
      await page.goto(`${ctx.base}/agency/reports/usage?by=department`);
      await page.waitForSelector('canvas.report-chart-canvas[data-drawn=true]', { timeout: 10_000 });
      const [scroll, inner] = await page.locator('html').evaluate((el) => [el.scrollWidth, el.ownerDocument.defaultView!.innerWidth]);
      const overflow = scroll! - inner!;
      await page.screenshot({ path: path.join(SHOTS, `reports-usage-${width}.png`), fullPage: true });
      expect(overflow, `page wider than ${width}px`).to.be.at.most(0);
      expect(errors).to.deep.equal([]);
      await page.close();
    }
  });
});

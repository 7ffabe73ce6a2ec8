/**
 * The FIFO rule has a per-row form (src/credits/fifo.ts: fifoOrder + takeFifo, used by
 * debitAccount and the bulk grant plan) and a set-based form (the window sum of usage_apply,
 * db/functions/usage_apply.sql). On random lots of real credit_lots rows (random amounts,
 * expiries with ties and none, creation times with ties, ids out of time order) both forms must
 * take exactly the same credits from the same lots. The set-based query here is usage_apply's
 * window, and the test fails if the function's text of it changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { sql } from 'drizzle-orm';
import { agencies, creditLots } from '../../db/schema';
import { takeFifo, fifoOrder } from '../../src/credits/fifo';
import { lockAccount, openLots } from '../../src/credits/ledger';
import { getPlatformId } from '../../src/tenancy/agencies.usecases';
import { newId } from '../../src/lib/ids';
import { resetData, rowsOf } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';

const WINDOW = 'sum(l2.remaining) OVER (ORDER BY l2.expires_at NULLS LAST, l2.created_at, l2.id COLLATE "C") AS cum';

/** A small deterministic generator (mulberry32), so that a failure can be replayed by its seed. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rollback extends Error {}

describe('FIFO: the per-row and the set-based forms take the same credits', () => {
  let deps: TestDeps;
  before(async () => {
    await resetData();
    deps = await makeTestDeps();
  });
  after(async () => deps.close());

  it('usage_apply states the window this test compares', () => {
    const source = fs.readFileSync(path.join(__dirname, '../../db/functions/usage_apply.sql'), 'utf8');
    expect(source).to.contain(WINDOW);
  });

  it('on 60 random sets of lots and amounts, with ties on expiry and creation time', async () => {
    const platformId = await getPlatformId(deps);
    const base = Date.parse('2026-03-01T00:00:00Z');
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed);
      const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
      await deps.db.transaction(async (tx) => {
        const now = new Date(base);
        const agencyId = newId('agy');
        await tx.insert(agencies).values({ id: agencyId, platformId, name: `FIFO ${seed}`, createdAt: now, updatedAt: now });
        const account = await lockAccount(tx, { agencyId, subAccountId: null }, now);
        // Few distinct instants, so that ties are common; ids random, so their order is not time's.
        const instants = [0, 1, 2].map((k) => new Date(base + k * 3_600_000));
        const expiries = [null, null, ...[5, 6, 40].map((d) => new Date(base + d * 86_400_000))];
        const n = 1 + Math.floor(r() * 12);
        const rows = Array.from({ length: n }, () => {
          const amount = 1 + Math.floor(r() * 500);
          return {
            id: `lot_${Math.floor(r() * 1e9).toString(36)}${Math.floor(r() * 1e9).toString(36)}`, accountId: account.id, agencyId, source: 'topup' as const,
            amount, remaining: r() < 0.2 ? 0 : amount, expiresAt: pick(expiries), createdAt: pick(instants),
          };
        });
        await tx.insert(creditLots).values(rows);
        const total = rows.reduce((s, l) => s + l.remaining, 0);
        const used = Math.floor(r() * (total + 1));

        // Per-row: what debitAccount takes.
        const lots = await openLots(tx, account.id);
        expect([...lots].sort(fifoOrder)).to.deep.equal(lots);
        const perRow = used > 0 ? takeFifo(lots.map((l) => ({ ...l })), used).map((t) => [t.lotId, t.taken]) : [];

        // Set-based: usage_apply's window, as its UPDATE computes what it takes from each lot.
        const res = await tx.execute(sql`
          SELECT f.id, (f.remaining - (f.remaining - least(f.remaining, ${used}::bigint - (f.cum - f.remaining))))::int AS taken
          FROM (SELECT l2.id, l2.remaining, ${sql.raw(WINDOW)} FROM credit_lots l2 WHERE l2.account_id = ${account.id} AND l2.remaining > 0) f
          WHERE ${used}::bigint > 0 AND f.cum - f.remaining < ${used}::bigint
          ORDER BY f.cum`);
        const setBased = rowsOf<{ id: string; taken: number }>(res).map((x) => [x.id, Number(x.taken)]);
        expect(setBased, `seed ${seed}: ${JSON.stringify(rows)} used ${used}`).to.deep.equal(perRow);
        throw new Rollback();
      }).catch((e: unknown) => {
        if (!(e instanceof Rollback)) throw e;
      });
    }
  });
});

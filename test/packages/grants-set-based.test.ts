import { expect } from 'chai';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import request from 'supertest';
import { agencies, creditAccounts, creditLedger, creditLots, notifications, subAccounts, subscriptionGrants, subscriptions } from '../../db/schema';
import { nthAnniversary, startOfDayInstant } from '../../src/billing/proration';
import { getBalance } from '../../src/credits/credits.usecases';
import { newId } from '../../src/lib/ids';
import { runSubscriptionGrants } from '../../src/monthly-grants/grants';
import { createApp } from '../../src/web/app';
import { resetData, rowsOf } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { createWorld, type World } from '../support/world';
import { localize, tFor } from '../../src/i18n/i18n';

const NY = 'America/New_York';
const IST = 'Europe/Istanbul';

interface Spec {
  startDay: string;
  credits: number;
  termMonths?: number;
  /** The month to grant next (the earlier ones are assumed granted). */
  index?: number;
}

interface Seeded {
  id: string;
  subAccountId: string;
  agencyId: string;
  zone: string;
  credits: number;
  startDay: string;
  index: number;
  dueAt: Date;
  endsAt: Date;
}

describe('monthly grants, set-based', () => {
  let deps: TestDeps;
  let w: World;

  async function setup(start: string) {
    await resetData();
    deps = await makeTestDeps({ start: new Date(start) });
    w = await createWorld(deps);
    await deps.db.update(agencies).set({ timeZone: NY }).where(eq(agencies.id, w.b.id));
  }

  afterEach(async () => {
    await assertLedgerInvariant(deps.db);
    await deps.close();
  });

  const at = (day: string, zone: string) => startOfDayInstant(day, zone);

  /** Sub-accounts with one active subscription each, inserted directly (a purchase would have granted the earlier months). */
  async function seed(agencyId: string, zone: string, specs: Spec[]): Promise<Seeded[]> {
    const now = deps.clock.now();
    const rows = specs.map((s, i) => {
      const index = s.index ?? 1;
      const startsAt = new Date(at(s.startDay, zone).getTime() + 10 * 3_600_000);
      return {
        id: newId('sbs'), subAccountId: newId('sub'), agencyId, zone, credits: s.credits, startDay: s.startDay, index, i,
        startsAt, endsAt: at(nthAnniversary(s.startDay, s.termMonths ?? 3), zone),
        dueAt: index === 0 ? startsAt : at(nthAnniversary(s.startDay, index), zone),
      };
    });
    await deps.db.insert(subAccounts).values(rows.map((r) => ({ id: r.subAccountId, agencyId, name: `Seeded ${r.i}`, createdAt: now, updatedAt: now })));
    await deps.db.insert(subscriptions).values(rows.map((r) => ({
      id: r.id, agencyId, subAccountId: r.subAccountId, packageId: 'pkg_seeded', packageVersionId: 'pkv_seeded', monthlyCredits: r.credits,
      startDay: r.startDay, startsAt: r.startsAt, endsAt: r.endsAt, nextGrantIndex: r.index, nextGrantAt: r.dueAt, createdAt: now, updatedAt: now,
    })));
    return rows.map(({ id, subAccountId, credits, startDay, index, dueAt, endsAt }) => ({ id, subAccountId, agencyId, zone, credits, startDay, index, dueAt, endsAt }));
  }

  /** Funds a pool as the platform's adjustments would: a lot and an entry per amount. */
  async function fundPool(agencyId: string, lots: { amount: number; expiresAt?: Date }[]): Promise<string[]> {
    const now = deps.clock.now();
    return deps.db.transaction(async (tx) => {
      await tx.insert(creditAccounts).values({ id: newId('cra'), agencyId, subAccountId: null, createdAt: now, updatedAt: now }).onConflictDoNothing();
      const [pool] = await tx.select().from(creditAccounts).where(and(eq(creditAccounts.agencyId, agencyId), isNull(creditAccounts.subAccountId))).for('update');
      let balance = pool!.balance;
      const ids: string[] = [];
      for (const l of lots) {
        const id = newId('lot');
        ids.push(id);
        balance += l.amount;
        await tx.insert(creditLots).values({ id, accountId: pool!.id, agencyId, source: 'adjustment', amount: l.amount, remaining: l.amount, expiresAt: l.expiresAt ?? null, createdAt: now });
        await tx.insert(creditLedger).values({ accountId: pool!.id, agencyId, subAccountId: null, delta: l.amount, balanceAfter: balance, reason: 'adjustment', reference: 'seed', createdAt: now });
      }
      await tx.update(creditAccounts).set({ balance }).where(eq(creditAccounts.id, pool!.id));
      return ids;
    });
  }

  const poolBalance = async (agencyId: string) => (await getBalance(deps, { agencyId, subAccountId: null })).balance;
  const poolId = async (agencyId: string) => (await deps.db.select().from(creditAccounts).where(and(eq(creditAccounts.agencyId, agencyId), isNull(creditAccounts.subAccountId))))[0]!.id;
  const count = async (table: 'credit_ledger' | 'credit_lots' | 'subscription_grants' | 'credit_accounts' | 'notifications') =>
    rowsOf<{ n: number }>(await deps.db.execute(sql.raw(`select count(*)::int as n from ${table}`)))[0]!.n;
  const byDue = (a: Seeded, b: Seeded) => a.dueAt.getTime() - b.dueAt.getTime() || (a.id < b.id ? -1 : 1);

  /** Checks one granted month of a subscription: grant row, lot, balance entry, pool entry. */
  async function expectMonth(s: Seeded, index: number) {
    const ref = `subscription:${s.id}:${index}`;
    const grantAt = index === s.index ? s.dueAt : at(nthAnniversary(s.startDay, index), s.zone);
    const next = at(nthAnniversary(s.startDay, index + 1), s.zone);
    const expires = next < s.endsAt ? next : s.endsAt;
    const [g] = await deps.db.select().from(subscriptionGrants).where(and(eq(subscriptionGrants.subscriptionId, s.id), eq(subscriptionGrants.periodIndex, index)));
    expect(g, ref).not.to.equal(undefined);
    expect(g!.grantedAt.toISOString(), ref).to.equal(grantAt.toISOString());
    expect(g!.credits).to.equal(s.credits);
    const [lot] = await deps.db.select().from(creditLots).where(eq(creditLots.id, g!.lotId!));
    expect(lot, `${ref} lot`).to.include({ source: 'monthly_grant', amount: s.credits, reference: ref });
    expect(lot!.expiresAt!.toISOString(), `${ref} expiry`).to.equal(expires.toISOString());
    expect(lot!.createdAt.toISOString()).to.equal(grantAt.toISOString());
    const entries = await deps.db.select().from(creditLedger).where(eq(creditLedger.reference, ref)).orderBy(asc(creditLedger.id));
    expect(entries.map((e) => [e.reason, e.delta, e.subAccountId]), ref).to.deep.equal([['transfer_out', -s.credits, null], ['grant', s.credits, s.subAccountId]]);
    expect(entries[0]!.data).to.deep.equal({ subAccountId: s.subAccountId });
    expect(entries[1]!.idempotencyKey).to.equal(ref);
    expect(entries.map((e) => e.createdAt.toISOString())).to.deep.equal([grantAt.toISOString(), grantAt.toISOString()]);
  }

  /** The pool's ledger replays to its balance: each balance_after is the previous plus the delta. */
  async function expectRunningBalances(accountId: string) {
    const entries = await deps.db.select().from(creditLedger).where(eq(creditLedger.accountId, accountId)).orderBy(asc(creditLedger.id));
    let running = 0;
    for (const e of entries) {
      running += e.delta;
      expect(e.balanceAfter, `entry ${e.id}`).to.equal(running);
    }
    return entries;
  }

  it('grants many subscriptions of two agencies in one run: lots, expiries, ledger, next grant; FIFO over the pool\'s lots', async () => {
    await setup('2026-03-28T12:00:00Z');
    // Agency A (Istanbul): 60 subscriptions started on every day of February (and 29-31 January).
    const specA: Spec[] = Array.from({ length: 60 }, (_, i) => ({
      startDay: i % 31 < 28 ? `2026-02-${String((i % 31) + 1).padStart(2, '0')}` : `2026-01-${29 + (i % 31) - 28}`,
      credits: 100 + i, termMonths: i % 5 === 0 ? 2 : 3,
    }));
    // Agency B (New York): 45 subscriptions; its pool has a lot expiring on 4 March (consumed first, then swept).
    const specB: Spec[] = Array.from({ length: 45 }, (_, i) => ({ startDay: `2026-02-${String((i % 28) + 1).padStart(2, '0')}`, credits: 100 + i }));
    const a = await seed(w.a.id, IST, specA);
    const b = await seed(w.b.id, NY, specB);
    await fundPool(w.a.id, [{ amount: 100_000 }]);
    const early = new Date('2026-03-04T12:00:00Z');
    const [lotX, lotY] = await fundPool(w.b.id, [{ amount: 1000, expiresAt: early }, { amount: 100_000 }]);

    const run = await runSubscriptionGrants(deps);
    expect(run).to.deep.equal({ granted: 105, failed: 0, ended: 0 });
    await assertLedgerInvariant(deps.db);

    for (const s of [...a, ...b]) {
      await expectMonth(s, 1);
      const [row] = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, s.id));
      const next = at(nthAnniversary(s.startDay, 2), s.zone);
      expect(row!.nextGrantIndex).to.equal(2);
      expect(row!.nextGrantAt?.toISOString() ?? null, s.id).to.equal(next < s.endsAt ? next.toISOString() : null);
      expect((await getBalance(deps, { agencyId: s.agencyId, subAccountId: s.subAccountId })).balance).to.equal(s.credits);
    }
    const sum = (xs: Seeded[]) => xs.reduce((n, s) => n + s.credits, 0);
    expect(await poolBalance(w.a.id)).to.equal(100_000 - sum(a));

    // Pool A: transfers in due order (oldest first), balance_after running down.
    const entriesA = await expectRunningBalances(await poolId(w.a.id));
    expect(entriesA.filter((e) => e.reason === 'transfer_out').map((e) => e.reference)).to.deep.equal([...a].sort(byDue).map((s) => `subscription:${s.id}:1`));

    // Pool B: grants due before lot X expired took it first; the rest of X expired at its instant.
    const beforeX = b.filter((s) => s.dueAt < early);
    expect(beforeX.length).to.be.greaterThan(0);
    const usedX = sum(beforeX);
    const entriesB = await expectRunningBalances(await poolId(w.b.id));
    const expired = entriesB.filter((e) => e.reason === 'expire');
    expect(expired.map((e) => [e.reference, e.delta, e.createdAt.toISOString()])).to.deep.equal([[lotX, -(1000 - usedX), early.toISOString()]]);
    const lotsB = await deps.db.select().from(creditLots).where(eq(creditLots.agencyId, w.b.id));
    expect(lotsB.find((l) => l.id === lotX)!.remaining).to.equal(0);
    expect(lotsB.find((l) => l.id === lotY)!.remaining).to.equal(100_000 - (sum(b) - usedX));
    expect(await poolBalance(w.b.id)).to.equal(100_000 - (sum(b) - usedX));

    // One balance account per sub-account, created by the job.
    expect(await count('credit_accounts')).to.equal(2 + 105);
  });

  it('a pool that covers only some due grants: the oldest are granted, the rest stay due, one notice per agency and run', async () => {
    await setup('2026-03-20T12:00:00Z');
    // Eight due months in agency A; the last one is small but must not overtake the seventh.
    const a = await seed(w.a.id, IST, [1, 2, 3, 4, 5, 6, 7, 8].map((d) => ({ startDay: `2026-02-0${d}`, credits: d === 8 ? 50 : 150 })));
    const b = await seed(w.b.id, NY, [1, 2, 3].map((d) => ({ startDay: `2026-02-0${d}`, credits: 150 })));
    await fundPool(w.a.id, [{ amount: 1000 }]);
    await fundPool(w.b.id, [{ amount: 1000 }]);

    const run = await runSubscriptionGrants(deps);
    expect(run).to.deep.equal({ granted: 6 + 3, failed: 2, ended: 0 });
    const sorted = [...a].sort(byDue);
    for (const s of sorted.slice(0, 6)) await expectMonth(s, 1);
    for (const s of sorted.slice(6)) {
      const [row] = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, s.id));
      expect(row!.nextGrantIndex).to.equal(1);
      expect(row!.nextGrantAt!.toISOString()).to.equal(s.dueAt.toISOString());
      expect(await deps.db.select().from(subscriptionGrants).where(eq(subscriptionGrants.subscriptionId, s.id))).to.deep.equal([]);
    }
    expect(await poolBalance(w.a.id)).to.equal(100);
    for (const s of b) await expectMonth(s, 1); // the other agency is not held back
    const notices = await deps.db.select().from(notifications).where(eq(notifications.kind, 'grant_failed'));
    expect(notices).to.have.length(1);
    expect(notices[0]!.agencyId).to.equal(w.a.id);
    expect(notices[0]!.data).to.deep.include({ count: 2, available: 100, needed: 150 });
    expect(localize(tFor('en'), notices[0]!.message)).to.contain("pool has 100 credits; 150 are needed");
    await assertLedgerInvariant(deps.db);

    // Still short: nothing granted, one more notice for this run.
    expect(await runSubscriptionGrants(deps)).to.deep.equal({ granted: 0, failed: 2, ended: 0 });
    expect(await deps.db.select().from(notifications).where(eq(notifications.kind, 'grant_failed'))).to.have.length(2);

    // Topped up: the rest is granted by the next run.
    await fundPool(w.a.id, [{ amount: 500 }]);
    expect(await runSubscriptionGrants(deps)).to.deep.equal({ granted: 2, failed: 0, ended: 0 });
    for (const s of sorted.slice(6)) await expectMonth(s, 1);
    expect(await poolBalance(w.a.id)).to.equal(100 + 500 - 200);
    await expectRunningBalances(await poolId(w.a.id));
  });

  it('a rerun grants nothing (same month, later in the day, or split into small chunks)', async () => {
    await setup('2026-03-19T12:00:00Z');
    await seed(w.a.id, IST, Array.from({ length: 20 }, (_, i) => ({ startDay: `2026-02-${String(i + 1).padStart(2, '0')}`, credits: 10 * (i + 1) })));
    await fundPool(w.a.id, [{ amount: 10_000 }]);
    expect((await runSubscriptionGrants(deps, { batchSize: 6 })).granted).to.equal(19); // 20 Feb + 1 month is not due yet
    const snapshot = async () => ({
      ledger: await count('credit_ledger'), lots: await count('credit_lots'), grants: await count('subscription_grants'),
      accounts: await count('credit_accounts'), notices: await count('notifications'), pool: await poolBalance(w.a.id),
    });
    const before = await snapshot();
    expect(await runSubscriptionGrants(deps)).to.deep.equal({ granted: 0, failed: 0, ended: 0 });
    deps.testClock.set(new Date('2026-03-19T20:59:59.999Z')); // 23:59:59.999 in Istanbul
    expect(await runSubscriptionGrants(deps, { batchSize: 3 })).to.deep.equal({ granted: 0, failed: 0, ended: 0 });
    expect(await snapshot()).to.deep.equal(before);
    deps.testClock.set(new Date('2026-03-19T21:00:00Z')); // 20 March 00:00 in Istanbul: the last one is due
    expect((await runSubscriptionGrants(deps)).granted).to.equal(1);
    expect((await snapshot()).grants).to.equal(before.grants + 1);
  });

  it('a month already claimed elsewhere is advanced without moving credits; only claimed months move them', async () => {
    await setup('2026-03-19T12:00:00Z');
    const subs = await seed(w.a.id, IST, [1, 2, 3].map((d) => ({ startDay: `2026-02-0${d}`, credits: 100 * d })));
    await fundPool(w.a.id, [{ amount: 10_000 }]);
    const taken = subs[1]!;
    await deps.db.insert(subscriptionGrants).values({ subscriptionId: taken.id, periodIndex: 1, agencyId: w.a.id, credits: taken.credits, grantedAt: taken.dueAt });
    expect(await runSubscriptionGrants(deps)).to.deep.equal({ granted: 2, failed: 0, ended: 0 });
    await expectMonth(subs[0]!, 1);
    await expectMonth(subs[2]!, 1);
    const [row] = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, taken.id));
    expect(row!.nextGrantIndex).to.equal(2);
    expect(await deps.db.select().from(creditLedger).where(eq(creditLedger.reference, `subscription:${taken.id}:1`))).to.deep.equal([]);
    expect(await poolBalance(w.a.id)).to.equal(10_000 - 100 - 300);
    await expectRunningBalances(await poolId(w.a.id));
  });

  it('concurrent runs grant each month once, missed months caught up one by one', async () => {
    await setup('2026-05-25T12:00:00Z');
    // Started in January: months 1..4 are due (the worker was down); some started later, fewer are due.
    const specs = (n: number): Spec[] => Array.from({ length: n }, (_, i) => ({ startDay: `2026-0${1 + (i % 3)}-${String((i % 20) + 1).padStart(2, '0')}`, credits: 10 + i, termMonths: 6 }));
    const a = await seed(w.a.id, IST, specs(30));
    const b = await seed(w.b.id, NY, specs(25));
    await fundPool(w.a.id, [{ amount: 100_000 }]);
    await fundPool(w.b.id, [{ amount: 100_000 }]);
    const now = deps.clock.now();
    const dueMonths = (s: Seeded) => {
      const months: number[] = [];
      for (let k = s.index; at(nthAnniversary(s.startDay, k), s.zone) <= now; k++) months.push(k);
      return months;
    };
    const expected = [...a, ...b].reduce((n, s) => n + dueMonths(s).length, 0);

    const runs = await Promise.all([
      runSubscriptionGrants(deps, { batchSize: 7 }), runSubscriptionGrants(deps, { batchSize: 7 }), runSubscriptionGrants(deps),
    ]);
    expect(runs.reduce((n, r) => n + r.granted, 0)).to.equal(expected);
    expect(runs.reduce((n, r) => n + r.failed, 0)).to.equal(0);
    for (const s of [...a, ...b]) {
      const months = dueMonths(s);
      const grants = await deps.db.select().from(subscriptionGrants).where(eq(subscriptionGrants.subscriptionId, s.id)).orderBy(asc(subscriptionGrants.periodIndex));
      expect(grants.map((g) => g.periodIndex), s.id).to.deep.equal(months);
      for (const k of months) await expectMonth(s, k);
      // Only the latest month's lot is live; the earlier ones expired at the next anniversary.
      expect((await getBalance(deps, { agencyId: s.agencyId, subAccountId: s.subAccountId })).balance).to.equal(s.credits);
      const [row] = await deps.db.select().from(subscriptions).where(eq(subscriptions.id, s.id));
      expect(row!.nextGrantIndex).to.equal(months.at(-1)! + 1);
    }
    await expectRunningBalances(await poolId(w.a.id));
    await expectRunningBalances(await poolId(w.b.id));
    expect((await runSubscriptionGrants(deps)).granted).to.equal(0);
  });

  for (const year of [2027, 2028]) {
    const feb = year === 2028 ? '29' : '28';
    it(`a subscription started on 31 January ${year} is granted on 28/29 February (${feb}), 31 March and 30 April, then ends`, async () => {
      await setup(`${year}-01-31T10:00:00Z`);
      const app = createApp(deps);
      await request(app).post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 10_000, reason: 'seed' }).expect(201);
      const pkg = (await request(app).post('/api/v1/packages').set(bearer(w.a.key)).send({ name: 'Monthly 500', type: 'subscription', currency: 'TRY', priceMinor: 49_900, credits: 500, termMonths: 4, published: true }).expect(201)).body;
      const subId = w.a.subs[0].id;
      await request(app).post(`/api/v1/sub-accounts/${subId}/purchases`).set(bearer(w.a.key)).send({ packageId: pkg.id, payment: 'offline' }).expect(201);
      const owner = { agencyId: w.a.id, subAccountId: subId };
      const grantDays = async () =>
        rowsOf<{ day: string; expires: string }>(await deps.db.execute(sql`
          select to_char(g.granted_at at time zone 'Europe/Istanbul', 'YYYY-MM-DD') as day,
                 to_char(l.expires_at at time zone 'Europe/Istanbul', 'YYYY-MM-DD HH24:MI') as expires
          from subscription_grants g
          join credit_lots l on l.reference = 'subscription:' || g.subscription_id || ':' || g.period_index and l.source = 'monthly_grant'
          order by g.period_index`));

      for (const day of [`${year}-02-${feb}`, `${year}-03-31`, `${year}-04-30`]) {
        const due = at(day, IST);
        deps.testClock.set(new Date(due.getTime() - 1));
        expect((await runSubscriptionGrants(deps)).granted, `before ${day}`).to.equal(0);
        deps.testClock.set(due);
        expect((await runSubscriptionGrants(deps)).granted, day).to.equal(1);
        expect((await runSubscriptionGrants(deps)).granted).to.equal(0);
        expect((await getBalance(deps, owner)).balance).to.equal(500);
        await assertLedgerInvariant(deps.db);
      }
      expect(await grantDays()).to.deep.equal([
        { day: `${year}-01-31`, expires: `${year}-02-${feb} 00:00` },
        { day: `${year}-02-${feb}`, expires: `${year}-03-31 00:00` },
        { day: `${year}-03-31`, expires: `${year}-04-30 00:00` },
        { day: `${year}-04-30`, expires: `${year}-05-31 00:00` },
      ]);
      const [s] = await deps.db.select().from(subscriptions).where(eq(subscriptions.subAccountId, subId));
      expect(s!.nextGrantAt).to.equal(null);
      deps.testClock.set(at(`${year}-05-31`, IST));
      expect(await runSubscriptionGrants(deps)).to.deep.equal({ granted: 0, failed: 0, ended: 1 });
      expect((await getBalance(deps, owner)).balance).to.equal(0);
      expect(await poolBalance(w.a.id)).to.equal(10_000 - 4 * 500);
    });
  }
});

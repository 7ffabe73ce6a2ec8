/**
 * The FIFO rule of the credit ledger is written once, as the database function credit_lots_take
 * (db/functions/credit_lots_take.sql): expiring first, then oldest, lots without expiry last; ties
 * by created_at, then id (byte order). Its three callers are held to a plain model of the rule
 * written here (the oracle): on random sets of real credit_lots rows (random amounts, expiries
 * with ties and none, creation times with ties, ids out of time order, spent and expired lots),
 * the same lots, copied under each caller's account, are debited by usage_apply (a usage event),
 * by debitAccount (an adjustment) and by the monthly grants job (several grants of one pool, due
 * before and after some lots expire), and each account's lots must end as the model says; then
 * the ledger invariant must hold.
 */
import { expect } from 'chai';
import { and, eq, sql } from 'drizzle-orm';
import { agencies, creditAccounts, creditLedger, creditLots, departments, subAccounts, subscriptions } from '../../db/schema';
import { debitAccount, InsufficientCredits, lockAccount } from '../../src/credits/ledger';
import { runSubscriptionGrants } from '../../src/monthly-grants/grants';
import { getPlatformId } from '../../src/tenancy/agencies.usecases';
import { newId } from '../../src/lib/ids';
import { resetData, rowsOf } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { assertLedgerInvariant } from '../support/invariants';

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

interface ModelLot {
  /** The id without its account's prefix (the prefix is the same for all lots of an account). */
  key: string;
  amount: number;
  remaining: number;
  expiresAt: number | null;
  createdAt: number;
}

/**
 * The oracle: debits in order, each at its instant. Lots expired by then are swept (their
 * remaining is gone), then, if the live lots cover the debit, it is taken from the lot that
 * expires first, then the oldest, then the smallest id; lots without expiry last. Returns the
 * lots' remaining afterwards and how many debits were made (a debit not covered stops there).
 */
function model(lots: ModelLot[], debits: { at: number; amount: number }[]): { remaining: Map<string, number>; made: number } {
  const state = lots.map((l) => ({ ...l }));
  const order = [...state].sort((a, b) => {
    const ea = a.expiresAt ?? Number.POSITIVE_INFINITY;
    const eb = b.expiresAt ?? Number.POSITIVE_INFINITY;
    if (ea !== eb) return ea - eb;
    if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
    return Buffer.compare(Buffer.from(a.key), Buffer.from(b.key));
  });
  let made = 0;
  for (const d of debits) {
    for (const l of state) if (l.expiresAt !== null && l.expiresAt <= d.at) l.remaining = 0;
    if (state.reduce((s, l) => s + l.remaining, 0) < d.amount) break;
    let left = d.amount;
    for (const l of order) {
      const t = Math.min(l.remaining, left);
      l.remaining -= t;
      left -= t;
    }
    made++;
  }
  return { remaining: new Map(state.map((l) => [l.key, l.remaining])), made };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BASE = Date.parse('2026-03-01T00:00:00Z');
/** When usage and the adjustment debit: the lots expiring on day 1 are gone, the others live. */
const DEBIT_AT = BASE + 2 * DAY;
/** The grants job's clock: every grant below is due. */
const GRANTS_AT = BASE + 3 * DAY;

/** Random lots: few distinct instants, so that ties are common; keys random, so their order is not time's. */
function randomLots(r: () => number): ModelLot[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const created = [BASE - 2 * HOUR, BASE - HOUR, BASE - HOUR];
  const expiries = [null, null, BASE + DAY, BASE + DAY, BASE + 1.5 * DAY, BASE + 40 * DAY];
  const n = 1 + Math.floor(r() * 10);
  return Array.from({ length: n }, (_, i) => {
    const amount = 1 + Math.floor(r() * 300);
    const key = `${Math.floor(r() * 36 ** 4).toString(36).padStart(4, '0')}${i.toString(36)}`;
    return { key, amount, remaining: r() < 0.15 ? 0 : amount, expiresAt: pick(expiries), createdAt: pick(created) };
  });
}

describe('FIFO: usage_apply, debitAccount and the monthly grants take credits by the one rule', () => {
  let deps: TestDeps;
  before(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date(GRANTS_AT) });
  });
  after(async () => deps.close());

  /** An agency whose pool holds the lots (ids: prefix + key) with their entries; the pool's account id. */
  async function agencyWithPool(name: string, prefix: string, lots: ModelLot[]): Promise<{ agencyId: string; accountId: string }> {
    const platformId = await getPlatformId(deps);
    const now = new Date(BASE - 3 * HOUR);
    const agencyId = newId('agy');
    await deps.db.insert(agencies).values({ id: agencyId, platformId, name, createdAt: now, updatedAt: now });
    return deps.db.transaction(async (tx) => {
      const account = await lockAccount(tx, { agencyId, subAccountId: null }, now);
      let balance = 0;
      for (const l of lots) {
        await tx.insert(creditLots).values({
          id: `${prefix}${l.key}`, accountId: account.id, agencyId, source: 'adjustment', amount: l.amount, remaining: l.remaining,
          expiresAt: l.expiresAt === null ? null : new Date(l.expiresAt), createdAt: new Date(l.createdAt),
        });
        if (l.remaining === 0) continue;
        balance += l.remaining;
        await tx.insert(creditLedger).values({ accountId: account.id, agencyId, subAccountId: null, delta: l.remaining, balanceAfter: balance, reason: 'adjustment', reference: 'seed', createdAt: now });
      }
      await tx.update(creditAccounts).set({ balance }).where(eq(creditAccounts.id, account.id));
      return { agencyId, accountId: account.id };
    });
  }

  async function remainingOf(accountId: string, prefix: string): Promise<Map<string, number>> {
    const rows = await deps.db.select({ id: creditLots.id, remaining: creditLots.remaining }).from(creditLots).where(eq(creditLots.accountId, accountId));
    return new Map(rows.map((l) => [l.id.slice(prefix.length), l.remaining]));
  }

  const live = (lots: ModelLot[], at: number) => lots.reduce((s, l) => s + (l.expiresAt !== null && l.expiresAt <= at ? 0 : l.remaining), 0);

  it('on 40 random sets of lots: the lots each caller leaves are the model\'s, and the ledger invariant holds', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const lots = randomLots(r);
      const ctx = `seed ${seed}: ${JSON.stringify(lots)}`;
      const amount = Math.floor(r() * (live(lots, DEBIT_AT) + 1));

      // usage_apply: one event of a department costing `amount`, charged to the agency's pool.
      {
        const prefix = `lotu${seed}_`;
        const { agencyId, accountId } = await agencyWithPool(`FIFO usage ${seed}`, prefix, lots);
        const departmentId = newId('dep');
        await deps.db.insert(departments).values({ id: departmentId, agencyId, name: 'FIFO', creditsPerRequest: amount, createdAt: new Date(BASE), updatedAt: new Date(BASE) });
        const [row] = rowsOf<{ codes: number[]; charged: (number | string)[] }>(await deps.db.execute(sql`
          select codes, charged from usage_apply(${`{${agencyId}}`}::text[], '{""}'::text[], ${`{${newId('cra')}}`}::text[], '{1}'::int[],
            ${`{conv_${seed}}`}::text[], ${`{${departmentId}}`}::text[], '{""}'::text[], ${new Date(DEBIT_AT).toISOString()}::timestamptz)`));
        expect(row!.codes, ctx).to.deep.equal([0]);
        expect(Number(row!.charged[0]), ctx).to.equal(amount);
        expect(await remainingOf(accountId, prefix), `usage_apply, ${ctx}, amount ${amount}`).to.deep.equal(model(lots, [{ at: DEBIT_AT, amount }]).remaining);
      }

      // debitAccount: an adjustment of `amount`; one more credit than the live lots hold is refused.
      {
        const prefix = `lotd${seed}_`;
        const { agencyId, accountId } = await agencyWithPool(`FIFO debit ${seed}`, prefix, lots);
        const now = new Date(DEBIT_AT);
        await deps.db.transaction(async (tx) => {
          const account = await lockAccount(tx, { agencyId, subAccountId: null }, now);
          await debitAccount(tx, account, amount, { reason: 'adjustment', reference: `fifo-${seed}` }, now);
        });
        expect(await remainingOf(accountId, prefix), `debitAccount, ${ctx}, amount ${amount}`).to.deep.equal(model(lots, [{ at: DEBIT_AT, amount }]).remaining);
        const refused = await deps.db.transaction(async (tx) => {
          const account = await lockAccount(tx, { agencyId, subAccountId: null }, now);
          return debitAccount(tx, account, account.balance + 1, { reason: 'adjustment' }, now).then(() => null, (e: unknown) => e);
        });
        expect(refused, ctx).to.be.instanceOf(InsufficientCredits);
      }

      // The monthly grants: 1 to 3 subscriptions of the pool's agency, due before the lots
      // expiring on day 1, between those and the ones expiring at day 1.5, and after both.
      {
        const prefix = `lotg${seed}_`;
        const { agencyId, accountId } = await agencyWithPool(`FIFO grants ${seed}`, prefix, lots);
        const dues = [BASE + 0.5 * DAY, BASE + 1.25 * DAY, BASE + 2 * DAY].slice(0, 1 + Math.floor(r() * 3));
        const total = live(lots, BASE);
        const subs = dues.map((at, i) => ({ at, credits: 1 + Math.floor(r() * Math.max(1, total / dues.length)), subAccountId: newId('sub'), id: `sbs_fifo_${seed}_${i}` }));
        const now = new Date(BASE);
        await deps.db.insert(subAccounts).values(subs.map((s, i) => ({ id: s.subAccountId, agencyId, name: `FIFO ${seed} ${i}`, createdAt: now, updatedAt: now })));
        await deps.db.insert(subscriptions).values(subs.map((s) => ({
          id: s.id, agencyId, subAccountId: s.subAccountId, packageId: 'pkg_seeded', packageVersionId: 'pkv_seeded', monthlyCredits: s.credits,
          startDay: '2026-02-20', startsAt: new Date('2026-02-20T10:00:00Z'), endsAt: new Date(BASE + 60 * DAY), nextGrantIndex: 1, nextGrantAt: new Date(s.at), createdAt: now, updatedAt: now,
        })));
        await runSubscriptionGrants(deps);
        const expected = model(lots, subs.map((s) => ({ at: s.at, amount: s.credits })));
        expect(await remainingOf(accountId, prefix), `grants, ${ctx}, grants ${JSON.stringify(subs.map((s) => [s.at, s.credits]))}`).to.deep.equal(expected.remaining);
        const granted = await deps.db.select({ id: subscriptions.id, next: subscriptions.nextGrantIndex }).from(subscriptions).where(eq(subscriptions.agencyId, agencyId));
        expect(granted.filter((g) => g.next === 2).length, ctx).to.equal(expected.made);
        // The subscriptions a short pool left due stop here (a later seed's run would retry them).
        await deps.db.update(subscriptions).set({ status: 'ended', nextGrantAt: null }).where(and(eq(subscriptions.agencyId, agencyId), eq(subscriptions.status, 'active')));
      }
      await assertLedgerInvariant(deps.db);
    }
  });

  it('credit_lots_take raises when the lots do not cover the amount, and takes nothing', async () => {
    const lots: ModelLot[] = [{ key: 'a', amount: 5, remaining: 5, expiresAt: null, createdAt: BASE }];
    const { accountId } = await agencyWithPool('FIFO short', 'lots_', lots);
    const err = await deps.db.execute(sql`select * from credit_lots_take(array[${accountId}]::text[], '{6}'::bigint[])`).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
    expect(`${String(err)} ${String((err as { cause?: unknown }).cause ?? '')}`).to.match(/hold 5 of the 6 credits/);
    expect(await remainingOf(accountId, 'lots_')).to.deep.equal(new Map([['a', 5]]));
  });
});

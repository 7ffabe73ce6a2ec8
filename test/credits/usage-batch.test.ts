// The group commit (usage_apply): many accounts and lots in one batch, on PGlite and Postgres.
import { expect } from 'chai';
import { and, asc, eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { creditAccounts, creditLedger, creditLots, subAccounts, usageConversations } from '../../db/schema';
import { transferToSubAccount } from '../../src/credits/credits.usecases';
import { UsageRecorder } from '../../src/usage/usage-recorder';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { createWorld, type World } from '../support/world';

describe('usage group commit: several accounts and lots in one batch', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  const api = () => request(app);
  const day = 86_400_000;

  const department = async (agencyKey: string, name: string, creditsPerRequest: number) =>
    (await api().post('/api/v1/departments').set(bearer(agencyKey)).send({ name, creditsPerRequest }).expect(201)).body.id as string;
  const enable = (agencyKey: string, subId: string, departmentIds: string[]) =>
    api().put(`/api/v1/sub-accounts/${subId}/departments`).set(bearer(agencyKey)).send({ departmentIds }).expect(200);
  const fillPool = (agencyId: string, credits: number) =>
    api().post(`/api/v1/agencies/${agencyId}/adjustments`).set(bearer(w.platformKey)).send({ credits, reason: 'seed' }).expect(201);
  const accountOf = async (subId: string) => (await deps.db.select().from(creditAccounts).where(eq(creditAccounts.subAccountId, subId)))[0];

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-03-10T09:00:00Z') });
    w = await createWorld(deps);
    app = createApp(deps);
  });
  afterEach(async () => {
    await assertLedgerInvariant(deps.db);
    await deps.close();
  });

  it('one batch sweeps expired lots, then takes the lot expiring first, then the oldest, lots without expiry last', async () => {
    const sub = w.a.subs[0];
    await fillPool(w.a.id, 100);
    const lot = async (credits: number, expiresInDays: number | null, reference: string) => {
      const now = deps.clock.now();
      await deps.db.transaction((tx) =>
        transferToSubAccount(tx, {
          agencyId: w.a.id, subAccountId: sub.id, credits, source: 'adjustment', reason: 'grant', reference,
          expiresAt: expiresInDays === null ? null : new Date(now.getTime() + expiresInDays * day),
        }, now),
      );
      deps.testClock.advance(1000); // distinct creation instants: "oldest" is well defined
    };
    await lot(5, null, 'never'); // oldest, but never expires: last
    await lot(5, 10, 'in-10-days');
    await lot(5, 5, 'in-5-days');
    await lot(3, 1, 'tomorrow'); // expired by the time of the batch
    const dept = await department(w.a.key, 'Sales', 3);
    await enable(w.a.key, sub.id, [dept]);
    deps.testClock.advance(day);

    const res = await api().post('/api/v1/usage/batch').set(bearer(sub.key)).send({
      events: ['c1', 'c2', 'c3', 'c4'].map((conversationId) => ({ conversationId, departmentId: dept })),
    }).expect(200);
    expect(res.body.results.map((r: { status: number; balance?: number }) => [r.status, r.balance ?? null])).to.deep.equal([
      [200, 12], [200, 9], [200, 6], [200, 3],
    ]);
    const lots = await deps.db.select({ reference: creditLots.reference, remaining: creditLots.remaining }).from(creditLots)
      .innerJoin(creditAccounts, eq(creditAccounts.id, creditLots.accountId)).where(eq(creditAccounts.subAccountId, sub.id)).orderBy(asc(creditLots.createdAt));
    expect(lots).to.deep.equal([
      { reference: 'never', remaining: 3 }, { reference: 'in-10-days', remaining: 0 }, { reference: 'in-5-days', remaining: 0 }, { reference: 'tomorrow', remaining: 0 },
    ]);
    const entries = await deps.db.select({ delta: creditLedger.delta, balanceAfter: creditLedger.balanceAfter, reason: creditLedger.reason }).from(creditLedger)
      .where(and(eq(creditLedger.subAccountId, sub.id), sql`${creditLedger.reason} in ('expire', 'consume')`)).orderBy(asc(creditLedger.id));
    expect(entries).to.deep.equal([
      { delta: -3, balanceAfter: 15, reason: 'expire' },
      ...[12, 9, 6, 3].map((balanceAfter) => ({ delta: -3, balanceAfter, reason: 'consume' })),
    ]);
  });

  it('a partial batch takes the expiring lots in order and leaves the rest', async () => {
    const sub = w.a.subs[0];
    await fillPool(w.a.id, 100);
    for (const [credits, days, reference] of [[4, null, 'never'], [4, 9, 'later'], [4, 3, 'sooner']] as const) {
      const now = deps.clock.now();
      await deps.db.transaction((tx) =>
        transferToSubAccount(tx, { agencyId: w.a.id, subAccountId: sub.id, credits, source: 'adjustment', reason: 'grant', reference, expiresAt: days === null ? null : new Date(now.getTime() + days * day) }, now),
      );
      deps.testClock.advance(1000);
    }
    const dept = await department(w.a.key, 'Sales', 5);
    await enable(w.a.key, sub.id, [dept]);
    const res = await api().post('/api/v1/usage/batch').set(bearer(sub.key)).send({ events: [{ conversationId: 'a', departmentId: dept }] }).expect(200);
    expect(res.body.results).to.deep.equal([{ status: 200, charged: 5, balance: 7 }]);
    const lots = await deps.db.select({ reference: creditLots.reference, remaining: creditLots.remaining }).from(creditLots)
      .innerJoin(creditAccounts, eq(creditAccounts.id, creditLots.accountId)).where(eq(creditAccounts.subAccountId, sub.id)).orderBy(asc(creditLots.createdAt));
    expect(lots).to.deep.equal([{ reference: 'never', remaining: 4 }, { reference: 'later', remaining: 3 }, { reference: 'sooner', remaining: 0 }]);
  });

  it('events of several accounts committed together each get their own answer and balance', async () => {
    await fillPool(w.a.id, 1000);
    await fillPool(w.b.id, 1000);
    const [a1, a2] = w.a.subs;
    const [b1] = w.b.subs;
    await api().post(`/api/v1/sub-accounts/${a1.id}/adjustments`).set(bearer(w.a.key)).send({ credits: 9, reason: 'seed' }).expect(201);
    await api().post(`/api/v1/sub-accounts/${b1.id}/adjustments`).set(bearer(w.b.key)).send({ credits: 7, reason: 'seed' }).expect(201);
    const sales = await department(w.a.key, 'Sales', 4);
    const support = await department(w.a.key, 'Support', 1);
    const bSales = await department(w.b.key, 'B sales', 7);
    await enable(w.a.key, a1.id, [sales, support]);
    await enable(w.a.key, a2.id, [support]);
    await enable(w.b.key, b1.id, [bSales]);
    await deps.db.update(subAccounts).set({ status: 'suspended' }).where(eq(subAccounts.id, w.b.subs[1].id));

    // One batch at a time: everything submitted in the same tick is applied by the same batch after the first.
    const recorder = new UsageRecorder(deps, { maxInFlight: 1 });
    const a = { agencyId: w.a.id, subAccountId: a1.id };
    const [first, forA1, forA2, forPool, forB1, forSuspended] = await Promise.all([
      recorder.record(a, [{ conversationId: 'warm-up', departmentId: support }]),
      recorder.record(a, [
        { conversationId: 'same', departmentId: sales }, { conversationId: 'same', departmentId: support }, { conversationId: 'same', departmentId: sales },
        { conversationId: 'too-much', departmentId: sales }, { conversationId: 'foreign', departmentId: bSales },
      ]),
      recorder.record({ agencyId: w.a.id, subAccountId: a2.id }, [{ conversationId: 'same', departmentId: sales }, { conversationId: 'same', departmentId: support }]),
      recorder.record({ agencyId: w.a.id, subAccountId: null }, [{ conversationId: 'same', departmentId: sales }]),
      recorder.record({ agencyId: w.b.id, subAccountId: b1.id }, [{ conversationId: 'same', departmentId: bSales }, { conversationId: 'other', departmentId: bSales }]),
      recorder.record({ agencyId: w.b.id, subAccountId: w.b.subs[1].id }, [{ conversationId: 'x', departmentId: bSales }]),
    ]);
    const brief = (rs: { status: number; charged?: number; balance?: number; error?: string }[]) => rs.map((r) => (r.status === 200 ? [r.charged, r.balance] : r.error));
    expect(brief(first)).to.deep.equal([[1, 8]]);
    expect(brief(forA1)).to.deep.equal([[4, 4], [1, 3], [0, 3], 'insufficient_credits', 'department_not_found']);
    expect(brief(forA2)).to.deep.equal(['department_disabled', 'insufficient_credits']); // A2 never had credits
    expect(brief(forPool)).to.deep.equal([[4, 1000 - 9 - 4]]); // the same conversation id, another account
    expect(brief(forB1)).to.deep.equal([[7, 0], 'insufficient_credits']);
    expect(brief(forSuspended)).to.deep.equal(['account_suspended']);
    expect(await accountOf(a2.id)).to.equal(undefined);
  });

  it('an account keeps the order of its submissions while other accounts overlap it', async () => {
    await fillPool(w.a.id, 1000);
    const [a1, a2] = w.a.subs;
    await api().post(`/api/v1/sub-accounts/${a1.id}/adjustments`).set(bearer(w.a.key)).send({ credits: 3, reason: 'seed' }).expect(201);
    await api().post(`/api/v1/sub-accounts/${a2.id}/adjustments`).set(bearer(w.a.key)).send({ credits: 500, reason: 'seed' }).expect(201);
    const dept = await department(w.a.key, 'Support', 1);
    await enable(w.a.key, a1.id, [dept]);
    await enable(w.a.key, a2.id, [dept]);

    // Two batches may be in flight, and a 300-event submission of A2 may start beside A1's
    // batch; A1's later submissions wait for A1's next batch, in the order they came.
    const recorder = new UsageRecorder(deps, { maxInFlight: 2, minEventsToOverlap: 100 });
    const one = (owner: string, id: string) => recorder.record({ agencyId: w.a.id, subAccountId: owner }, [{ conversationId: id, departmentId: dept }]);
    const first = one(a1.id, 'c1'); // starts at once, alone
    const big = recorder.record({ agencyId: w.a.id, subAccountId: a2.id }, Array.from({ length: 300 }, (_, i) => ({ conversationId: `b${i}`, departmentId: dept })));
    const singles = await Promise.all([first, ...['c2', 'c3', 'c4', 'c5'].map((id) => one(a1.id, id))]);
    expect(singles.map(([r]) => (r!.status === 200 ? r!.balance : r!.status))).to.deep.equal([2, 1, 0, 402, 402]);
    expect((await big).map((r) => r.status)).to.deep.equal(Array(300).fill(200));
    expect((await accountOf(a2.id))!.balance).to.equal(200);
  });

  it('a batch whose lots cannot cover what the balance allows is refused whole and writes nothing', async () => {
    const sub = w.a.subs[0];
    await fillPool(w.a.id, 100);
    await api().post(`/api/v1/sub-accounts/${sub.id}/adjustments`).set(bearer(w.a.key)).send({ credits: 10, reason: 'seed' }).expect(201);
    const dept = await department(w.a.key, 'Sales', 4);
    await enable(w.a.key, sub.id, [dept]);
    const account = (await accountOf(sub.id))!;
    // Corrupt the invariant on purpose: the lots hold 5 credits, the balance says 10 (two events: 8).
    await deps.db.update(creditLots).set({ remaining: 5 }).where(eq(creditLots.accountId, account.id));
    const res = await api().post('/api/v1/usage/batch').set(bearer(sub.key)).send({
      events: [{ conversationId: 'a', departmentId: dept }, { conversationId: 'b', departmentId: dept }, { conversationId: 'c', departmentId: dept }],
    }).expect(500);
    expect(res.body.error).to.equal('internal_error');
    expect(await deps.db.select().from(usageConversations).where(eq(usageConversations.accountId, account.id))).to.deep.equal([]);
    expect((await accountOf(sub.id))!.balance).to.equal(10);
    await deps.db.update(creditLots).set({ remaining: 10 }).where(eq(creditLots.accountId, account.id)); // for the invariant check
  });

  it('a free conversation creates the account of a sub-account that never had credits; a refused one creates nothing', async () => {
    const sub = w.a.subs[1];
    const paid = await department(w.a.key, 'Sales', 2);
    const free = await department(w.a.key, 'Free', 0);
    await enable(w.a.key, sub.id, [paid, free]);
    let res = await api().post('/api/v1/usage').set(bearer(sub.key)).send({ conversationId: 'c', departmentId: paid }).expect(402);
    expect(res.body.error).to.equal('insufficient_credits');
    expect(await accountOf(sub.id)).to.equal(undefined);
    res = await api().post('/api/v1/usage').set(bearer(sub.key)).send({ conversationId: 'c', departmentId: free }).expect(200);
    expect(res.body).to.deep.equal({ charged: 0, balance: 0 });
    const account = await accountOf(sub.id);
    expect(account?.balance).to.equal(0);
    const remembered = await deps.db.select().from(usageConversations).where(eq(usageConversations.accountId, account!.id));
    expect(remembered.map((r) => [r.conversationId, r.charged])).to.deep.equal([['c', 0]]);
    // The account now exists; the next request finds it and still charges nothing.
    res = await api().post('/api/v1/usage').set(bearer(sub.key)).send({ conversationId: 'c', departmentId: free }).expect(200);
    expect(res.body).to.deep.equal({ charged: 0, balance: 0 });
  });
});

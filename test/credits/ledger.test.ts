import { expect } from 'chai';
import { and, eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { auditLog, creditLedger, notifications, outboxEmails } from '../../db/schema';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { createWorld, type World } from '../support/world';

describe('credit ledger: adjustments, transfers, expiry', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  const api = () => request(app);
  const balanceOf = async (key: string) => (await api().get('/api/v1/balance').set(bearer(key)).expect(200)).body.balance as number;
  const ledgerCount = async () => (await deps.db.select({ n: sql<number>`count(*)::int` }).from(creditLedger))[0]!.n;

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

  it('the platform fills a pool; the agency moves credits to a sub-account and back; nothing is created or lost', async () => {
    let res = await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 1000, reason: 'opening balance' }).expect(201);
    expect(res.body).to.include({ balance: 1000, replayed: false });
    res = await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: 300, reason: 'welcome gift' }).expect(201);
    expect(res.body).to.include({ balance: 300, poolBalance: 700 });
    res = await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: -100, reason: 'correction' }).expect(201);
    expect(res.body).to.include({ balance: 200, poolBalance: 800 });
    expect(await balanceOf(w.a.subs[0].key)).to.equal(200);
    expect(await balanceOf(w.a.key)).to.equal(800);
    const audit = await deps.db.select().from(auditLog).where(eq(auditLog.action, 'credits.adjusted'));
    expect(audit).to.have.length(3);
    expect(audit.map((a) => (a.data as { reason: string }).reason)).to.have.members(['opening balance', 'welcome gift', 'correction']);
    const history = await api().get(`/api/v1/sub-accounts/${w.a.subs[0].id}/credit-history`).set(bearer(w.a.key)).expect(200);
    expect(history.body.data.map((e: { delta: number; reason: string }) => [e.reason, e.delta])).to.deep.equal([['adjustment', -100], ['adjustment', 300]]);
  });

  it('a transfer the pool cannot cover fails with a clear error and changes nothing', async () => {
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 50, reason: 'seed' }).expect(201);
    const before = await ledgerCount();
    const res = await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: 51, reason: 'too much' }).expect(402);
    expect(res.body).to.include({ error: 'insufficient_credits', available: 50, needed: 51 });
    expect(res.body.message).to.contain("agency's pool has 50 credits");
    expect(await ledgerCount()).to.equal(before);
    expect(await balanceOf(w.a.key)).to.equal(50);
    // Removing more than a sub-account holds is refused the same way.
    await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: -1, reason: 'nothing there' }).expect(402);
    expect(await ledgerCount()).to.equal(before);
  });

  it('an Idempotency-Key makes a retried adjustment apply once', async () => {
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 500, reason: 'seed' }).expect(201);
    const send = () => api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).set('Idempotency-Key', 'retry-1').send({ credits: 100, reason: 'once' });
    const results = await Promise.all([send(), send(), send()]);
    // Retries answer the first answer (src/web/api/idempotency.ts), marked as replayed.
    expect(results.map((r) => r.status)).to.deep.equal([201, 201, 201]);
    expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).to.have.length(2);
    expect(await balanceOf(w.a.subs[0].key)).to.equal(100);
    expect(await balanceOf(w.a.key)).to.equal(400);
  });

  it('bad adjustments answer stable errors and write nothing', async () => {
    const before = await ledgerCount();
    const bad = [
      { credits: 0, reason: 'x' }, { credits: 1.5, reason: 'x' }, { credits: -0.5, reason: 'x' }, { credits: '100', reason: 'x' },
      { credits: 10 }, { credits: 10, reason: '' }, { credits: 10, reason: 'r'.repeat(10_000) }, { credits: 1e15, reason: 'x' },
    ];
    for (const b of bad) {
      const res = await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send(b).expect(422);
      expect(res.body.error).to.equal('validation_failed');
    }
    await api().post(`/api/v1/sub-accounts/${w.b.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: 10, reason: 'x' }).expect(404);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.a.key)).send({ credits: 10, reason: 'x' }).expect(403);
    expect(await ledgerCount()).to.equal(before);
  });

  it('consumes the lot that expires first, and expired lots stop counting at their expiry instant', async () => {
    // A pool with two lots: a non-expiring one (older) and one expiring in 2 days.
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 100, reason: 'permanent' }).expect(201);
    const { transferToSubAccount } = await import('../../src/credits/credits.usecases');
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 100, reason: 'for the grant' }).expect(201);
    const now = deps.clock.now();
    await deps.db.transaction((tx) =>
      transferToSubAccount(tx, { agencyId: w.a.id, subAccountId: w.a.subs[0].id, credits: 60, source: 'monthly_grant', reason: 'grant', reference: 'grant-1', expiresAt: new Date(now.getTime() + 2 * 86_400_000) }, now),
    );
    await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: 40, reason: 'extra, never expires' }).expect(201);
    let bal = await api().get('/api/v1/balance').set(bearer(w.a.subs[0].key)).expect(200);
    expect(bal.body.balance).to.equal(100);
    // Usage takes from the expiring lot first.
    const dep = await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Sales', creditsPerRequest: 10 }).expect(201);
    await api().put(`/api/v1/sub-accounts/${w.a.subs[0].id}/departments`).set(bearer(w.a.key)).send({ departmentIds: [dep.body.id] }).expect(200);
    await api().post('/api/v1/usage').set(bearer(w.a.subs[0].key)).send({ conversationId: 'c1', departmentId: dep.body.id }).expect(200);
    bal = await api().get('/api/v1/balance').set(bearer(w.a.subs[0].key)).expect(200);
    const grant = bal.body.lots.find((l: { source: string }) => l.source === 'monthly_grant');
    expect(grant.remaining).to.equal(50);
    expect(bal.body.lots.find((l: { source: string }) => l.source === 'adjustment').remaining).to.equal(40);
    // One second before expiry the grant still counts; at the instant it does not.
    deps.testClock.set(new Date(now.getTime() + 2 * 86_400_000 - 1000));
    expect(await balanceOf(w.a.subs[0].key)).to.equal(90);
    deps.testClock.set(new Date(now.getTime() + 2 * 86_400_000));
    expect(await balanceOf(w.a.subs[0].key)).to.equal(40);
    // The next debit sweeps it with an "expire" entry.
    const use = await api().post('/api/v1/usage').set(bearer(w.a.subs[0].key)).send({ conversationId: 'c2', departmentId: dep.body.id }).expect(200);
    expect(use.body).to.deep.equal({ charged: 10, balance: 30 });
    const expired = await deps.db.select().from(creditLedger).where(and(eq(creditLedger.reason, 'expire'), eq(creditLedger.reference, grant.id)));
    expect(expired.map((e) => e.delta)).to.deep.equal([-50]);
  });

  it('sends one low-balance email and notice per crossing, and re-arms when the balance recovers', async () => {
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 1000, reason: 'seed' }).expect(201);
    await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: 30, reason: 'seed' }).expect(201);
    await api().put(`/api/v1/sub-accounts/${w.a.subs[0].id}/low-balance-threshold`).set(bearer(w.a.key)).send({ threshold: 15 }).expect(200);
    const dep = await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Support', creditsPerRequest: 10 }).expect(201);
    await api().put(`/api/v1/sub-accounts/${w.a.subs[0].id}/departments`).set(bearer(w.a.key)).send({ departmentIds: [dep.body.id] }).expect(200);
    const use = (c: string) => api().post('/api/v1/usage').set(bearer(w.a.subs[0].key)).send({ conversationId: c, departmentId: dep.body.id }).expect(200);
    const notices = async () => (await deps.db.select().from(notifications).where(eq(notifications.subAccountId, w.a.subs[0].id))).length;
    const mails = async () => (await deps.db.select().from(outboxEmails).where(sql`${outboxEmails.subject} like 'Low credit balance%'`)).length;
    await use('a'); // 20: above
    expect([await notices(), await mails()]).to.deep.equal([0, 0]);
    await use('b'); // 10: crossed
    await use('c'); // 0: still below
    expect([await notices(), await mails()]).to.deep.equal([1, 1]);
    await deps.queue.drain();
    const sent = await deps.smtp.waitFor(1);
    expect(sent.map((m) => m.subject)).to.deep.equal([`Low credit balance: ${w.a.subs[0].name}`]);
    expect(sent[0]!.to).to.deep.equal([w.a.subs[0].owner.email]);
    await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: 30, reason: 'top up' }).expect(201); // 30: re-armed
    await use('d'); // 20
    await use('e'); // 10: crossed again
    expect([await notices(), await mails()]).to.deep.equal([2, 2]);
  });
});

import { expect } from 'chai';
import { and, eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { agencies, creditLedger, usageConversations } from '../../db/schema';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { listen, post } from '../support/server';
import { createWorld, type World } from '../support/world';

describe('usage API: per-conversation charging', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  let dept: string;
  let freeDept: string;
  let otherAgencyDept: string;
  const sub = () => w.a.subs[0];
  const api = () => request(app);
  const consumeEntries = async () =>
    (await deps.db.select({ n: sql<number>`count(*)::int` }).from(creditLedger).where(and(eq(creditLedger.reason, 'consume'), eq(creditLedger.subAccountId, sub().id))))[0]!.n;

  /** Pool credits in, then `credits` moved to sub-account A1 with `dept` enabled. */
  async function fund(credits: number, creditsPerRequest = 1) {
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: credits + 1000, reason: 'seed' }).expect(201);
    if (credits > 0) await api().post(`/api/v1/sub-accounts/${sub().id}/adjustments`).set(bearer(w.a.key)).send({ credits, reason: 'seed' }).expect(201);
    dept = (await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Sales', creditsPerRequest }).expect(201)).body.id;
    freeDept = (await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Free', creditsPerRequest: 0 }).expect(201)).body.id;
    otherAgencyDept = (await api().post('/api/v1/departments').set(bearer(w.b.key)).send({ name: 'B dept', creditsPerRequest: 1 }).expect(201)).body.id;
    await api().put(`/api/v1/sub-accounts/${sub().id}/departments`).set(bearer(w.a.key)).send({ departmentIds: [dept, freeDept] }).expect(200);
  }

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
  });
  afterEach(async () => {
    await assertLedgerInvariant(deps.db);
    await deps.close();
  });

  it('charges the first request of a conversation and nothing for later ones', async () => {
    await fund(100, 7);
    let res = await api().post('/api/v1/usage').set(bearer(sub().key)).send({ conversationId: 'conv-1', departmentId: dept }).expect(200);
    expect(res.body).to.deep.equal({ charged: 7, balance: 93 });
    res = await api().post('/api/v1/usage').set(bearer(sub().key)).send({ conversationId: 'conv-1', departmentId: dept }).expect(200);
    expect(res.body).to.deep.equal({ charged: 0, balance: 93 });
    res = await api().post('/api/v1/usage').set(bearer(sub().key)).send({ conversationId: 'conv-1', departmentId: freeDept }).expect(200);
    expect(res.body).to.deep.equal({ charged: 0, balance: 93 });
    expect(await consumeEntries()).to.equal(1);
  });

  it('answers 402, 403 and 404 with stable codes and charges nothing', async () => {
    await fund(5, 10);
    let res = await api().post('/api/v1/usage').set(bearer(sub().key)).send({ conversationId: 'c', departmentId: dept }).expect(402);
    expect(res.body).to.include({ error: 'insufficient_credits' });
    // Refused usage is not remembered: after a top-up the same conversation is charged.
    await api().post(`/api/v1/sub-accounts/${sub().id}/adjustments`).set(bearer(w.a.key)).send({ credits: 10, reason: 'top up' }).expect(201);
    res = await api().post('/api/v1/usage').set(bearer(sub().key)).send({ conversationId: 'c', departmentId: dept }).expect(200);
    expect(res.body.charged).to.equal(10);
    res = await api().post('/api/v1/usage').set(bearer(w.a.subs[1].key)).send({ conversationId: 'c', departmentId: dept }).expect(403);
    expect(res.body.error).to.equal('department_disabled');
    res = await api().post('/api/v1/usage').set(bearer(sub().key)).send({ conversationId: 'c', departmentId: otherAgencyDept }).expect(404);
    expect(res.body.error).to.equal('department_not_found');
    res = await api().post('/api/v1/usage').set(bearer(sub().key)).send({ conversationId: 'c', departmentId: 'dep_nope' }).expect(404);
    expect(res.body.error).to.equal('department_not_found');
    expect((await api().post('/api/v1/usage').set(bearer(w.platformKey)).send({ conversationId: 'c', departmentId: dept }).expect(403)).body.error).to.equal('wrong_scope');
    expect(await consumeEntries()).to.equal(1);
  });

  it('bad usage input: missing fields, non-string ids, 10 KB ids, malformed JSON', async () => {
    await fund(10);
    for (const b of [{}, { conversationId: 'c' }, { conversationId: 1, departmentId: dept }, { conversationId: 'c', departmentId: ['x'] }, { conversationId: 'x'.repeat(10_240), departmentId: dept }, { conversationId: 'c', departmentId: 'd'.repeat(10_240) }]) {
      const res = await api().post('/api/v1/usage').set(bearer(sub().key)).send(b).expect(422);
      expect(res.body.error).to.equal('validation_failed');
    }
    const res = await api().post('/api/v1/usage').set(bearer(sub().key)).set('Content-Type', 'application/json').send('{"conversationId":').expect(400);
    expect(res.body.error).to.equal('invalid_json');
    expect(await consumeEntries()).to.equal(0);
  });

  it('an agency key charges the pool for the agency\'s own chatbot', async () => {
    await fund(0, 4);
    const res = await api().post('/api/v1/usage').set(bearer(w.a.key)).send({ conversationId: 'own-1', departmentId: dept }).expect(200);
    expect(res.body).to.deep.equal({ charged: 4, balance: 996 });
  });

  it('a suspended agency\'s sub-accounts are refused with provider_suspended, the agency with account_suspended', async () => {
    await fund(10);
    await deps.db.update(agencies).set({ status: 'suspended' }).where(eq(agencies.id, w.a.id));
    expect((await api().post('/api/v1/usage').set(bearer(sub().key)).send({ conversationId: 'c', departmentId: dept }).expect(403)).body.error).to.equal('provider_suspended');
    expect((await api().post('/api/v1/usage').set(bearer(w.a.key)).send({ conversationId: 'c', departmentId: dept }).expect(403)).body.error).to.equal('account_suspended');
    expect(await consumeEntries()).to.equal(0);
  });

  it('1,000 concurrent 1-credit requests against 500 credits: exactly 500 served, 500 refused, balance 0', async function () {
    this.timeout(120_000);
    await fund(500, 1);
    const server = await listen(app);
    try {
      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => post(server.base, '/api/v1/usage', sub().key, { conversationId: `conv-${i}`, departmentId: dept })),
      );
      const by = (s: number) => results.filter((r) => r.status === s).length;
      expect({ ok: by(200), refused: by(402), other: results.length - by(200) - by(402) }).to.deep.equal({ ok: 500, refused: 500, other: 0 });
      expect(results.filter((r) => r.status === 402).every((r) => r.body.error === 'insufficient_credits')).to.equal(true);
    } finally {
      await server.close();
    }
    expect((await api().get('/api/v1/balance').set(bearer(sub().key)).expect(200)).body.balance).to.equal(0);
    expect(await consumeEntries()).to.equal(500);
  });

  it('the same conversation posted 100 times concurrently is charged once', async () => {
    await fund(50, 3);
    const server = await listen(app);
    try {
      const results = await Promise.all(Array.from({ length: 100 }, () => post(server.base, '/api/v1/usage', sub().key, { conversationId: 'same', departmentId: dept })));
      expect(results.every((r) => r.status === 200)).to.equal(true);
      expect(results.filter((r) => r.body.charged === 3)).to.have.length(1);
      expect(results.filter((r) => r.body.charged === 0)).to.have.length(99);
    } finally {
      await server.close();
    }
    expect(await consumeEntries()).to.equal(1);
    expect((await api().get('/api/v1/balance').set(bearer(sub().key)).expect(200)).body.balance).to.equal(47);
  });

  it('a batch of good, duplicate, unknown-department, over-budget and malformed events: each its own result', async () => {
    await fund(10, 4);
    await api().post('/api/v1/usage').set(bearer(sub().key)).send({ conversationId: 'earlier', departmentId: dept }).expect(200); // 6 left
    const res = await api().post('/api/v1/usage/batch').set(bearer(sub().key)).send({
      events: [
        { conversationId: 'new-1', departmentId: dept }, // 4 -> 2 left
        { conversationId: 'earlier', departmentId: dept }, // already charged
        { conversationId: 'new-1', departmentId: dept }, // duplicate within the batch
        { conversationId: 'x', departmentId: 'dep_unknown' },
        { conversationId: 'new-2', departmentId: dept }, // needs 4, has 2
        { conversationId: 'new-3', departmentId: freeDept }, // free
        { conversationId: 42 },
      ],
    }).expect(200);
    const summary = res.body.results.map((r: { status: number; charged?: number; balance?: number; error?: string }) => [r.status, r.charged ?? r.error, r.balance ?? null]);
    expect(summary).to.deep.equal([
      [200, 4, 2], [200, 0, 2], [200, 0, 2], [404, 'department_not_found', null], [402, 'insufficient_credits', null], [200, 0, 2], [422, 'validation_failed', null],
    ]);
    const remembered = await deps.db.select({ c: usageConversations.conversationId }).from(usageConversations);
    expect(remembered.map((r) => r.c).sort()).to.deep.equal(['earlier', 'new-1', 'new-3']);
    expect(await consumeEntries()).to.equal(2);
  });

  it('a batch of 1,001 events is refused whole', async () => {
    await fund(5000);
    const events = Array.from({ length: 1001 }, (_, i) => ({ conversationId: `c${i}`, departmentId: dept }));
    const res = await api().post('/api/v1/usage/batch').set(bearer(sub().key)).send({ events }).expect(422);
    expect(res.body.error).to.equal('batch_too_large');
    expect(await consumeEntries()).to.equal(0);
    const ok = await api().post('/api/v1/usage/batch').set(bearer(sub().key)).send({ events: events.slice(0, 1000) }).expect(200);
    expect(ok.body.results.filter((r: { status: number }) => r.status === 200)).to.have.length(1000);
    expect(await consumeEntries()).to.equal(1000);
  });
});

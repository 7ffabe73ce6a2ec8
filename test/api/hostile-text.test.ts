// Hostile text (NUL characters, unpaired surrogates, %00 in a path) is refused at the edge with
// a 400 and a stable code, on every endpoint; and one bad submission never fails the other
// tenants' usage events committed in the same group commit.
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import type { Router } from 'express';
import request from 'supertest';
import { creditLedger, usageConversations } from '../../db/schema';
import { UsageRecorder } from '../../src/usage/usage-recorder';
import { apiRouter } from '../../src/web/api/router';
import { createApp, createWebContext } from '../../src/web/app';
import { findUncleanText } from '../../src/web/text-guard';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { usageSetup } from '../support/usage';
import { assertLedgerInvariant } from '../support/invariants';
import { createWorld, type World } from '../support/world';

interface RouteInfo { method: string; path: string }

/** Every route of a router and the routers mounted in it (all at its root). */
function routesOf(router: Router): RouteInfo[] {
  const out: RouteInfo[] = [];
  for (const layer of (router as unknown as { stack: { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: unknown } }[] }).stack) {
    if (layer.route) for (const m of Object.keys(layer.route.methods)) out.push({ method: m, path: layer.route.path });
    else if (layer.handle && Array.isArray(layer.handle.stack)) out.push(...routesOf(layer.handle as unknown as Router));
  }
  return out;
}

describe('hostile text: refused at the edge, never fails another tenant', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  const api = () => request(app);

  /** One funded client in each agency, with one enabled department each (credits per request given). */
  const twoClients = async (credits: number, aCost: number, bCost: number) => {
    const u = usageSetup(() => app, w.platformKey);
    const [a1] = w.a.subs;
    const [b1] = w.b.subs;
    await u.fillPool(w.a.id, 100);
    await u.fillPool(w.b.id, 100);
    await u.fund(w.a.key, a1.id, credits);
    await u.fund(w.b.key, b1.id, credits);
    const aDept = await u.department(w.a.key, 'Sales', aCost);
    const bDept = await u.department(w.b.key, 'Support', bCost);
    await u.enable(w.a.key, a1.id, [aDept]);
    await u.enable(w.b.key, b1.id, [bDept]);
    return { a1, b1, aDept, bDept };
  };

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

  it('finds NUL characters and unpaired surrogates in values and keys, at any depth', () => {
    expect(findUncleanText({ a: 'ok', b: [{ c: 'fine' }] })).to.equal(null);
    expect(findUncleanText({ a: 'emoji 😀 and Türkçe İı' })).to.equal(null);
    expect(findUncleanText({ events: [{ conversationId: 'ok' }, { conversationId: 'evil\u0000x' }] })).to.equal('events.1.conversationId');
    expect(findUncleanText({ name: 'half \ud83d' })).to.equal('name');
    expect(findUncleanText({ name: '\udc00 lone low' })).to.equal('name');
    expect(findUncleanText({ ['k\u0000']: 1 })).to.equal('k\u0000');
  });

  it('a bad submission in a shared group commit fails alone; the other tenants in the batch are applied', async () => {
    const { a1, b1, aDept, bDept } = await twoClients(10, 2, 3);

    // maxInFlight 1: the warm-up goes alone, everything submitted meanwhile shares the next statement.
    // The recorder is called directly, behind the edge, as a bug letting bad text through would.
    const recorder = new UsageRecorder(deps, { maxInFlight: 1 });
    const outcome = (p: Promise<unknown>) => p.then((v) => ({ ok: v }), (e: unknown) => ({ failed: String(e) }));
    const [warm, before, evil, after] = await Promise.all([
      outcome(recorder.record({ agencyId: w.a.id, subAccountId: a1.id }, [{ conversationId: 'warm-up', departmentId: aDept }])),
      outcome(recorder.record({ agencyId: w.b.id, subAccountId: b1.id }, [{ conversationId: 'b-1', departmentId: bDept }])),
      outcome(recorder.record({ agencyId: w.a.id, subAccountId: a1.id }, [{ conversationId: 'evil\u0000x', departmentId: aDept }])),
      outcome(recorder.record({ agencyId: w.b.id, subAccountId: w.b.subs[1].id }, [{ conversationId: 'b-2', departmentId: bDept }])),
    ]);
    expect(warm).to.deep.equal({ ok: [{ status: 200, charged: 2, balance: 8 }] });
    expect(before).to.deep.equal({ ok: [{ status: 200, charged: 3, balance: 7 }] });
    expect(evil).to.have.property('failed');
    expect(after).to.deep.equal({ ok: [{ status: 403, error: 'department_disabled', message: 'This department is not enabled on this account.' }] });
    const conversations = await deps.db.select({ id: usageConversations.conversationId }).from(usageConversations);
    expect(conversations.map((c) => c.id).sort()).to.deep.equal(['b-1', 'warm-up']);
    const consumed = await deps.db.select().from(creditLedger).where(eq(creditLedger.reason, 'consume'));
    expect(consumed.map((e) => e.delta).sort((x, y) => x - y)).to.deep.equal([-3, -2]);
  });

  it('usage with a NUL or a lone surrogate answers 400 invalid_text and charges nothing, while another agency keeps being served', async () => {
    const { a1, b1, aDept, bDept } = await twoClients(50, 1, 1);

    const evil = Array.from({ length: 10 }, (_, i) =>
      api().post('/api/v1/usage').set(bearer(a1.key)).send({ conversationId: i % 2 ? `evil\u0000${i}` : `half\ud800${i}`, departmentId: aDept }));
    const evilBatch = api().post('/api/v1/usage/batch').set(bearer(a1.key)).send({ events: [{ conversationId: 'fine', departmentId: aDept }, { conversationId: 'x\u0000', departmentId: aDept }] });
    const good = Array.from({ length: 20 }, (_, i) => api().post('/api/v1/usage').set(bearer(b1.key)).send({ conversationId: `good-${i}`, departmentId: bDept }));
    const [evilRes, batchRes, goodRes] = await Promise.all([Promise.all(evil), evilBatch, Promise.all(good)]);
    for (const r of [...evilRes, batchRes]) {
      expect(r.status).to.equal(400);
      expect(r.body.error).to.equal('invalid_text');
      expect(r.body.message).to.match(/NUL character or broken Unicode/);
    }
    expect(batchRes.body.field).to.equal('events.1.conversationId');
    expect(goodRes.map((r) => r.status)).to.deep.equal(goodRes.map(() => 200));
    const aBalance = await api().get('/api/v1/balance').set(bearer(a1.key)).expect(200);
    expect(aBalance.body.balance).to.equal(50); // nothing charged for the refused requests, not even "fine"
    const bBalance = await api().get('/api/v1/balance').set(bearer(b1.key)).expect(200);
    expect(bBalance.body.balance).to.equal(30);
  });

  it('every API route refuses a NUL in its path, query and body with 400 invalid_text (never 500)', async () => {
    const web = createWebContext(deps);
    const routes = [{ method: 'post', path: '/usage' }, { method: 'post', path: '/usage/batch' }, ...routesOf(apiRouter(deps, web))];
    expect(routes.length).to.be.greaterThan(40);
    const failures: string[] = [];
    for (const { method, path } of routes) {
      const withNulIds = path.replace(/:[A-Za-z]+/g, 'x%00y');
      const call = (url: string) => (api() as unknown as Record<string, (u: string) => request.Test>)[method]!(`/api/v1${url}`).set(bearer(w.a.key));
      const cases: [string, request.Test][] = [['query', call(`${path.replace(/:[A-Za-z]+/g, 'id')}?q=a%00b`)]];
      if (withNulIds !== path) cases.push(['path', call(withNulIds)]);
      if (method !== 'get' && method !== 'delete') {
        cases.push(['body', call(path.replace(/:[A-Za-z]+/g, 'id')).send({ name: 'a\u0000b', conversationId: 'c\u0000', departmentId: 'd', email: 'e\u0000@x.test', credits: 1 })]);
        cases.push(['surrogate', call(path.replace(/:[A-Za-z]+/g, 'id')).send({ name: 'broken \udfff', reason: 'x' })]);
      }
      for (const [what, test] of cases) {
        const res = await test;
        if (res.status !== 400 || res.body.error !== 'invalid_text') failures.push(`${method.toUpperCase()} ${path} (${what}): ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(failures).to.deep.equal([]);
  });

  it('pages, gateway callbacks and webhooks refuse hostile text with the normal error page or JSON', async () => {
    const login = await api().post('/login').type('form').send('email=a%00b%40x.test&password=whatever').expect(400);
    expect(login.text).to.contain('NUL character or broken Unicode');
    expect(login.text).to.contain('<main'); // the layout rendered, not a bare text answer
    await api().get('/agency/sub-accounts/sub%00x').expect(400);
    await api().get('/portal/billing/invoices/inv_1%00').expect(400);
    await api().get('/agency/sub-accounts?page=%00').expect(400);
    await api().post('/payments/callback/pay%00x').type('form').send('a=b').expect(400);
    await api().post('/payments/callback/pay_x').type('form').send('oid=a%00b').expect(400);
    const hook = await api().post('/webhooks/gwa_x').type('json').send('{"a":"\u0000"}').expect(400);
    expect(hook.body.error).to.equal('invalid_text');
    await api().post('/webhooks/gwa_x').set('Content-Type', 'application/octet-stream').send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])).expect(400);
    // A malformed escape in the path is the client's mistake too.
    const malformed = await api().get('/api/v1/sub-accounts/%E0%A4%A').set(bearer(w.a.key)).expect(400);
    expect(malformed.body.error).to.equal('invalid_text');
  });
});

describe('answers are never sniffed', () => {
  let deps: TestDeps;
  let w: World;
  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
  });
  afterEach(() => deps.close());

  it('JSON answers (the usage hot path and errors included) carry X-Content-Type-Options: nosniff', async () => {
    const app = createApp(deps);
    for (const res of [
      await request(app).get('/api/v1/balance').set(bearer(w.a.key)),
      await request(app).post('/api/v1/usage').set(bearer(w.a.key)).send({ conversationId: 'c', departmentId: 'dep_missing' }),
      await request(app).get('/api/v1/nothing-here').set(bearer(w.a.key)),
      await request(app).get('/healthz'),
    ]) {
      expect(res.headers['content-type']).to.match(/json/);
      expect(res.headers['x-content-type-options']).to.equal('nosniff');
    }
  });
});

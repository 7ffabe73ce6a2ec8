import { expect } from 'chai';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { createApp } from '../../src/web/app';
import { resetData, rowsOf } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

/**
 * The tenant isolation matrix: every route that takes an id, called by a user or key of another
 * agency or a sibling sub-account, answers 404 or 403 and changes nothing.
 */
describe('tenant isolation matrix', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  type Agent = Awaited<ReturnType<typeof signIn>>;
  const users: Record<string, Agent> = {};
  const depts: Record<'a' | 'b', string> = { a: '', b: '' };
  const pkgs: Record<'published' | 'draft', string> = { published: '', draft: '' };

  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
    // A department in each agency, enabled on each agency's first sub-account, and some credits.
    for (const ag of [w.a, w.b]) {
      const dep = (await request(app).post('/api/v1/departments').set(bearer(ag.key)).send({ name: 'Dept', creditsPerRequest: 1 }).expect(201)).body.id as string;
      depts[ag === w.a ? 'a' : 'b'] = dep;
      await request(app).put(`/api/v1/sub-accounts/${ag.subs[0].id}/departments`).set(bearer(ag.key)).send({ departmentIds: [dep] }).expect(200);
      await request(app).post(`/api/v1/agencies/${ag.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 100, reason: 'seed' }).expect(201);
      await request(app).post(`/api/v1/sub-accounts/${ag.subs[0].id}/adjustments`).set(bearer(ag.key)).send({ credits: 10, reason: 'seed' }).expect(201);
    }
    for (const [k, published] of [['published', true], ['draft', false]] as const) {
      pkgs[k] = (await request(app).post('/api/v1/packages').set(bearer(w.a.key)).send({ name: k, type: 'credit', priceMinor: 100, currency: 'USD', credits: 1, published }).expect(201)).body.id;
    }
    users.agencyB = await signIn(app, w.b.owner.email);
    users.agencyA = await signIn(app, w.a.owner.email);
    users.clientA2 = await signIn(app, w.a.subs[1].owner.email);
  });
  after(() => deps.close());

  /** Everything a tenant could change, as one comparable value. */
  async function snapshot() {
    const q = async (text: string) => rowsOf(await deps.db.execute(sql.raw(text)));
    return JSON.stringify({
      agencies: await q('select id, name, status, reselling_module, plan_code from agencies order by id'),
      subs: await q('select id, agency_id, name, status from sub_accounts order by id'),
      keys: await q('select id, revoked_at from api_keys order by id'),
      members: await q('select count(*)::int as n from memberships'),
      invitations: await q('select count(*)::int as n from invitations'),
      audit: await q('select count(*)::int as n from audit_log'),
      mail: await q('select count(*)::int as n from outbox_emails'),
      credits: await q('select id, balance, low_balance_threshold from credit_accounts order by id'),
      ledger: await q('select count(*)::int as n from credit_ledger'),
      departments: await q('select id, name, credits_per_request, archived_at from departments order by id'),
      packages: await q('select id, current_version_id, published, archived_at from offers order by id'),
      versions: await q('select count(*)::int as n from offer_versions'),
      purchases: await q('select count(*)::int as n from purchases'),
      orders: await q('select count(*)::int as n from agency_orders'),
      enabled: await q('select sub_account_id, department_id from sub_account_departments order by 1, 2'),
    });
  }

  interface ApiCase { name: string; key: (w: World) => string; method: 'get' | 'post' | 'patch' | 'put' | 'delete'; path: (w: World) => string; body?: (w: World) => object; status: number[] }
  const apiCases: ApiCase[] = [
    { name: 'agency B reads agency A\'s sub-account', key: (w) => w.b.key, method: 'get', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}`, status: [404] },
    { name: 'agency B issues a key for agency A\'s sub-account', key: (w) => w.b.key, method: 'post', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}/api-keys`, body: () => ({ name: 'x' }), status: [404] },
    { name: 'agency B invites into agency A\'s sub-account', key: (w) => w.b.key, method: 'post', path: () => '/api/v1/invitations', body: (w) => ({ email: 'evil@example.test', role: 'member', subAccountId: w.a.subs[0].id }), status: [404] },
    { name: 'agency B revokes agency A\'s key', key: (w) => w.b.key, method: 'delete', path: (w) => `/api/v1/api-keys/${w.a.keyId}`, status: [404] },
    { name: 'sub-account A2 revokes sibling A1\'s key', key: (w) => w.a.subs[1].key, method: 'delete', path: (w) => `/api/v1/api-keys/${w.a.subs[0].keyId}`, status: [404] },
    { name: 'agency A revokes its sub-account\'s key through the own-keys route', key: (w) => w.a.key, method: 'delete', path: (w) => `/api/v1/api-keys/${w.a.subs[0].keyId}`, status: [404] },
    { name: 'sub-account A2 reads sibling A1', key: (w) => w.a.subs[1].key, method: 'get', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}`, status: [403] },
    { name: 'sub-account A2 issues a key for sibling A1', key: (w) => w.a.subs[1].key, method: 'post', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}/api-keys`, status: [403] },
    { name: 'sub-account A2 invites into sibling A1', key: (w) => w.a.subs[1].key, method: 'post', path: () => '/api/v1/invitations', body: (w) => ({ email: 'evil@example.test', role: 'member', subAccountId: w.a.subs[0].id }), status: [404] },
    { name: 'agency B reads agency A', key: (w) => w.b.key, method: 'get', path: (w) => `/api/v1/agencies/${w.a.id}`, status: [403] },
    { name: 'agency B changes agency A\'s flags', key: (w) => w.b.key, method: 'patch', path: (w) => `/api/v1/agencies/${w.a.id}`, body: () => ({ resellingModule: false }), status: [403] },
    { name: 'agency B issues an agency key for agency A', key: (w) => w.b.key, method: 'post', path: (w) => `/api/v1/agencies/${w.a.id}/api-keys`, status: [403] },
    { name: 'agency A issues a key for itself through the platform route', key: (w) => w.a.key, method: 'post', path: (w) => `/api/v1/agencies/${w.a.id}/api-keys`, status: [403] },
    { name: 'agency B adjusts agency A\'s sub-account', key: (w) => w.b.key, method: 'post', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`, body: () => ({ credits: 5, reason: 'x' }), status: [404] },
    { name: 'agency B reads agency A\'s sub-account balance', key: (w) => w.b.key, method: 'get', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}/balance`, status: [404] },
    { name: 'agency B reads agency A\'s sub-account history', key: (w) => w.b.key, method: 'get', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}/credit-history`, status: [404] },
    { name: 'agency B sets a threshold on agency A\'s sub-account', key: (w) => w.b.key, method: 'put', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}/low-balance-threshold`, body: () => ({ threshold: 5 }), status: [404] },
    { name: 'agency B sets agency A\'s sub-account departments', key: (w) => w.b.key, method: 'put', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}/departments`, body: () => ({ departmentIds: [] }), status: [404] },
    { name: 'agency A enables agency B\'s department on its own sub-account', key: (w) => w.a.key, method: 'put', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}/departments`, body: () => ({ departmentIds: [depts.b] }), status: [422] },
    { name: 'agency B renames agency A\'s department', key: (w) => w.b.key, method: 'patch', path: () => `/api/v1/departments/${depts.a}`, body: () => ({ name: 'Hijacked' }), status: [404] },
    { name: 'agency B archives agency A\'s department', key: (w) => w.b.key, method: 'delete', path: () => `/api/v1/departments/${depts.a}`, status: [404] },
    { name: 'agency B adjusts agency A\'s pool through the platform route', key: (w) => w.b.key, method: 'post', path: (w) => `/api/v1/agencies/${w.a.id}/adjustments`, body: () => ({ credits: 5, reason: 'x' }), status: [403] },
    { name: 'sub-account A2 reads sibling A1\'s balance', key: (w) => w.a.subs[1].key, method: 'get', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}/balance`, status: [403] },
    { name: 'sub-account A2 uses a department enabled only on sibling A1', key: (w) => w.a.subs[1].key, method: 'post', path: () => '/api/v1/usage', body: () => ({ conversationId: 'x', departmentId: depts.a }), status: [403] },
    { name: 'sub-account B1 uses agency A\'s department', key: (w) => w.b.subs[0].key, method: 'post', path: () => '/api/v1/usage', body: () => ({ conversationId: 'x', departmentId: depts.a }), status: [404] },
    { name: 'agency B reads agency A\'s package', key: (w) => w.b.key, method: 'get', path: () => `/api/v1/packages/${pkgs.published}`, status: [404] },
    { name: 'agency B edits agency A\'s package', key: (w) => w.b.key, method: 'patch', path: () => `/api/v1/packages/${pkgs.published}`, body: () => ({ name: 'Hijacked' }), status: [403, 404] },
    { name: 'agency B lists agency A\'s sub-account purchases', key: (w) => w.b.key, method: 'get', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}/purchases`, status: [404] },
    { name: 'agency B records a purchase for agency A\'s sub-account', key: (w) => w.b.key, method: 'post', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}/purchases`, body: () => ({ packageId: pkgs.published, payment: 'offline' }), status: [403, 404] },
    { name: 'sub-account A1 reads agency A\'s draft package', key: (w) => w.a.subs[0].key, method: 'get', path: () => `/api/v1/packages/${pkgs.draft}`, status: [404] },
    { name: 'sub-account B1 reads agency A\'s published package', key: (w) => w.b.subs[0].key, method: 'get', path: () => `/api/v1/packages/${pkgs.published}`, status: [404] },
    { name: 'sub-account A2 lists sibling A1\'s purchases', key: (w) => w.a.subs[1].key, method: 'get', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}/purchases`, status: [403] },
    { name: 'a sub-account orders top-ups from the platform', key: (w) => w.a.subs[0].key, method: 'post', path: () => '/api/v1/orders', body: () => ({ kind: 'chatbot_slots', quantity: 1 }), status: [403] },
    { name: 'a platform key reads a sub-account through the agency route', key: (w) => w.platformKey, method: 'get', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}`, status: [403] },
  ];

  for (const c of apiCases) {
    it(`API: ${c.name} -> ${c.status.join('/')}, nothing changes`, async () => {
      const body = c.body?.(w);
      const before = await snapshot();
      const res = await request(app)[c.method](c.path(w)).set(bearer(c.key(w))).send(body ?? {});
      expect(c.status, JSON.stringify(res.body)).to.include(res.status);
      expect(res.body.error).to.be.oneOf(['not_found', 'wrong_scope', 'forbidden', 'validation_failed', 'department_disabled', 'department_not_found', 'module_required']);
      expect(await snapshot()).to.equal(before);
    });
  }

  interface WebCase { name: string; as: string; method: 'get' | 'post'; path: (w: World) => string; body?: Record<string, string>; status: number[] }
  const webCases: WebCase[] = [
    { name: 'agency B owner opens agency A\'s sub-account', as: 'agencyB', method: 'get', path: (w) => `/agency/sub-accounts/${w.a.subs[0].id}`, status: [404] },
    { name: 'agency B owner invites into agency A\'s sub-account', as: 'agencyB', method: 'post', path: (w) => `/agency/sub-accounts/${w.a.subs[0].id}/invitations`, body: { email: 'evil@example.test', role: 'member' }, status: [404] },
    { name: 'agency B owner creates a key for agency A\'s sub-account', as: 'agencyB', method: 'post', path: (w) => `/agency/sub-accounts/${w.a.subs[0].id}/api-keys`, body: { name: 'x' }, status: [404] },
    { name: 'agency B owner revokes agency A\'s sub-account key', as: 'agencyB', method: 'post', path: (w) => `/agency/sub-accounts/${w.a.subs[0].id}/api-keys/${w.a.subs[0].keyId}/revoke`, status: [404] },
    { name: 'agency B owner revokes agency A\'s key via a B sub-account path', as: 'agencyB', method: 'post', path: (w) => `/agency/sub-accounts/${w.b.subs[0].id}/api-keys/${w.a.subs[0].keyId}/revoke`, status: [404] },
    { name: 'agency A owner revokes sub A1\'s key through sub A2\'s path', as: 'agencyA', method: 'post', path: (w) => `/agency/sub-accounts/${w.a.subs[1].id}/api-keys/${w.a.subs[0].keyId}/revoke`, status: [404] },
    { name: 'agency B owner revokes agency A\'s key on the own-keys page', as: 'agencyB', method: 'post', path: (w) => `/agency/api-keys/${w.a.keyId}/revoke`, status: [404] },
    { name: 'agency B owner opens the platform\'s agency page', as: 'agencyB', method: 'get', path: (w) => `/platform/agencies/${w.a.id}`, status: [403] },
    { name: 'agency B owner changes agency A\'s flags', as: 'agencyB', method: 'post', path: (w) => `/platform/agencies/${w.a.id}/flags`, body: { resellingModule: '' }, status: [403] },
    { name: 'agency B owner opens agency A\'s sub-account credits', as: 'agencyB', method: 'get', path: (w) => `/agency/sub-accounts/${w.a.subs[0].id}/credits`, status: [404] },
    { name: 'agency B owner exports agency A\'s sub-account history', as: 'agencyB', method: 'get', path: (w) => `/agency/sub-accounts/${w.a.subs[0].id}/credits.csv`, status: [404] },
    { name: 'agency B owner adjusts agency A\'s sub-account', as: 'agencyB', method: 'post', path: (w) => `/agency/sub-accounts/${w.a.subs[0].id}/credits/adjustments`, body: { credits: '5', reason: 'x' }, status: [404] },
    { name: 'agency B owner sets agency A\'s sub-account threshold', as: 'agencyB', method: 'post', path: (w) => `/agency/sub-accounts/${w.a.subs[0].id}/credits/threshold`, body: { threshold: '5' }, status: [404] },
    { name: 'agency B owner sets agency A\'s sub-account departments', as: 'agencyB', method: 'post', path: (w) => `/agency/sub-accounts/${w.a.subs[0].id}/departments`, body: {}, status: [404] },
    { name: 'agency B owner edits agency A\'s department', as: 'agencyB', method: 'post', path: () => `/agency/departments/${depts.a}`, body: { name: 'Hijacked', creditsPerRequest: '0' }, status: [404] },
    { name: 'agency B owner archives agency A\'s department', as: 'agencyB', method: 'post', path: () => `/agency/departments/${depts.a}/archive`, status: [404] },
    { name: 'client A2 opens sibling A1\'s credits', as: 'clientA2', method: 'get', path: (w) => `/agency/sub-accounts/${w.a.subs[0].id}/credits`, status: [403] },
    { name: 'agency B owner opens agency A\'s package edit page', as: 'agencyB', method: 'get', path: () => `/agency/packages/${pkgs.published}/edit`, status: [403, 404] },
    { name: 'client A2 opens agency A\'s draft package to buy it', as: 'clientA2', method: 'post', path: () => `/portal/packages/${pkgs.draft}/buy`, status: [404] },
    { name: 'client A2 opens sibling A1 in the agency console', as: 'clientA2', method: 'get', path: (w) => `/agency/sub-accounts/${w.a.subs[0].id}`, status: [403] },
    { name: 'client A2 revokes sibling A1\'s key on the portal keys page', as: 'clientA2', method: 'post', path: (w) => `/portal/api-keys/${w.a.subs[0].keyId}/revoke`, status: [404] },
  ];

  for (const c of webCases) {
    it(`web: ${c.name} -> ${c.status.join('/')}, nothing changes`, async () => {
      const { agent, csrf } = users[c.as]!;
      const before = await snapshot();
      const res = c.method === 'get' ? await agent.get(c.path(w)) : await agent.post(c.path(w)).type('form').send({ _csrf: csrf, ...c.body });
      expect(c.status, `${res.status} ${/data-error-code="([^"]+)"/.exec(res.text)?.[1]}`).to.include(res.status);
      expect(res.text).not.to.contain(w.a.subs[0].name);
      expect(await snapshot()).to.equal(before);
    });
  }

  it('the portal of a sub-account never lists a sibling', async () => {
    const res = await users.clientA2!.agent.get('/portal').expect(200);
    expect(res.text).to.contain(w.a.subs[1].name).and.not.contain(w.a.subs[0].name);
  });
});

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

  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
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
    });
  }

  interface ApiCase { name: string; key: (w: World) => string; method: 'get' | 'post' | 'patch' | 'delete'; path: (w: World) => string; body?: (w: World) => object; status: number[] }
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
    { name: 'a platform key reads a sub-account through the agency route', key: (w) => w.platformKey, method: 'get', path: (w) => `/api/v1/sub-accounts/${w.a.subs[0].id}`, status: [403] },
  ];

  for (const c of apiCases) {
    it(`API: ${c.name} -> ${c.status.join('/')}, nothing changes`, async () => {
      const body = c.body?.(w);
      const before = await snapshot();
      const res = await request(app)[c.method](c.path(w)).set(bearer(c.key(w))).send(body ?? {});
      expect(c.status, JSON.stringify(res.body)).to.include(res.status);
      expect(res.body.error).to.be.oneOf(['not_found', 'wrong_scope', 'forbidden']);
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

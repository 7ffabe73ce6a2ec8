import { expect } from 'chai';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { agencies, auditLog, invitations, subAccounts } from '../../db/schema';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, csrfFrom } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('API v1: keys, provisioning and errors', () => {
  let deps: TestDeps;
  let world: World;
  let app: ReturnType<typeof createApp>;
  const count = async (table: typeof agencies | typeof subAccounts | typeof auditLog | typeof invitations) =>
    (await deps.db.select({ n: sql<number>`count(*)::int` }).from(table))[0]!.n;

  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    world = await createWorld(deps);
    app = createApp(deps);
  });
  after(() => deps.close());

  it('GET /me answers the scope and ids of each kind of key', async () => {
    expect((await request(app).get('/api/v1/me').set(bearer(world.platformKey)).expect(200)).body).to.include({ scope: 'platform', agencyId: null, subAccountId: null });
    expect((await request(app).get('/api/v1/me').set(bearer(world.a.key)).expect(200)).body).to.include({ scope: 'agency', agencyId: world.a.id, subAccountId: null });
    expect((await request(app).get('/api/v1/me').set(bearer(world.a.subs[0].key)).expect(200)).body).to.include({ scope: 'sub-account', agencyId: world.a.id, subAccountId: world.a.subs[0].id });
  });

  it('answers 401 with a stable code without a key, with a malformed header and with an unknown key', async () => {
    expect((await request(app).get('/api/v1/me').expect(401)).body).to.include({ error: 'unauthenticated' });
    expect((await request(app).get('/api/v1/me').set('Authorization', 'Basic abc').expect(401)).body).to.include({ error: 'unauthenticated' });
    expect((await request(app).get('/api/v1/me').set(bearer('kt_plt_nope')).expect(401)).body).to.include({ error: 'invalid_api_key' });
  });

  it('a platform key creates and lists agencies and issues an agency key that works', async () => {
    const created = await request(app).post('/api/v1/agencies').set(bearer(world.platformKey)).send({ name: 'Via API', resellingModule: true }).expect(201);
    expect(created.body).to.include({ name: 'Via API', resellingModule: true, status: 'active' });
    expect(created.body.id).to.match(/^agy_/);
    const list = await request(app).get('/api/v1/agencies').set(bearer(world.platformKey)).expect(200);
    expect(list.body.data.map((a: { id: string }) => a.id)).to.include(created.body.id);
    const key = await request(app).post(`/api/v1/agencies/${created.body.id}/api-keys`).set(bearer(world.platformKey)).send({ name: 'ops' }).expect(201);
    expect(key.body.key).to.match(/^kt_agy_/);
    expect(key.body).to.include({ scope: 'agency', agencyId: created.body.id });
    const me = await request(app).get('/api/v1/me').set(bearer(key.body.key)).expect(200);
    expect(me.body.agencyId).to.equal(created.body.id);
    // The key is never shown again.
    const keys = await request(app).get('/api/v1/api-keys').set(bearer(key.body.key)).expect(200);
    expect(JSON.stringify(keys.body)).not.to.contain(key.body.key);
  });

  it('an agency key creates, lists and reads its sub-accounts and issues sub-account keys', async () => {
    const created = await request(app).post('/api/v1/sub-accounts').set(bearer(world.a.key)).send({ name: 'Client via API', billingEmail: 'Pay@Client.test' }).expect(201);
    expect(created.body).to.include({ agencyId: world.a.id, name: 'Client via API', billingEmail: 'pay@client.test' });
    const one = await request(app).get(`/api/v1/sub-accounts/${created.body.id}`).set(bearer(world.a.key)).expect(200);
    expect(one.body.id).to.equal(created.body.id);
    const list = await request(app).get('/api/v1/sub-accounts').set(bearer(world.a.key)).expect(200);
    expect(list.body.data.map((s: { id: string }) => s.id)).to.include(created.body.id).and.not.include(world.b.subs[0].id);
    const key = await request(app).post(`/api/v1/sub-accounts/${created.body.id}/api-keys`).set(bearer(world.a.key)).send({}).expect(201);
    const me = await request(app).get('/api/v1/me').set(bearer(key.body.key)).expect(200);
    expect(me.body).to.include({ scope: 'sub-account', subAccountId: created.body.id });
  });

  it('refuses a key of the wrong scope with 403 wrong_scope and writes nothing', async () => {
    const before = await count(agencies);
    const res = await request(app).post('/api/v1/agencies').set(bearer(world.a.key)).send({ name: 'Sneaky' }).expect(403);
    expect(res.body).to.include({ error: 'wrong_scope' });
    expect(res.body.message).to.contain('platform');
    await request(app).post('/api/v1/sub-accounts').set(bearer(world.a.subs[0].key)).send({ name: 'x' }).expect(403);
    await request(app).post('/api/v1/sub-accounts').set(bearer(world.platformKey)).send({ name: 'x' }).expect(403);
    expect(await count(agencies)).to.equal(before);
  });

  it('a revoked key stops working at once', async () => {
    const created = await request(app).post(`/api/v1/sub-accounts/${world.a.subs[1].id}/api-keys`).set(bearer(world.a.key)).send({ name: 'temp' }).expect(201);
    await request(app).get('/api/v1/me').set(bearer(created.body.key)).expect(200);
    const revoked = await request(app).delete(`/api/v1/api-keys/${created.body.id}`).set(bearer(created.body.key)).expect(200);
    expect(revoked.body.revokedAt).to.be.a('string');
    const res = await request(app).get('/api/v1/me').set(bearer(created.body.key)).expect(401);
    expect(res.body).to.include({ error: 'invalid_api_key' });
  });

  it('bad input: missing fields, wrong types, malformed JSON, a 10 MB body: stable errors, nothing written', async () => {
    const before = { a: await count(agencies), s: await count(subAccounts), l: await count(auditLog) };
    let res = await request(app).post('/api/v1/agencies').set(bearer(world.platformKey)).send({}).expect(422);
    expect(res.body).to.include({ error: 'validation_failed' });
    expect(res.body.fields.name).to.equal('Name is required.');
    res = await request(app).post('/api/v1/sub-accounts').set(bearer(world.a.key)).send({ name: 42 }).expect(422);
    expect(res.body.fields).to.have.property('name');
    res = await request(app).post('/api/v1/sub-accounts').set(bearer(world.a.key)).send({ name: 'ok', billingEmail: 'not-an-email' }).expect(422);
    expect(res.body.fields.billingEmail).to.equal('Enter a valid email address.');
    res = await request(app).post('/api/v1/sub-accounts').set(bearer(world.a.key)).set('Content-Type', 'application/json').send('{"name": ').expect(400);
    expect(res.body).to.deep.equal({ error: 'invalid_json', message: 'The request body is not valid JSON.', requestId: res.headers['x-request-id'] });
    res = await request(app).post('/api/v1/sub-accounts').set(bearer(world.a.key)).set('Content-Type', 'application/json').send(JSON.stringify({ name: 'x'.repeat(10 * 1024 * 1024) })).expect(413);
    expect(res.body.error).to.equal('payload_too_large');
    res = await request(app).get(`/api/v1/sub-accounts/${'x'.repeat(10_000)}`).set(bearer(world.a.key)).expect(404);
    expect(res.body.error).to.equal('not_found');
    res = await request(app).get('/api/v1/no-such-route').set(bearer(world.a.key)).expect(404);
    expect(res.body.error).to.equal('not_found');
    expect({ a: await count(agencies), s: await count(subAccounts), l: await count(auditLog) }).to.deep.equal(before);
  });

  it('an agency key invites a user into one of its sub-accounts; the invitee accepts and signs in', async () => {
    deps.smtp.clear();
    const res = await request(app).post('/api/v1/invitations').set(bearer(world.a.key)).send({ email: 'New.Person@Example.test', role: 'admin', billing: true, subAccountId: world.a.subs[0].id }).expect(201);
    expect(res.body.email).to.equal('new.person@example.test');
    const [mail] = await deps.smtp.waitFor(1);
    expect(mail!.to).to.deep.equal(['new.person@example.test']);
    const link = /http:\/\/kontor\.test(\/invitations\/[\w-]+)/.exec(mail!.raw.replace(/=\r?\n/g, ''))![1]!;
    const agent = request.agent(app);
    const form = await agent.get(link).expect(200);
    await agent.post(link).type('form').send({ _csrf: csrfFrom(form.text), name: 'New Person', password: 'long-enough-pw', confirmPassword: 'long-enough-pw' }).expect(302);
    // A second use of the same link is refused.
    await agent.get(link).expect(404);
    const login = await agent.get('/login');
    await agent.post('/login').type('form').send({ _csrf: csrfFrom(login.text), email: 'new.person@example.test', password: 'long-enough-pw' }).expect(302);
    const portal = await agent.get('/portal').expect(200);
    expect(portal.text).to.contain(world.a.subs[0].name);
  });

  it('refuses to invite into another agency\'s sub-account or above the inviter\'s role', async () => {
    const before = await count(invitations);
    let res = await request(app).post('/api/v1/invitations').set(bearer(world.a.key)).send({ email: 'x@example.test', role: 'member', subAccountId: world.b.subs[0].id }).expect(404);
    expect(res.body.error).to.equal('not_found');
    res = await request(app).post('/api/v1/invitations').set(bearer(world.a.key)).send({ email: 'y@example.test', role: 'owner' }).expect(422);
    expect(res.body.fields.role).to.contain('above your own');
    res = await request(app).post('/api/v1/invitations').set(bearer(world.a.key)).send({ email: 'z@example.test', role: 'emperor' }).expect(422);
    expect(res.body.fields).to.have.property('role');
    expect(await count(invitations)).to.equal(before);
  });
});

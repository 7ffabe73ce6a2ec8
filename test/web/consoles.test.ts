import { expect } from 'chai';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { agencies, auditLog, subAccounts } from '../../db/schema';
import { planByCode } from '../../src/catalog/catalog.usecases';
import { insertOffer } from '../../src/catalog/offers';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('consoles: platform admin, agency, portal', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;

  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
  });
  after(() => deps.close());

  it('the platform admin creates an agency; a blank name re-renders the form with the values kept', async () => {
    const { agent, csrf } = await signIn(app, w.platformAdmin.email);
    const bad = await agent.post('/platform/agencies').type('form').send({ _csrf: csrf, name: '  ', billingEmail: 'kept@example.test' }).expect(422);
    expect(bad.text).to.contain('Name is required.').and.contain('value="kept@example.test"');
    const before = (await deps.db.select({ n: sql<number>`count(*)::int` }).from(agencies))[0]!.n;
    expect(before).to.equal(2);
    const ok = await agent.post('/platform/agencies').type('form').send({ _csrf: csrf, name: 'Fresh Agency', resellingModule: 'on' }).expect(302);
    expect(ok.headers.location).to.match(/^\/platform\/agencies\/agy_/);
    const page = await agent.get(ok.headers.location as string).expect(200);
    expect(page.text).to.contain('Fresh Agency');
  });

  it('an agency\'s plan is picked from the platform\'s published plans; free text is refused and changes nothing', async () => {
    const now = deps.clock.now();
    await insertOffer(deps.db, { sellerAgencyId: null, kind: 'plan', code: 'gold', terms: { name: 'Gold Agency', priceMinor: 1000, currency: 'TRY' } }, now);
    await insertOffer(deps.db, { sellerAgencyId: null, kind: 'plan', code: 'retired', published: false, terms: { name: 'Old Plan', priceMinor: 500, currency: 'TRY' } }, now);
    const { agent, csrf } = await signIn(app, w.platformAdmin.email);
    const page = await agent.get(`/platform/agencies/${w.b.id}`).expect(200);
    expect(page.text).to.contain('<option value="gold"');
    expect(page.text).to.contain('Gold Agency');
    expect(page.text).not.to.contain('Old Plan'); // a retired plan is not offered
    for (const planCode of ['nonexistent-plan', 'retired']) {
      const refused = await agent.post(`/platform/agencies/${w.b.id}/flags`).type('form').send({ _csrf: csrf, planCode }).expect(422);
      expect(refused.text).to.contain('Pick one of the platform&#39;s published plans from the list.');
    }
    const [row] = await deps.db.select().from(agencies).where(eq(agencies.id, w.b.id));
    expect(row!.planCode).to.equal(null);
    const api = await request(app).post('/api/v1/agencies').set(bearer(w.platformKey)).send({ name: 'Typo Plan Agency', planCode: 'glod' }).expect(422);
    expect(api.body.fields.planCode).to.contain('published plans');
    await agent.post(`/platform/agencies/${w.b.id}/flags`).type('form').send({ _csrf: csrf, planCode: 'gold' }).expect(302);
    const list = await agent.get('/platform/agencies').expect(200);
    expect(list.text).to.contain('Gold Agency');
  });

  it('the platform admin suspends an agency and toggles its reselling module, audit-logged', async () => {
    const now = deps.clock.now();
    if (!(await planByCode(deps.db, 'gold'))) await insertOffer(deps.db, { sellerAgencyId: null, kind: 'plan', code: 'gold', terms: { name: 'Gold Agency', priceMinor: 1000, currency: 'TRY' } }, now);
    const { agent, csrf } = await signIn(app, w.platformAdmin.email);
    await agent.post(`/platform/agencies/${w.b.id}/flags`).type('form').send({ _csrf: csrf, suspended: 'on', resellingModule: 'on', planCode: 'gold' }).expect(302);
    const [row] = await deps.db.select().from(agencies).where(eq(agencies.id, w.b.id));
    expect(row).to.include({ status: 'suspended', resellingModule: true, planCode: 'gold' });
    expect(row!.suspendedAt).to.be.instanceOf(Date);
    const audit = await deps.db.select().from(auditLog).where(eq(auditLog.targetId, w.b.id));
    expect(audit.map((a) => a.action)).to.include('agency.updated');
    await agent.post(`/platform/agencies/${w.b.id}/flags`).type('form').send({ _csrf: csrf }).expect(302);
    const [back] = await deps.db.select().from(agencies).where(eq(agencies.id, w.b.id));
    expect(back).to.include({ status: 'active', resellingModule: false, planCode: null });
  });

  it('the package screens need the billing permission and the reselling module', async () => {
    const owner = await signIn(app, w.a.owner.email); // billing, module on
    const page = await owner.agent.get('/agency/packages').expect(200);
    expect(page.text).to.contain('Everything you sell to your sub-accounts').and.contain('New package');
    const member = await signIn(app, w.a.member.email); // no billing
    const denied = await member.agent.get('/agency/packages').expect(403);
    expect(denied.text).to.contain('This needs the billing permission.');
    const bOwner = await signIn(app, w.b.owner.email); // billing, module off
    const upgrade = await bOwner.agent.get('/agency/packages').expect(403);
    expect(upgrade.text).to.contain('reselling module').and.contain('Ask the platform');
  });

  it('a member can read the sub-accounts but cannot create one', async () => {
    const { agent, csrf } = await signIn(app, w.a.member.email);
    const list = await agent.get('/agency/sub-accounts').expect(200);
    expect(list.text).to.contain(w.a.subs[0].name).and.not.contain('New sub-account');
    const before = (await deps.db.select({ n: sql<number>`count(*)::int` }).from(subAccounts))[0]!.n;
    await agent.post('/agency/sub-accounts').type('form').send({ _csrf: csrf, name: 'Not allowed' }).expect(403);
    expect((await deps.db.select({ n: sql<number>`count(*)::int` }).from(subAccounts))[0]!.n).to.equal(before);
  });

  it('an agency owner creates a sub-account key in the UI: shown once, works, then revoked', async () => {
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    const created = await agent.post(`/agency/sub-accounts/${w.a.subs[0].id}/api-keys`).type('form').send({ _csrf: csrf, name: 'widget' }).expect(302);
    const page = await agent.get(created.headers.location as string).expect(200);
    const key = /data-testid="secret"><code>(kt_sub_[\w-]+)<\/code>/.exec(page.text)![1]!;
    const me = await request(app).get('/api/v1/me').set(bearer(key)).expect(200);
    expect(me.body.subAccountId).to.equal(w.a.subs[0].id);
    const again = await agent.get(created.headers.location as string).expect(200);
    expect(again.text).not.to.contain(key); // shown once
    const keyId = me.body.apiKeyId as string;
    await agent.post(`/agency/sub-accounts/${w.a.subs[0].id}/api-keys/${keyId}/revoke`).type('form').send({ _csrf: csrf }).expect(302);
    await request(app).get('/api/v1/me').set(bearer(key)).expect(401);
  });

  it('a sub-account user sees the portal shell and is kept out of the agency and platform consoles', async () => {
    const { agent } = await signIn(app, w.a.subs[0].owner.email);
    const portal = await agent.get('/portal').expect(200);
    expect(portal.text).to.contain(w.a.subs[0].name).and.contain(w.a.name);
    await agent.get('/agency/sub-accounts').expect(403);
    await agent.get('/platform/agencies').expect(403);
  });

  it('after an invitation into a second tenant, the user switches between memberships', async () => {
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    // Agency A invites the owner of B (an existing user) into its sub-account A2.
    const inv = await request(app).post('/api/v1/invitations').set(bearer(w.a.key)).send({ email: w.b.owner.email, role: 'member', subAccountId: w.a.subs[1].id }).expect(201);
    expect(inv.body.email).to.equal(w.b.owner.email);
    const [mail] = await deps.smtp.waitFor(1);
    const link = /http:\/\/kontor\.test(\/invitations\/[\w-]+)/.exec(mail!.raw.replace(/=\r?\n/g, ''))![1]!;
    const b = await signIn(app, w.b.owner.email);
    const form = await b.agent.get(link).expect(200);
    expect(form.text).to.contain('You already have an account with this email address');
    await b.agent.post(link).type('form').send({ _csrf: b.csrf, password: 'wrong-password!' }).expect(422);
    await b.agent.post(link).type('form').send({ _csrf: b.csrf, password: 'correct-horse-battery' }).expect(302);
    const profile = await b.agent.get('/profile').expect(200);
    const membershipId = new RegExp(`<option value="(mem_\\w+)" >${w.a.subs[1].name}`).exec(profile.text)![1]!;
    await b.agent.post('/switch').type('form').send({ _csrf: b.csrf, membershipId }).expect(302);
    const portal = await b.agent.get('/portal').expect(200);
    expect(portal.text).to.contain(w.a.subs[1].name);
    // A membership id that is not the user's own is ignored.
    await agent.post('/switch').type('form').send({ _csrf: csrf, membershipId }).expect(302);
    await agent.get('/agency/sub-accounts').expect(200);
  });
});

import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import request from 'supertest';
import { auditLog, representatives, subAccounts } from '../../db/schema';
import { newId } from '../../src/lib/ids';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe("the agency's page of one client", function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  let owner: Awaited<ReturnType<typeof signIn>>;
  const api = () => request(app);
  const url = () => `/agency/sub-accounts/${w.a.subs[0].id}`;
  const audits = (action: string) => deps.db.select().from(auditLog).where(and(eq(auditLog.action, action), eq(auditLog.targetId, w.a.subs[0].id)));
  const stateOf = (html: string) => /data-testid="client-state">([^<]*)</.exec(html)?.[1];

  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 10_000, reason: 'seed' }).expect(201);
    owner = await signIn(app, w.a.owner.email);
  });
  after(() => deps.close());

  it('shows packages and subscriptions, credits with named references, invoices and purchases of that client only', async () => {
    const b = billingApi(app);
    const pkg = await b.createPackage(w.a.key, { name: 'Desk 3', kind: 'package', billing: 'monthly', priceMinor: 90_000, representatives: 3, published: true });
    await b.start(w.a.subs[0].key, pkg.id).expect(201);
    await b.start(w.a.subs[1].key, pkg.id).expect(201);
    await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: 300, reason: 'welcome' }).expect(201);
    moveTo(deps, '2026-04-01');
    await tick(deps);

    const page = (await owner.agent.get(url()).expect(200)).text;
    expect(stateOf(page)).to.equal('active');
    expect(page).to.contain('Desk 3').and.contain('INV-00000').and.contain('300 credits').and.contain('welcome');
    expect(page).to.match(/data-testid="client-invoices"[\s\S]*awaiting payment/);
    // One free representative and three from the package.
    expect(page).to.match(/data-testid="limits"[\s\S]*Representatives<\/td><td class="num">0<\/td><td class="num">4</);
    expect(page).to.contain('View the portal as this client');
    // Only this client's invoice: one row in its invoices table.
    const invoices = /data-testid="client-invoices">([\s\S]*?)<\/article>/.exec(page)![1]!;
    expect(invoices.match(/<tr><td><a href/g)).to.have.length(1);
  });

  it("another agency's client is not found, and its id reveals nothing", async () => {
    await owner.agent.get(`/agency/sub-accounts/${w.b.subs[0].id}`).expect(404);
    await owner.agent.get(`/agency/sub-accounts/${w.b.subs[0].id}/portal`).expect(404);
    await owner.agent.post(`/agency/sub-accounts/${w.b.subs[0].id}/suspend`).type('form').send({ _csrf: owner.csrf, reason: 'probe' }).expect(404);
    const [other] = await deps.db.select().from(subAccounts).where(eq(subAccounts.id, w.b.subs[0].id));
    expect(other!.status).to.equal('active');
  });

  it('says "over limits", never "active", while the portal is locked for it', async () => {
    const sub = w.a.subs[1];
    const now = deps.clock.now();
    // Five representatives against four allowed (the free one and a package of three): as after a downgrade.
    await deps.db.insert(representatives).values([1, 2, 3, 4, 5].map((n) => ({ id: newId('rep'), agencyId: w.a.id, subAccountId: sub.id, accountId: sub.id, name: `Rep ${n}`, email: `rep${n}@client.test`, createdAt: now })));
    const client = await signIn(app, sub.owner.email);
    const gated = await client.agent.get('/portal/credits').expect(302);
    expect(gated.headers.location).to.equal('/portal/billing');
    const page = (await owner.agent.get(`/agency/sub-accounts/${sub.id}`).expect(200)).text;
    expect(stateOf(page)).to.equal('over limits');
    expect(page).to.contain('1 over');
    const list = (await owner.agent.get('/agency/sub-accounts').expect(200)).text;
    expect(list).to.match(new RegExp(`${sub.name}</a></td><td><span class="badge badge-suspended">over limits</span>`));
    expect(list).to.match(new RegExp(`${w.a.subs[0].name}</a></td><td><span class="badge badge-active">active</span>`));
  });

  it('an agency admin with billing suspends by hand (audit-logged) and the portal locks; reactivating brings it back', async () => {
    const client = await signIn(app, w.a.subs[0].owner.email);
    await client.agent.get('/portal/credits').expect(200);

    // The reason is required; nothing changes without it.
    await owner.agent.post(`${url()}/suspend`).type('form').send({ _csrf: owner.csrf, reason: '' }).expect(422);
    expect((await audits('account.suspended')).length).to.equal(0);

    const member = await signIn(app, w.a.member.email);
    await member.agent.post(`${url()}/suspend`).type('form').send({ _csrf: member.csrf, reason: 'no' }).expect(403);
    expect(await member.agent.get(url()).expect(200).then((r) => r.text)).to.not.contain('data-testid="suspend"');

    await owner.agent.post(`${url()}/suspend`).type('form').send({ _csrf: owner.csrf, reason: 'Chargeback under review' }).expect(302);
    const [row] = await deps.db.select().from(subAccounts).where(eq(subAccounts.id, w.a.subs[0].id));
    expect(row!.status).to.equal('suspended');
    expect(row!.overdueSuspendedAt).to.equal(null);
    const logged = await audits('account.suspended');
    expect(logged).to.have.length(1);
    expect(logged[0]!.actorId).to.equal(w.a.owner.id);
    expect(logged[0]!.data).to.deep.include({ reason: 'manual', note: 'Chargeback under review' });

    const page = (await owner.agent.get(url()).expect(200)).text;
    expect(stateOf(page)).to.equal('suspended');
    expect(page).to.contain('Suspended by your team').and.contain('data-testid="reactivate"');
    const gated = await client.agent.get('/portal/credits').expect(302);
    expect(gated.headers.location).to.equal('/portal/billing');
    // A second suspension is refused and logs nothing more.
    await owner.agent.post(`${url()}/suspend`).type('form').send({ _csrf: owner.csrf, reason: 'again' }).expect(409);
    expect(await audits('account.suspended')).to.have.length(1);

    await owner.agent.post(`${url()}/reactivate`).type('form').send({ _csrf: owner.csrf }).expect(302);
    expect((await audits('account.reactivated')).length).to.equal(1);
    await client.agent.get('/portal/credits').expect(200);
    expect(stateOf((await owner.agent.get(url()).expect(200)).text)).to.equal('active');
  });

  it('a client suspended for overdue invoices cannot be reactivated by hand: paying lifts it', async () => {
    const sub = w.a.subs[0];
    await deps.db.update(subAccounts).set({ status: 'suspended', overdueSuspendedAt: deps.clock.now(), suspendedAt: deps.clock.now() }).where(eq(subAccounts.id, sub.id));
    try {
      const res = await owner.agent.post(`${url()}/reactivate`).type('form').send({ _csrf: owner.csrf }).expect(409);
      expect(res.text).to.contain('comes back as soon as they are paid');
      const [row] = await deps.db.select().from(subAccounts).where(eq(subAccounts.id, sub.id));
      expect(row!.status).to.equal('suspended');
    } finally {
      await deps.db.update(subAccounts).set({ status: 'active', overdueSuspendedAt: null, suspendedAt: null }).where(eq(subAccounts.id, sub.id));
    }
  });

  it('"view the portal as this client" is read only and audit-logged; portal actions refuse the agency session', async () => {
    const before = (await audits('sub_account.portal_viewed')).length;
    const res = await owner.agent.get(`${url()}/portal`).expect(200);
    expect(res.text).to.contain('data-testid="read-only-banner"').and.contain(w.a.subs[0].name).and.contain(' inert ');
    expect((await audits('sub_account.portal_viewed')).length).to.equal(before + 1);
    // The agency's session can do nothing as the client: the portal's routes refuse it.
    const threshold = await owner.agent.post('/portal/credits/threshold').type('form').send({ _csrf: owner.csrf, threshold: '5' });
    expect(threshold.status).to.be.oneOf([403, 404]);
    const bought = await owner.agent.post('/portal/packages/anything/buy').type('form').send({ _csrf: owner.csrf });
    expect(bought.status).to.be.oneOf([403, 404]);
    // Nothing the preview could post reaches a handler that accepts it.
    expect(res.text.match(/<form[^>]*method="post"[^>]*action="\/portal/g) ?? []).to.have.length(0);
  });
});

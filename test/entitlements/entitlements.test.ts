/**
 * Entitlements and suspension: representatives and channels held to the plan at the exact
 * boundary, the guidance after a downgrade, suspension on the second overdue invoice (not the
 * first), reactivation on payment, a suspended agency's clients, bad input and tenant scoping.
 */
import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import { agencies, auditLog, channelIntegrations, invoices, outboxEmails, representatives, subAccounts } from '../../db/schema';
import { systemActor } from '../../src/auth/actor';
import { markInvoicePaid } from '../../src/billing/invoices.usecases';
import { runSuspensionCheck } from '../../src/suspension/suspension.usecases';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('entitlements: limits, suspension and reactivation', () => {
  let deps: TestDeps;
  let w: World;
  let b: ReturnType<typeof billingApi>;
  const client = () => w.a.subs[0].key;

  async function setup(day: string) {
    await resetData();
    deps = await makeTestDeps({ start: new Date(`${day}T09:00:00Z`) });
    w = await createWorld(deps);
    b = billingApi(createApp(deps));
  }
  afterEach(async () => deps.close());

  /** A free department per agency, enabled on its clients, so usage is answered 200 unless suspended. */
  const depts: Record<string, string> = {};
  async function freeDepartments() {
    for (const ag of [w.a, w.b]) {
      depts[ag.id] = (await b.api().post('/api/v1/departments').set(bearer(ag.key)).send({ name: 'Free', creditsPerRequest: 0 }).expect(201)).body.id;
      for (const s of ag.subs) await b.api().put(`/api/v1/sub-accounts/${s.id}/departments`).set(bearer(ag.key)).send({ departmentIds: [depts[ag.id]] }).expect(200);
    }
  }
  const useAs = (ag: World['a'], n: 0 | 1) => b.api().post('/api/v1/usage').set(bearer(ag.subs[n].key)).send({ conversationId: `c-${Math.random()}`, departmentId: depts[ag.id] });

  const addRep = (key: string, n: number) => b.api().post('/api/v1/representatives').set(bearer(key)).send({ name: `Rep ${n}`, email: `rep${n}@client.test` });
  const addChannel = (key: string, type: string, name: string) => b.api().post('/api/v1/channels').set(bearer(key)).send({ type, name });
  const repCount = async () => (await deps.db.select().from(representatives).where(eq(representatives.accountId, w.a.subs[0].id))).length;

  it('refuses the representative and the channel one past the plan, with the exact numbers, and nothing is added', async () => {
    await setup('2026-03-10');
    const team = await b.createPackage(w.a.key, { name: 'Team 2', billing: 'monthly', monthlyPriceMinor: 5000, representatives: 2, whatsappChannels: 1 });
    await b.start(client(), team.id).expect(201);
    // 1 free + 2 in the package = 3.
    for (const n of [1, 2, 3]) await addRep(client(), n).expect(201);
    const refused = await addRep(client(), 4).expect(409);
    expect(refused.body).to.include({ error: 'limit_reached', limit: 3, used: 3, item: 'representatives' });
    expect(refused.body.message).to.equal('Your plan allows 3 representatives and you have 3. Upgrade your package or buy more to add another.');
    expect(await repCount()).to.equal(3);

    await addChannel(client(), 'whatsapp', '+90 555 000 0001').expect(201);
    const ch = await addChannel(client(), 'whatsapp', '+90 555 000 0002').expect(409);
    expect(ch.body.message).to.equal('Your plan allows 1 WhatsApp channel and you have 1. Upgrade your package or buy more to add another.');
    // Instagram is not in the plan at all.
    expect((await addChannel(client(), 'instagram', 'shop').expect(409)).body).to.include({ limit: 0, used: 0 });

    const e = (await b.api().get('/api/v1/entitlements').set(bearer(client())).expect(200)).body;
    expect(e.limits).to.deep.include({ item: 'representatives', limit: 3, used: 3, over: 0 });
    expect(e.limits).to.deep.include({ item: 'whatsappChannels', limit: 1, used: 1, over: 0 });
    expect(e.overLimits).to.deep.equal([]);
  });

  it('after a cancellation the account is over its limit: the API and the invoice page say how many to delete, other pages redirect there', async () => {
    await setup('2026-03-10');
    const team = await b.createPackage(w.a.key, { name: 'Team 2', billing: 'monthly', monthlyPriceMinor: 5000, representatives: 2 });
    const sub = (await b.start(client(), team.id).expect(201)).body;
    for (const n of [1, 2, 3]) await addRep(client(), n).expect(201);
    await b.cancel(client(), sub.id).expect(200);
    // Usable until the cancellation day ends: still within limits today.
    expect((await b.api().get('/api/v1/entitlements').set(bearer(client())).expect(200)).body.overLimits).to.deep.equal([]);
    moveTo(deps, '2026-03-11');
    const e = (await b.api().get('/api/v1/entitlements').set(bearer(client())).expect(200)).body;
    expect(e.overLimits).to.have.length(1);
    expect(e.overLimits[0]).to.include({ item: 'representatives', limit: 1, used: 3, over: 2 });
    expect(e.overLimits[0].guidance).to.equal('You have 3 representatives and your plan allows 1: delete 2 representatives, or add 2 by upgrading your package.');

    const { agent, csrf } = await signIn(createApp(deps), w.a.subs[0].owner.email);
    await agent.get('/portal').expect(302).expect('Location', '/portal/billing');
    await agent.get('/portal/api-keys').expect(302).expect('Location', '/portal/billing');
    const page = await agent.get('/portal/billing').expect(200);
    expect(page.text).to.contain('delete 2 representatives, or add 2 by upgrading your package');
    // Delete two from the invoice page: within limits again, the portal opens.
    const reps = await deps.db.select().from(representatives).where(eq(representatives.accountId, w.a.subs[0].id));
    for (const r of reps.slice(0, 2)) await agent.post(`/portal/billing/representatives/${r.id}/delete`).type('form').send({ _csrf: csrf }).expect(302);
    await agent.get('/portal').expect(200);
    // The last (free) one cannot be removed.
    const last = await agent.post(`/portal/billing/representatives/${reps[2]!.id}/delete`).type('form').send({ _csrf: csrf }).expect(409);
    expect(last.text).to.contain('This is your last representative');
    expect(await repCount()).to.equal(1);
  });

  it('bad input: unknown channel type, the last representative, negative quantities, another tenant\'s ids; nothing changes', async () => {
    await setup('2026-03-10');
    const bad = await addChannel(client(), 'telegram', 'x').expect(422);
    expect(bad.body.error).to.equal('validation_failed');
    expect(bad.body.fields.type).to.equal('type must be one of whatsapp, instagram, messenger.');
    const rep = (await addRep(client(), 1).expect(201)).body;
    expect((await b.api().delete(`/api/v1/representatives/${rep.id}`).set(bearer(client())).expect(409)).body.error).to.equal('last_representative');
    const reps = await b.createPackage(w.a.key, { name: 'Extra representative', kind: 'quantity', unit: 'representative', billing: 'monthly', monthlyPriceMinor: 1000 });
    expect((await b.start(client(), reps.id, { quantity: -2 }).expect(422)).body.error).to.equal('validation_failed');
    // Another client (same agency) and another agency: not found, and not deleted.
    await b.api().delete(`/api/v1/representatives/${rep.id}`).set(bearer(w.a.subs[1].key)).expect(404);
    await b.api().delete(`/api/v1/representatives/${rep.id}`).set(bearer(w.b.subs[0].key)).expect(404);
    expect((await b.api().get('/api/v1/representatives').set(bearer(w.a.subs[1].key)).expect(200)).body.data).to.deep.equal([]);
    expect(await repCount()).to.equal(1);
    expect(await deps.db.select().from(channelIntegrations)).to.deep.equal([]);
  });

  it('suspends on the second overdue invoice and not the first, pauses usage and the portal, and reactivates on payment', async () => {
    await setup('2026-03-01');
    await deps.db.update(subAccounts).set({ billingEmail: 'client@a1.test' }).where(eq(subAccounts.id, w.a.subs[0].id));
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot', billing: 'monthly', monthlyPriceMinor: 3100 });
    await b.start(client(), pkg.id).expect(201);
    await freeDepartments();
    const usage = () => useAs(w.a, 0);

    moveTo(deps, '2026-04-01');
    await tick(deps); // March's invoice, due April 11
    moveTo(deps, '2026-04-12');
    await tick(deps); // one overdue: not suspended
    const [sub1] = await deps.db.select().from(subAccounts).where(eq(subAccounts.id, w.a.subs[0].id));
    expect(sub1!.status).to.equal('active');
    moveTo(deps, '2026-05-01');
    await tick(deps); // April's invoice, due May 11: still one overdue
    expect((await deps.db.select().from(subAccounts).where(eq(subAccounts.id, w.a.subs[0].id)))[0]!.status).to.equal('active');
    moveTo(deps, '2026-05-11');
    await tick(deps); // due today: not overdue yet
    expect((await deps.db.select().from(subAccounts).where(eq(subAccounts.id, w.a.subs[0].id)))[0]!.status).to.equal('active');
    moveTo(deps, '2026-05-12');
    await tick(deps);
    const [suspended] = await deps.db.select().from(subAccounts).where(eq(subAccounts.id, w.a.subs[0].id));
    expect(suspended!.status).to.equal('suspended');
    expect(suspended!.overdueSuspendedAt).to.not.equal(null);
    // Running the check again changes nothing: one audit entry, one email.
    await runSuspensionCheck(deps);
    await tick(deps);
    const audits = async (action: string) => (await deps.db.select().from(auditLog).where(and(eq(auditLog.action, action), eq(auditLog.subAccountId, w.a.subs[0].id)))).length;
    expect(await audits('account.suspended')).to.equal(1);
    const mails = async (like: string) => (await deps.db.select().from(outboxEmails)).filter((m) => m.subject.includes(like)).length;
    expect(await mails('suspended for unpaid invoices')).to.equal(1);

    const refused = await usage().expect(403);
    expect(refused.body.error).to.equal('account_suspended');
    // The sibling client is served.
    await useAs(w.a, 1).expect(200);

    const { agent } = await signIn(createApp(deps), w.a.subs[0].owner.email);
    await agent.get('/portal').expect(302).expect('Location', '/portal/billing');
    const page = await agent.get('/portal/billing').expect(200);
    expect(page.text).to.contain('Your account is suspended');
    expect(page.text).to.contain('TRY 62.00'); // 31.00 + 31.00
    await agent.get('/profile').expect(200);

    // Paying one of the two (the agency records a bank transfer): one overdue remains, reactivated at once.
    const open = await deps.db.select().from(invoices).where(eq(invoices.buyerId, w.a.subs[0].id));
    const agencyAdmin = { ...systemActor('test'), kind: 'api_key' as const, scope: 'agency' as const, agencyId: w.a.id, role: 'admin' as const };
    await b.api().post(`/api/v1/invoices/${open[0]!.id}/mark-paid`).set(bearer(w.a.key)).send({}).expect(200);
    expect((await deps.db.select().from(subAccounts).where(eq(subAccounts.id, w.a.subs[0].id)))[0]!.status).to.equal('active');
    expect(await audits('account.reactivated')).to.equal(1);
    expect(await mails('active again')).to.equal(1);
    await usage().expect(200);
    // Paying the same invoice again: refused, nothing changes.
    const again = await b.api().post(`/api/v1/invoices/${open[0]!.id}/mark-paid`).set(bearer(w.a.key)).send({}).expect(409);
    expect(again.body.error).to.equal('invoice_already_paid');
    await markInvoicePaid(deps, { invoiceId: open[0]!.id, paymentId: null, by: agencyAdmin }).then(() => expect.fail('paid twice'), (e: { code: string }) => expect(e.code).to.equal('invoice_already_paid'));
    // Someone else's invoice: another agency cannot mark it, a client cannot either.
    await b.api().post(`/api/v1/invoices/${open[1]!.id}/mark-paid`).set(bearer(w.b.key)).send({}).expect(404);
    await b.api().post(`/api/v1/invoices/${open[1]!.id}/mark-paid`).set(bearer(w.a.subs[1].key)).send({}).expect(404);
    expect((await deps.db.select().from(invoices).where(eq(invoices.id, open[1]!.id)))[0]!.status).to.equal('open');
    expect(await audits('account.reactivated')).to.equal(1);
  });

  it('a suspended agency\'s clients are refused at the usage API (provider_suspended) but reach their invoices; manual and overdue suspension combine', async () => {
    await setup('2026-03-01');
    const plan = await b.createPackage(w.platformKey, { name: 'Agency plan', billing: 'monthly', monthlyPriceMinor: 31000 });
    await b.start(w.a.key, plan.id).expect(201);
    await freeDepartments();
    await useAs(w.a, 0).expect(200);
    moveTo(deps, '2026-04-01');
    await tick(deps);
    moveTo(deps, '2026-05-01');
    await tick(deps);
    moveTo(deps, '2026-05-12');
    await tick(deps);
    const agency = async () => (await deps.db.select().from(agencies).where(eq(agencies.id, w.a.id)))[0]!;
    expect((await agency()).status).to.equal('suspended');
    const refused = await useAs(w.a, 0).expect(403);
    expect(refused.body.error).to.equal('provider_suspended');
    await useAs(w.b, 0).expect(200);
    // The client keeps its billing pages; its other pages go there.
    const { agent } = await signIn(createApp(deps), w.a.subs[0].owner.email);
    await agent.get('/portal').expect(302).expect('Location', '/portal/billing');
    expect((await agent.get('/portal/billing').expect(200)).text).to.contain('Your provider&#39;s account is suspended');
    await b.api().get('/api/v1/invoices').set(bearer(w.a.subs[0].key)).expect(200);

    // The platform suspends it by hand too; paying then leaves the manual flag in force.
    await b.api().patch(`/api/v1/agencies/${w.a.id}`).set(bearer(w.platformKey)).send({ suspended: true }).expect(200);
    const mine = await deps.db.select().from(invoices).where(eq(invoices.buyerId, w.a.id));
    for (const inv of mine) await b.api().post(`/api/v1/invoices/${inv.id}/mark-paid`).set(bearer(w.platformKey)).send({}).expect(200);
    expect(await agency()).to.include({ status: 'suspended', manualSuspended: true, overdueSuspendedAt: null });
    await b.api().patch(`/api/v1/agencies/${w.a.id}`).set(bearer(w.platformKey)).send({ suspended: false }).expect(200);
    expect((await agency()).status).to.equal('active');
    await useAs(w.a, 0).expect(200);
  });

  it('a suspended account: billing members go to the invoice page, members without billing see a notice', async () => {
    await setup('2026-03-10');
    const app = createApp(deps);
    await b.api().patch(`/api/v1/agencies/${w.a.id}`).set(bearer(w.platformKey)).send({ suspended: true }).expect(200);
    const owner = await signIn(app, w.a.owner.email);
    expect((await owner.agent.get('/agency/sub-accounts').expect(302)).headers.location).to.equal('/agency/billing');
    // Card management is part of paying: not sent away (here the platform has no payment system yet).
    const card = await owner.agent.post('/agency/payment-methods').type('form').send({ _csrf: owner.csrf, testCard: 'visa' }).expect(409);
    expect(card.text).to.include('no card can be saved yet');
    const member = await signIn(app, w.a.member.email);
    const notice = await member.agent.get('/agency/sub-accounts').expect(403);
    expect(notice.text).to.include('This account is suspended for unpaid invoices');
  });
});

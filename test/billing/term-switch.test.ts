/**
 * No double billing (issue 16): buying the term version of a package held monthly switches it
 * (the monthly one ends the day before the term starts) after an explicit confirmation, or is
 * refused. The next invoice proves no day is billed twice. Seller: agency A (Europe/Istanbul).
 */
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import type { Express } from 'express';
import { auditLog, billingPeriods, billingSubscriptions } from '../../db/schema';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('no double billing: a term version of a package held monthly switches it', function () {
  this.timeout(90_000);
  let deps: TestDeps;
  let w: World;
  let app: Express;
  let b: ReturnType<typeof billingApi>;
  const key = () => w.a.subs[0].key;
  let monthly: { id: string };
  let yearly: { id: string };

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-03-10T09:00:00Z') });
    w = await createWorld(deps);
    app = createApp(deps);
    b = billingApi(app);
    // The demo's pair: the same 50k sessions, monthly and for 12 months (two offers, one family).
    monthly = await b.createPackage(w.a.key, { name: 'Chatbot 50k', billing: 'monthly', monthlyPriceMinor: 3100, chatbotSessions: 50_000 });
    yearly = await b.createPackage(w.a.key, { name: 'Chatbot 50k yearly', billing: 'term', termMonths: 12, monthlyPriceMinor: 3000, chatbotSessions: 50_000 });
  });
  afterEach(async () => deps.close());

  it('API: refused without confirmSwitch (nothing changes); with it the monthly ends the day before and the next invoice bills it only through then', async () => {
    const m = (await b.start(key(), monthly.id).expect(201)).body;
    moveTo(deps, '2026-03-20');
    const refused = await b.start(key(), yearly.id).expect(409);
    expect(refused.body.error).to.equal('switch_confirmation_required');
    expect(refused.body.message).to.contain('the monthly package ends on 19 Mar 2026').and.contain('starts today, 20 Mar 2026').and.contain('No day is billed twice');
    expect(refused.body.replaces).to.deep.equal([{ subscriptionId: m.id, name: 'Chatbot 50k', quantity: 1, endsOn: '2026-03-19' }]);
    expect(await deps.db.select().from(billingSubscriptions)).to.have.length(1);
    expect((await b.invoices(key()))).to.have.length(0);

    const t = (await b.start(key(), yearly.id, { confirmSwitch: true }).expect(201)).body;
    expect(t).to.include({ billing: 'term', startDay: '2026-03-20', termLastDay: '2027-03-19', changedFromId: m.id });
    const [old] = await deps.db.select().from(billingSubscriptions).where(eq(billingSubscriptions.id, m.id));
    expect(old).to.include({ status: 'changed', changedToId: t.id });
    const periods = await deps.db.select({ fromDay: billingPeriods.fromDay, throughDay: billingPeriods.throughDay }).from(billingPeriods).where(eq(billingPeriods.subscriptionId, m.id));
    expect(periods).to.deep.equal([{ fromDay: '2026-03-10', throughDay: '2026-03-19' }]);
    expect(await deps.db.select().from(auditLog).where(eq(auditLog.action, 'subscription.switched_to_term'))).to.have.length(1);
    // A double click: the term is held, nothing bought twice.
    expect((await b.start(key(), yearly.id, { confirmSwitch: true }).expect(409)).body.error).to.equal('already_subscribed');
    // Entitlements: 50k, not 100k.
    expect((await b.api().get('/api/v1/entitlements').set({ Authorization: `Bearer ${key()}` }).expect(200)).body.chatbotSessions).to.equal(50_000);

    moveTo(deps, '2026-04-01');
    await tick(deps);
    const list = await b.invoices(key());
    // The term's invoice (3000 x 12 x 70% = 25,200) and March's: the monthly 10..19 only (10/31 of 3100 = 1000).
    expect(list.map((i) => [i.kind, i.totalMinor]).sort()).to.deep.equal([['monthly', 1000], ['term', 25_200]].sort());
    const march = await b.invoice(key(), list.find((i) => i.kind === 'monthly')!.id);
    expect(march.lines.map((l) => [l.description, l.fromDay, l.throughDay, l.activeDays, l.amountMinor])).to.deep.equal([['Chatbot 50k', '2026-03-10', '2026-03-19', 10, 1000]]);
    // And no monthly line ever again: May's cut bills nothing for the family.
    moveTo(deps, '2026-05-01');
    await tick(deps);
    expect((await b.invoices(key())).filter((i) => i.kind !== 'term').map((i) => i.totalMinor)).to.deep.equal([1000]);
  });

  it('a monthly started today is dropped unbilled; a monthly of the family cannot be started on top of the term', async () => {
    const m = (await b.start(key(), monthly.id).expect(201)).body;
    await b.start(key(), yearly.id, { confirmSwitch: true }).expect(201);
    expect(await deps.db.select().from(billingPeriods).where(eq(billingPeriods.subscriptionId, m.id))).to.have.length(0);
    const again = await b.start(key(), monthly.id).expect(409);
    expect(again.body.error).to.equal('family_term_held');
    expect(again.body.message).to.contain('prepaid through 9 Mar 2027');
    // Another family (other sessions) is not touched by the rule.
    const other = await b.createPackage(w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 1000, chatbotSessions: 20_000 });
    await b.start(key(), other.id).expect(201);
  });

  it('web: a confirm page first; "Switch" buys the term and ends the monthly, "Keep" changes nothing', async () => {
    await b.start(key(), monthly.id).expect(201);
    moveTo(deps, '2026-03-20');
    const { agent, csrf } = await signIn(app, w.a.subs[0].owner.email);
    // The term's card says it replaces the monthly one.
    expect((await agent.get('/portal/billing').expect(200)).text).to.contain('data-testid="switch-hint">Replaces your monthly Chatbot 50k from today');
    const confirm = await agent.post('/portal/billing/subscriptions').type('form').send({ _csrf: csrf, packageId: yearly.id }).expect(409);
    expect(confirm.text).to.contain('data-testid="confirm-switch"').and.contain('ends on <strong>19 Mar 2026</strong>').and.contain('TRY 252.00');
    expect(confirm.text).to.contain('name="confirmSwitch" value="on"').and.contain('Keep the monthly package');
    expect(await deps.db.select().from(billingSubscriptions)).to.have.length(1);
    await agent.post('/portal/billing/subscriptions').type('form').send({ _csrf: csrf, packageId: yearly.id, confirmSwitch: 'on' }).expect(302);
    const page = (await agent.get('/portal/billing').expect(200)).text;
    expect(page).to.contain('your monthly version ended yesterday and the term runs from today');
    const subs = await deps.db.select().from(billingSubscriptions);
    expect(subs.map((s) => s.status).sort()).to.deep.equal(['active', 'changed']);
  });
});

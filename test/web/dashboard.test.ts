// The sellers' home dashboards: an agency sees its pool and its trend, the paid purchases
// waiting for it, its recurring revenue; nothing of another agency; people without the billing
// permission keep the client list as their home. The platform sees its agencies.
import { expect } from 'chai';
import request from 'supertest';
import { bearer, signIn } from '../support/http';
import { worldAppPerTest } from '../support/world-app';

describe('home dashboards', () => {
  const t = worldAppPerTest();
  const api = () => request(t.app);


  it('the agency sees its low pool, the purchase waiting for it and its recurring revenue; never another agency\'s', async () => {
    await api().post(`/api/v1/agencies/${t.w.a.id}/adjustments`).set(bearer(t.w.platformKey)).send({ credits: 500, reason: 'start' }).expect(201);
    await api().put('/api/v1/low-balance-threshold').set(bearer(t.w.a.key)).send({ threshold: 1000 }).expect(200);
    const pack = (await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send({ kind: 'credit_pack', name: 'Credits 2k', priceMinor: 4990, currency: 'TRY', credits: 2000, published: true }).expect(201)).body.id;
    const waiting = await api().post(`/api/v1/sub-accounts/${t.w.a.subs[0].id}/purchases`).set(bearer(t.w.a.key)).send({ packageId: pack, payment: 'offline' }).expect(201);
    expect(waiting.body.status).to.equal('paid');
    const monthly = (await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send({ kind: 'package', name: 'Chatbot 20k', priceMinor: 150_000, currency: 'TRY', billing: 'monthly', chatbotSessions: 20_000, published: true }).expect(201)).body.id;
    await api().post('/api/v1/subscriptions').set(bearer(t.w.a.subs[1].key)).send({ packageId: monthly }).expect(201);

    const owner = await signIn(t.app, t.w.a.owner.email);
    const home = await owner.agent.get('/agency').expect(200);
    const text = home.text;
    expect(text).to.contain('500 credits').and.contain('Below your alert of 1,000');
    expect(text).to.contain('Paid purchases waiting for credits').and.contain(t.w.a.subs[0].name).and.contain('Credits 2k').and.contain('2,000');
    expect(text).to.contain('TRY 1,500.00'); // MRR: the running monthly subscription
    expect(text).to.not.contain('Nothing is waiting on you');
    // The aggregates say when they were computed (in the agency's zone, never a bare UTC timestamp).
    expect(/data-testid="figures-as-of">Collected, recurring revenue and the counts as of ([^<]+) \(refreshed every minute\)</.exec(text)?.[1]).to.match(/\d{2}:\d{2}/);
    const trend = JSON.parse(/<script type="application\/json" id="pool-chart-data">([^<]*)<\/script>/.exec(text)![1]!) as { points: { day: string; balance: number }[] };
    expect(trend.points).to.have.length(30);
    expect(trend.points.at(-1)!.balance).to.equal(500);
    expect(trend.points[0]!.balance).to.equal(0);

    const other = await signIn(t.app, t.w.b.owner.email);
    const theirs = (await other.agent.get('/agency').expect(200)).text;
    expect(theirs).to.contain('Nothing is waiting on you').and.not.contain(t.w.a.subs[0].name).and.not.contain('Credits 2k');

    const member = await signIn(t.app, t.w.a.member.email);
    await member.agent.get('/agency').expect(302).expect('Location', '/agency/sub-accounts');
  });

  it('the platform sees its agencies and the money of the month', async () => {
    const admin = await signIn(t.app, t.w.platformAdmin.email);
    const home = (await admin.agent.get('/platform').expect(200)).text;
    expect(home).to.contain('Monthly recurring revenue').and.contain('Agencies').and.contain('Nothing is waiting on you');
    expect(home).to.not.contain('pool-chart-data');
  });

  it('the client\'s home shows what it holds, the month\'s invoice estimate and what needs its action', async () => {
    const monthly = (await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send({ kind: 'package', name: 'Chatbot 20k', priceMinor: 150_000, currency: 'TRY', billing: 'monthly', chatbotSessions: 20_000, published: true }).expect(201)).body.id;
    await api().post('/api/v1/subscriptions').set(bearer(t.w.a.subs[0].key)).send({ packageId: monthly }).expect(201);
    const pack = (await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send({ kind: 'credit_pack', name: 'Credits 2k', priceMinor: 4990, currency: 'TRY', credits: 2000, published: true }).expect(201)).body.id;
    await api().post(`/api/v1/sub-accounts/${t.w.a.subs[0].id}/purchases`).set(bearer(t.w.a.key)).send({ packageId: pack, payment: 'offline' }).expect(201);
    await api().put('/api/v1/low-balance-threshold').set(bearer(t.w.a.subs[0].key)).send({ threshold: 100 }).expect(200);
    const client = await signIn(t.app, t.w.a.subs[0].owner.email);
    const home = (await client.agent.get('/portal').expect(200)).text;
    expect(home).to.contain('Chatbot 20k').and.contain('TRY 1,500.00 a month');
    expect(home).to.match(/data-testid="invoice-estimate">TRY [\d,]+\.\d\d</);
    expect(home).to.contain('Credits 2k is paid; its credits arrive as soon as').and.contain('Buy credits');
    const empty = await signIn(t.app, t.w.a.subs[1].owner.email);
    const quiet = (await empty.agent.get('/portal').expect(200)).text;
    expect(quiet).to.contain('Nothing needs your action.').and.contain('No package yet');
  });
});

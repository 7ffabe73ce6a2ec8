import { expect } from 'chai';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { creditLedger, departments } from '../../db/schema';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { createWorld, type World } from '../support/world';

describe('credit and department screens', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  const count = async (t: typeof creditLedger | typeof departments) => (await deps.db.select({ n: sql<number>`count(*)::int` }).from(t))[0]!.n;

  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
  });
  after(async () => {
    await assertLedgerInvariant(deps.db);
    await deps.close();
  });

  it('departments: created from the form; bad credits per request keep the form and write nothing', async () => {
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    for (const bad of ['-1', '1.5', 'ten', '']) {
      const res = await agent.post('/agency/departments').type('form').send({ _csrf: csrf, name: 'Sales', creditsPerRequest: bad }).expect(422);
      expect(res.text).to.contain('Enter a whole number of credits (0 or more).').and.contain('value="Sales"');
    }
    expect(await count(departments)).to.equal(0);
    await agent.post('/agency/departments').type('form').send({ _csrf: csrf, name: 'Sales', creditsPerRequest: '5' }).expect(302);
    const page = await agent.get('/agency/departments').expect(200);
    expect(page.text).to.contain('value="Sales"').and.contain('value="5"');
  });

  it('adjustments from the sub-account page: refused while the pool is short, applied once it is filled', async () => {
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    const url = `/agency/sub-accounts/${w.a.subs[0].id}/credits/adjustments`;
    const before = await count(creditLedger);
    let res = await agent.post(url).type('form').send({ _csrf: csrf, credits: '100', reason: 'gift' }).expect(402);
    expect(res.text).to.contain("The agency&#39;s pool has 0 credits; 100 are needed.").and.contain('value="gift"');
    res = await agent.post(url).type('form').send({ _csrf: csrf, credits: '12.5', reason: 'gift' }).expect(422);
    expect(res.text).to.contain('Enter a whole number of credits');
    expect(await count(creditLedger)).to.equal(before);
    await request(app).post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 1000, reason: 'seed' }).expect(201);
    // A double submit of the same rendered form (same one-time key) applies once.
    await agent.post(url).type('form').send({ _csrf: csrf, credits: '+100', reason: 'gift', idempotencyKey: 'form-1' }).expect(302);
    await agent.post(url).type('form').send({ _csrf: csrf, credits: '+100', reason: 'gift', idempotencyKey: 'form-1' }).expect(302);
    await agent.post(url).type('form').send({ _csrf: csrf, credits: '-30', reason: 'correction' }).expect(302);
    const page = await agent.get(`/agency/sub-accounts/${w.a.subs[0].id}`).expect(200);
    expect(page.text).to.match(/data-testid="balance">70 credits/);
    const pool = await agent.get('/agency/credits').expect(200);
    expect(pool.text).to.match(/data-testid="balance">930 credits/);
    const list = await agent.get('/agency/sub-accounts').expect(200);
    expect(list.text).to.match(/data-testid="pool-balance">930 credits/);
    expect(list.text).to.match(new RegExp(`${w.a.subs[0].name}</a></td><td><span class="badge badge-active">active</span></td><td class="num">70</td>`));
  });

  it('history filters by reason and date, and exports the same rows as CSV', async () => {
    const { agent } = await signIn(app, w.a.owner.email);
    const base = `/agency/sub-accounts/${w.a.subs[0].id}/credits`;
    const all = await agent.get(base).expect(200);
    expect(all.text).to.contain('gift').and.contain('correction');
    const csv = await agent.get(`${base}.csv`).expect(200).expect('content-type', /text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).to.equal('time,reason,delta,balance_after,reference,note');
    expect(lines).to.have.length(3);
    expect(lines[1]).to.contain('"-30"').and.contain('"correction"');
    const day = deps.clock.now().toISOString().slice(0, 10);
    const filtered = await agent.get(`${base}.csv?reason=adjustment&from=${day}&to=${day}`).expect(200);
    expect(filtered.text.trim().split('\r\n')).to.have.length(3);
    const none = await agent.get(`${base}.csv?from=2020-01-01&to=2020-01-31`).expect(200);
    expect(none.text.trim().split('\r\n')).to.have.length(1);
    const bad = await agent.get(`${base}?reason=bogus`).expect(422);
    expect(bad.text).to.contain('reason must be one of');
  });

  it('enables departments with the checkboxes; the portal shows the balance and its own history only', async () => {
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    const [dep] = await deps.db.select().from(departments);
    await agent.post(`/agency/sub-accounts/${w.a.subs[0].id}/departments`).type('form').send({ _csrf: csrf, departmentIds: dep!.id }).expect(302);
    await request(app).post('/api/v1/usage').set(bearer(w.a.subs[0].key)).send({ conversationId: 'portal-1', departmentId: dep!.id }).expect(200);
    const client = await signIn(app, w.a.subs[0].owner.email);
    const home = await client.agent.get('/portal').expect(200);
    expect(home.text).to.match(/data-testid="balance">65 credits/);
    const history = await client.agent.get('/portal/credits').expect(200);
    expect(history.text).to.contain('portal-1').and.contain('consume');
    expect(history.text).not.to.contain('Adjust credits');
    const csv = await client.agent.get('/portal/credits.csv').expect(200);
    expect(csv.text).to.contain('"portal-1"');
  });

  it('a CSV cell that looks like a formula is neutralised', async () => {
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    await agent.post(`/agency/sub-accounts/${w.a.subs[0].id}/credits/adjustments`).type('form').send({ _csrf: csrf, credits: '1', reason: '=HYPERLINK("http://evil")' }).expect(302);
    const csv = await agent.get(`/agency/sub-accounts/${w.a.subs[0].id}/credits.csv`).expect(200);
    expect(csv.text).to.contain(`"'=HYPERLINK(""http://evil"")"`);
  });
});

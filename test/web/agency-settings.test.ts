import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { agencies } from '../../db/schema';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('agency settings: purchase email addresses, language, time zone', () => {
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
  const agencyRow = async () => (await deps.db.select().from(agencies).where(eq(agencies.id, w.a.id)))[0]!;

  it('saves the general address, CC addresses (one per line), language, time zone and the department rule', async () => {
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    await agent.post('/agency/settings').type('form').send({
      _csrf: csrf, billingEmail: 'Billing@A.test', ccEmails: 'one@a.test\ntwo@a.test, one@a.test', locale: 'tr', timeZone: 'America/New_York', restrictDepartmentsToPackages: 'on',
    }).expect(302);
    expect(await agencyRow()).to.deep.include({ billingEmail: 'billing@a.test', ccEmails: ['one@a.test', 'two@a.test'], locale: 'tr', timeZone: 'America/New_York', restrictDepartmentsToPackages: true });
    // Unticking the checkbox turns the rule off.
    await agent.post('/agency/settings').type('form').send({ _csrf: csrf, billingEmail: 'billing@a.test', ccEmails: '', locale: 'en', timeZone: 'Europe/Istanbul' }).expect(302);
    expect(await agencyRow()).to.deep.include({ ccEmails: [], restrictDepartmentsToPackages: false, locale: 'en' });
  });

  it('refuses a bad CC address, an unknown time zone or language, keeping the form and changing nothing', async () => {
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    const before = await agencyRow();
    let res = await agent.post('/agency/settings').type('form').send({ _csrf: csrf, billingEmail: 'b@a.test', ccEmails: 'fine@a.test\nnot-an-email', locale: 'en', timeZone: 'Europe/Istanbul' }).expect(422);
    expect(res.text).to.contain('Every CC address must be a valid email address.').and.contain('not-an-email');
    res = await agent.post('/agency/settings').type('form').send({ _csrf: csrf, billingEmail: 'b@a.test', ccEmails: '', locale: 'en', timeZone: 'Mars/Olympus' }).expect(422);
    expect(res.text).to.contain('Unknown time zone');
    res = await request(app).patch('/api/v1/agency').set(bearer(w.a.key)).send({ locale: 'de' }).expect(422);
    expect(res.body.fields.locale).to.equal('Language must be en or tr.');
    expect(await agencyRow()).to.deep.equal(before);
  });

  it('the API reads and patches the agency\'s own settings only', async () => {
    const res = await request(app).patch('/api/v1/agency').set(bearer(w.a.key)).send({ ccEmails: ['x@a.test'] }).expect(200);
    expect(res.body).to.include({ id: w.a.id }).and.deep.include({ ccEmails: ['x@a.test'] });
    expect((await request(app).get('/api/v1/agency').set(bearer(w.b.key)).expect(200)).body.id).to.equal(w.b.id);
    await request(app).patch('/api/v1/agency').set(bearer(w.a.subs[0].key)).send({ locale: 'tr' }).expect(403);
    const member = await signIn(app, w.a.member.email);
    await member.agent.post('/agency/settings').type('form').send({ _csrf: member.csrf, locale: 'tr', timeZone: 'Europe/Istanbul' }).expect(403);
  });
});

// The sellers' catalog screens over the one catalog: the agency's Packages page lists every offer
// it sells (resold packages and billed items), shows what its clients see, and publishes,
// unpublishes and retires; the platform's Catalog page lists its plans and billed items too.
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { offers } from '../../db/schema';
import { bearer, signIn } from '../support/http';
import { worldAppPerTest } from '../support/world-app';

describe('catalog screens of the one catalog', () => {
  const t = worldAppPerTest();
  const offer = async (key: string, input: Record<string, unknown>) => (await request(t.app).post('/api/v1/offers').set(bearer(key)).send(input).expect(201)).body.id as string;
  const stateOf = async (id: string) => (await t.deps.db.select({ published: offers.published, archivedAt: offers.archivedAt }).from(offers).where(eq(offers.id, id)))[0]!;


  it('the agency sees every offer it sells on one page, and exactly what its clients see', async () => {
    await offer(t.w.a.key, { kind: 'credit_pack', name: 'Credits 500', priceMinor: 1490, currency: 'TRY', credits: 500, published: true });
    await offer(t.w.a.key, { kind: 'package', name: 'Chatbot 20k', priceMinor: 150_000, currency: 'TRY', billing: 'monthly', chatbotSessions: 20_000, published: true });
    await offer(t.w.a.key, { kind: 'addon', name: 'Ticket desk draft', priceMinor: 25_000, currency: 'TRY', billing: 'monthly', modules: ['ticket_system'] });
    const owner = await signIn(t.app, t.w.a.owner.email);
    const all = await owner.agent.get('/agency/packages').expect(200);
    expect(all.text).to.contain('Credits 500').and.contain('Chatbot 20k').and.contain('20,000 chatbot sessions / month').and.contain('Ticket desk draft').and.contain('Ticket system');
    expect(all.text).to.contain('TRY 1,500.00 / month');
    const seen = await owner.agent.get('/agency/packages?view=buyers').expect(200);
    expect(seen.text).to.contain('Credits 500').and.contain('Chatbot 20k').and.not.contain('Ticket desk draft');
    expect(seen.text).to.contain('What your clients see');
    // The same names the client's own screens list.
    const client = await signIn(t.app, t.w.a.subs[0].owner.email);
    expect((await client.agent.get('/portal/packages').expect(200)).text).to.contain('Credits 500');
    expect((await client.agent.get('/portal/billing').expect(200)).text).to.contain('Chatbot 20k').and.not.contain('Ticket desk draft');
  });

  it('publish, unpublish and retire from the page; members without billing and other agencies cannot', async () => {
    const id = await offer(t.w.a.key, { kind: 'package', name: 'Chatbot 50k', priceMinor: 300_000, currency: 'TRY', billing: 'monthly', chatbotSessions: 50_000 });
    const owner = await signIn(t.app, t.w.a.owner.email);
    await owner.agent.post(`/agency/offers/${id}/publish`).type('form').send({ _csrf: owner.csrf }).expect(302);
    expect(await stateOf(id)).to.include({ published: true });
    expect((await owner.agent.get('/agency/packages').expect(200)).text).to.contain('Chatbot 50k is published');
    await owner.agent.post(`/agency/offers/${id}/unpublish`).type('form').send({ _csrf: owner.csrf }).expect(302);
    expect(await stateOf(id)).to.include({ published: false });

    const member = await signIn(t.app, t.w.a.member.email);
    await member.agent.post(`/agency/offers/${id}/publish`).type('form').send({ _csrf: member.csrf }).expect(403);
    const other = await signIn(t.app, t.w.b.owner.email);
    await other.agent.post(`/agency/offers/${id}/retire`).type('form').send({ _csrf: other.csrf }).expect(403); // no reselling module
    expect(await stateOf(id)).to.include({ published: false, archivedAt: null });

    await owner.agent.post(`/agency/offers/${id}/retire`).type('form').send({ _csrf: owner.csrf }).expect(302);
    expect((await stateOf(id)).archivedAt).to.be.instanceOf(Date);
    const after = await owner.agent.get('/agency/packages').expect(200);
    expect(after.text).to.contain('Retired').and.not.contain('>Chatbot 50k<');
    await owner.agent.post(`/agency/offers/${id}/publish`).type('form').send({ _csrf: owner.csrf }).expect(404);
  });

  it('the platform\'s catalog page lists its plans and billed items, with what agencies see', async () => {
    await offer(t.w.platformKey, { kind: 'plan', code: 'gold', name: 'Gold', priceMinor: 99_900, currency: 'TRY', modules: ['reselling'] });
    await offer(t.w.platformKey, { kind: 'plan', code: 'hidden', name: 'Hidden plan', priceMinor: 1_000, currency: 'TRY', published: false });
    const desk = await offer(t.w.platformKey, { kind: 'package', name: 'Support desk 3', priceMinor: 99_900, currency: 'USD', billing: 'monthly', representatives: 3 });
    const admin = await signIn(t.app, t.w.platformAdmin.email);
    const page = await admin.agent.get('/platform/catalog').expect(200);
    expect(page.text).to.contain('Gold').and.contain('Hidden plan').and.contain('not offered').and.contain('Support desk 3').and.contain('3 representatives');
    await admin.agent.post(`/platform/offers/${desk}/unpublish`).type('form').send({ _csrf: admin.csrf }).expect(302);
    const seen = await admin.agent.get('/platform/catalog?view=buyers').expect(200);
    expect(seen.text).to.contain('Gold').and.not.contain('Hidden plan').and.not.contain('>Support desk 3<');
    const agencyView = (await request(t.app).get('/api/v1/offers?seller=platform').set(bearer(t.w.a.key)).expect(200)).body.data.map((o: { version: { name: string } }) => o.version.name);
    expect(agencyView).to.deep.equal(['Gold']);
  });

  it('publishing a package the pool cannot cover says so and points to buying credits or auto-billing', async () => {
    const id = await offer(t.w.a.key, { kind: 'credit_pack', name: 'Credits 9k', priceMinor: 9000, currency: 'TRY', credits: 9000 });
    const owner = await signIn(t.app, t.w.a.owner.email);
    await owner.agent.post(`/agency/offers/${id}/publish`).type('form').send({ _csrf: owner.csrf }).expect(302);
    const page = (await owner.agent.get('/agency/packages').expect(200)).text;
    expect(page).to.contain('Credits 9k is published').and.contain('needs 9,000 credits per sale and your pool has 0').and.contain('Buy credits or turn on auto-billing');
  });

  it('sellers create billed items from the page; bad input keeps the form and writes nothing', async () => {
    const owner = await signIn(t.app, t.w.a.owner.email);
    const count = async () => (await t.deps.db.select({ id: offers.id }).from(offers)).length;
    const bad = await owner.agent.post('/agency/packages/billed').type('form')
      .send({ _csrf: owner.csrf, kind: 'package', name: 'Chatbot 5k', billing: 'monthly', price: '12,5.0', currency: 'TRY', chatbotSessions: 'many' }).expect(422);
    expect(bad.text).to.contain('value="Chatbot 5k"').and.contain('Enter a whole number (0 or more).');
    const term = await owner.agent.post('/agency/packages/billed').type('form')
      .send({ _csrf: owner.csrf, kind: 'package', name: 'Chatbot 5k yearly', billing: 'term', termMonths: '', price: '500', currency: 'TRY', chatbotSessions: '5000' }).expect(422);
    expect(term.text).to.contain('A term package needs termMonths');
    const addon = await owner.agent.post('/agency/packages/billed').type('form').send({ _csrf: owner.csrf, kind: 'addon', name: 'Nothing inside', billing: 'monthly', price: '10', currency: 'TRY' }).expect(422);
    expect(addon.text).to.contain('An add-on needs at least one module.');
    expect(await count()).to.equal(0);
    await owner.agent.post('/agency/packages/billed').type('form')
      .send({ _csrf: owner.csrf, kind: 'package', name: 'Chatbot 5k', billing: 'term', termMonths: '6', price: '1,250.50', currency: 'TRY', chatbotSessions: '5000', published: 'on' }).expect(302);
    expect((await owner.agent.get('/agency/packages').expect(200)).text).to.contain('Chatbot 5k created and published');
    await owner.agent.post('/agency/packages/billed').type('form')
      .send({ _csrf: owner.csrf, kind: 'addon', name: 'Tickets and mail', billing: 'monthly', price: '99', currency: 'TRY', modules: ['ticket_system', 'mail_integration'] }).expect(302);
    const page = (await owner.agent.get('/agency/packages').expect(200)).text;
    expect(page).to.contain('Tickets and mail created as a draft').and.contain('6-month term').and.contain('TRY 1,250.50 / month');
    const rows = await t.deps.db.select().from(offers);
    expect(rows.map((r) => [r.kind, r.published]).sort()).to.deep.equal([['addon', false], ['package', true]]);
    const client = await signIn(t.app, t.w.a.subs[0].owner.email);
    expect((await client.agent.get('/portal/billing').expect(200)).text).to.contain('Chatbot 5k').and.not.contain('Tickets and mail');
    const admin = await signIn(t.app, t.w.platformAdmin.email);
    await admin.agent.post('/platform/catalog/billed').type('form').send({ _csrf: admin.csrf, kind: 'quantity', name: 'Extra seat', billing: 'monthly', price: '30', currency: 'USD', unit: 'representative', published: 'on' }).expect(302);
    expect((await admin.agent.get('/platform/catalog').expect(200)).text).to.contain('Extra seat').and.contain('1 representative per unit');
  });
});

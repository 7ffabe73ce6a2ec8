// The one catalog through its API: every kind of offer is created, edited into a new version,
// published and retired the same way by both sellers; what a seller previews as its buyers'
// view is exactly what its buyers list; and nothing crosses tenants.
import { expect } from 'chai';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { agencies, offers, offerVersions } from '../../db/schema';
import { insertOffer } from '../../src/catalog/offers';
import { bearer } from '../support/http';
import { worldAppPerTest } from '../support/world-app';

describe('the one catalog API', () => {
  const t = worldAppPerTest();
  const api = () => request(t.app);
  const count = async (table: typeof offers | typeof offerVersions) => (await t.deps.db.select({ n: sql<number>`count(*)::int` }).from(table))[0]!.n;
  const names = (res: request.Response) => (res.body.data as { version: { name: string } }[]).map((o) => o.version.name).sort();


  it('each seller creates every kind it sells through one endpoint; the other kinds are refused', async () => {
    const agencyOffers = [
      { kind: 'credit_pack', name: 'Credits 500', priceMinor: 1490, currency: 'TRY', credits: 500 },
      { kind: 'prepaid_subscription', name: 'Monthly 1k', priceMinor: 5000, currency: 'TRY', credits: 1000, termMonths: 6 },
      { kind: 'package', name: 'Chatbot 20k', priceMinor: 150_000, currency: 'TRY', billing: 'monthly', chatbotSessions: 20_000 },
      { kind: 'package', name: 'Chatbot yearly', priceMinor: 300_000, currency: 'TRY', billing: 'term', termMonths: 12, chatbotSessions: 50_000 },
      { kind: 'addon', name: 'Tickets', priceMinor: 25_000, currency: 'TRY', billing: 'monthly', modules: ['ticket_system'] },
      { kind: 'quantity', name: 'Seat', priceMinor: 30_000, currency: 'TRY', billing: 'monthly', unit: 'representative' },
      { kind: 'extra_sessions', name: 'Sessions 1k', priceMinor: 9_900, currency: 'TRY', chatbotSessions: 1000 },
    ];
    for (const o of agencyOffers) {
      const res = await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send(o).expect(201);
      expect(res.body).to.include({ kind: o.kind, seller: 'agency', published: false });
      expect(res.body.version).to.include({ number: 1, name: o.name, priceMinor: o.priceMinor });
    }
    const platformOffers = [
      { kind: 'plan', code: 'gold', name: 'Gold', priceMinor: 99_900, currency: 'TRY', credits: 10_000, chatbots: 3, modules: ['reselling'] },
      { kind: 'topup', priceMinor: 1000, currency: 'USD', credits: 2000 },
      { kind: 'chatbot_slot', priceMinor: 2500, currency: 'USD' },
      { kind: 'package', name: 'Support desk', priceMinor: 99_900, currency: 'USD', billing: 'monthly', representatives: 3 },
    ];
    for (const o of platformOffers) {
      const res = await api().post('/api/v1/offers').set(bearer(t.w.platformKey)).send(o).expect(201);
      expect(res.body).to.include({ kind: o.kind, seller: 'platform' });
    }
    expect((await api().get('/api/v1/offers?kind=topup').set(bearer(t.w.platformKey)).expect(200)).body.data[0].version.name).to.equal('2,000 credits');
    // Kinds the seller does not sell, and an agency without the reselling module.
    expect((await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send(platformOffers[0]).expect(422)).body.fields).to.have.property('kind');
    expect((await api().post('/api/v1/offers').set(bearer(t.w.platformKey)).send(agencyOffers[0]).expect(422)).body.fields).to.have.property('kind');
    expect((await api().post('/api/v1/offers').set(bearer(t.w.b.key)).send(agencyOffers[0]).expect(403)).body.error).to.equal('module_required');
    expect((await api().post('/api/v1/offers').set(bearer(t.w.a.subs[0].key)).send(agencyOffers[0]).expect(403)).body.error).to.be.a('string');
    expect(await count(offers)).to.equal(agencyOffers.length + platformOffers.length);
  });

  it('bad input is a field error and writes nothing', async () => {
    const bad = [
      {},
      { kind: 'nope', name: 'x', priceMinor: 1, currency: 'TRY' },
      { kind: 'credit_pack', name: ' ', priceMinor: 1, currency: 'TRY', credits: 1 },
      { kind: 'credit_pack', name: 'x', priceMinor: 0, currency: 'TRY', credits: 1 },
      { kind: 'credit_pack', name: 'x', priceMinor: 1.5, currency: 'TRY', credits: 1 },
      { kind: 'credit_pack', name: 'x', priceMinor: 1, currency: 'XYZ', credits: 1 },
      { kind: 'prepaid_subscription', name: 'x', priceMinor: 1, currency: 'TRY', credits: 1 },
      { kind: 'package', name: 'x', priceMinor: 1, currency: 'TRY', billing: 'term' },
      { kind: 'package', name: 'x', priceMinor: 1, currency: 'TRY', billing: 'monthly', termMonths: 12 },
      { kind: 'addon', name: 'x', priceMinor: 1, currency: 'TRY', billing: 'monthly' },
      { kind: 'quantity', name: 'x', priceMinor: 1, currency: 'TRY', billing: 'monthly' },
      { kind: 'extra_sessions', name: 'x', priceMinor: 1, currency: 'TRY' },
      { kind: 'credit_pack', name: 'x', priceMinor: 1, currency: 'TRY', credits: 1, departmentIds: ['dep_not_ours'] },
    ];
    for (const input of bad) {
      const res = await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send(input).expect(422);
      expect(res.body.error, JSON.stringify(input)).to.equal('validation_failed');
      expect(Object.keys(res.body.fields ?? {}).length, JSON.stringify(input)).to.be.greaterThan(0);
    }
    expect(await count(offers)).to.equal(0);
    expect(await count(offerVersions)).to.equal(0);
  });

  it('an edit of the terms is a new version, publishing alone is not; the history keeps every version', async () => {
    const created = (await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send({ kind: 'credit_pack', name: 'Credits 500', priceMinor: 1490, currency: 'TRY', credits: 500 }).expect(201)).body;
    const published = (await api().patch(`/api/v1/offers/${created.id}`).set(bearer(t.w.a.key)).send({ published: true }).expect(200)).body;
    expect(published).to.include({ published: true });
    expect(published.version.number).to.equal(1);
    const repriced = (await api().patch(`/api/v1/offers/${created.id}`).set(bearer(t.w.a.key)).send({ priceMinor: 1990 }).expect(200)).body;
    expect(repriced.version).to.include({ number: 2, priceMinor: 1990, credits: 500, name: 'Credits 500' });
    expect(repriced.published).to.equal(true);
    // The same terms again: no new version.
    expect((await api().patch(`/api/v1/offers/${created.id}`).set(bearer(t.w.a.key)).send({ priceMinor: 1990 }).expect(200)).body.version.number).to.equal(2);
    const history = (await api().get(`/api/v1/offers/${created.id}/versions`).set(bearer(t.w.a.key)).expect(200)).body.data as { number: number; priceMinor: number }[];
    expect(history.map((v) => [v.number, v.priceMinor])).to.deep.equal([[2, 1990], [1, 1490]]);
    // An edit breaking a rule changes nothing; the kind stays.
    await api().patch(`/api/v1/offers/${created.id}`).set(bearer(t.w.a.key)).send({ priceMinor: -1 }).expect(422);
    await api().patch(`/api/v1/offers/${created.id}`).set(bearer(t.w.a.key)).send({ kind: 'addon' }).expect(422);
    await api().patch(`/api/v1/offers/${created.id}`).set(bearer(t.w.a.key)).send({ surprise: 1 }).expect(422);
    expect(await count(offerVersions)).to.equal(2);
    // Buyers never see the history.
    await api().get(`/api/v1/offers/${created.id}/versions`).set(bearer(t.w.a.subs[0].key)).expect(404);
  });

  it('what a seller previews as its buyers\' view is exactly what its buyers list; retiring takes an offer out of both', async () => {
    const make = async (name: string, published: boolean) =>
      (await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send({ kind: 'credit_pack', name, priceMinor: 1000, currency: 'TRY', credits: 100, published }).expect(201)).body.id as string;
    const shown = await make('Shown', true);
    await make('Draft', false);
    const gone = await make('Retired soon', true);
    await api().post(`/api/v1/offers/${gone}/retire`).set(bearer(t.w.a.key)).expect(204);
    expect(names(await api().get('/api/v1/offers').set(bearer(t.w.a.key)).expect(200))).to.deep.equal(['Draft', 'Shown']);
    const preview = names(await api().get('/api/v1/offers?view=buyers').set(bearer(t.w.a.key)).expect(200));
    const buyer = names(await api().get('/api/v1/offers').set(bearer(t.w.a.subs[0].key)).expect(200));
    expect(preview).to.deep.equal(['Shown']);
    expect(buyer).to.deep.equal(preview);
    await api().get(`/api/v1/offers/${gone}`).set(bearer(t.w.a.key)).expect(404);
    await api().get(`/api/v1/offers/${shown}`).set(bearer(t.w.a.subs[0].key)).expect(200);
    // An agency buys from the platform: the platform's published offers.
    await api().post('/api/v1/offers').set(bearer(t.w.platformKey)).send({ kind: 'topup', priceMinor: 1000, currency: 'USD', credits: 2000 }).expect(201);
    expect((await api().get('/api/v1/offers?seller=platform').set(bearer(t.w.a.key)).expect(200)).body.data.map((o: { kind: string }) => o.kind)).to.deep.equal(['topup']);
    await api().get('/api/v1/offers?view=everything').set(bearer(t.w.a.key)).expect(422);
  });

  it('nothing crosses tenants: another agency and its clients cannot read, edit or retire an offer', async () => {
    const id = (await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send({ kind: 'credit_pack', name: 'A only', priceMinor: 1000, currency: 'TRY', credits: 100, published: true }).expect(201)).body.id;
    await t.deps.db.update(agencies).set({ resellingModule: true }).where(eq(agencies.id, t.w.b.id));
    await api().get(`/api/v1/offers/${id}`).set(bearer(t.w.b.key)).expect(404);
    await api().get(`/api/v1/offers/${id}`).set(bearer(t.w.b.subs[0].key)).expect(404);
    await api().patch(`/api/v1/offers/${id}`).set(bearer(t.w.b.key)).send({ priceMinor: 1 }).expect(404);
    await api().post(`/api/v1/offers/${id}/retire`).set(bearer(t.w.b.key)).expect(404);
    await api().patch(`/api/v1/offers/${id}`).set(bearer(t.w.a.subs[0].key)).send({ priceMinor: 1 }).expect(403);
    expect(names(await api().get('/api/v1/offers').set(bearer(t.w.b.subs[0].key)).expect(200))).to.deep.equal([]);
    const [v] = await t.deps.db.select().from(offerVersions);
    expect(v!.priceMinor).to.equal(1000);
  });

  it('an agency resells because its plan includes the reselling module; a plan without it sells nothing', async () => {
    const now = t.deps.clock.now();
    await insertOffer(t.deps.db, { sellerAgencyId: null, kind: 'plan', code: 'pro', terms: { name: 'Pro', priceMinor: 1000, currency: 'TRY', modules: ['reselling'] } }, now);
    await insertOffer(t.deps.db, { sellerAgencyId: null, kind: 'plan', code: 'basic', terms: { name: 'Basic', priceMinor: 500, currency: 'TRY' } }, now);
    const pack = { kind: 'credit_pack', name: 'Credits', priceMinor: 1000, currency: 'TRY', credits: 100 };
    await api().post('/api/v1/offers').set(bearer(t.w.b.key)).send(pack).expect(403);
    // A plan set behind the billing engine's back (no subscription) gives nothing.
    await t.deps.db.update(agencies).set({ planCode: 'pro' }).where(eq(agencies.id, t.w.b.id));
    await api().post('/api/v1/offers').set(bearer(t.w.b.key)).send(pack).expect(403);
    await t.deps.db.update(agencies).set({ planCode: null }).where(eq(agencies.id, t.w.b.id));
    await api().patch(`/api/v1/agencies/${t.w.b.id}`).set(bearer(t.w.platformKey)).send({ planCode: 'pro' }).expect(200);
    await api().post('/api/v1/offers').set(bearer(t.w.b.key)).send(pack).expect(201);
    // Changed to basic today: the dearer plan is in effect until the day ends, basic from tomorrow.
    await api().patch(`/api/v1/agencies/${t.w.b.id}`).set(bearer(t.w.platformKey)).send({ planCode: 'basic' }).expect(200);
    t.deps.testClock.set(new Date(t.deps.clock.now().getTime() + 86_400_000));
    await api().post('/api/v1/offers').set(bearer(t.w.b.key)).send(pack).expect(403);
    expect((await api().get('/api/v1/offers').set(bearer(t.w.b.subs[0].key)).expect(200)).body.data).to.deep.equal([]);
  });

  it('publishing a resold offer the pool does not cover is allowed with a warning; a covered one has none', async () => {
    const big = (await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send({ kind: 'credit_pack', name: 'Big pack', priceMinor: 1000, currency: 'TRY', credits: 5000 }).expect(201)).body;
    expect(big.warnings, 'a draft warns nobody').to.deep.equal([]);
    const published = (await api().patch(`/api/v1/offers/${big.id}`).set(bearer(t.w.a.key)).send({ published: true }).expect(200)).body;
    expect(published.published).to.equal(true);
    expect(published.warnings).to.have.length(1);
    expect(published.warnings[0]).to.include({ code: 'pool_does_not_cover', poolCredits: 0, creditsPerSale: 5000 });
    expect(published.warnings[0].message).to.contain('Buy credits or turn on auto-billing');
    await api().post(`/api/v1/agencies/${t.w.a.id}/adjustments`).set(bearer(t.w.platformKey)).send({ credits: 5000, reason: 'stock' }).expect(201);
    expect((await api().patch(`/api/v1/offers/${big.id}`).set(bearer(t.w.a.key)).send({ name: 'Big pack 5k' }).expect(200)).body.warnings).to.deep.equal([]);
  });
});

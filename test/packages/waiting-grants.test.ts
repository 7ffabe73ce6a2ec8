// A paid purchase waiting for its agency's pool is applied as soon as the pool is credited, not
// at the next tick: oldest payment first, each once, however many credits arrive at once.
import { expect } from 'chai';
import { eq, inArray } from 'drizzle-orm';
import request from 'supertest';
import { purchases } from '../../db/schema';
import { bearer } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { worldAppPerTest } from '../support/world-app';

describe('paid purchases waiting for the pool', () => {
  const t = worldAppPerTest();
  const api = () => request(t.app);
  afterEach(() => assertLedgerInvariant(t.deps.db));

  it('are applied the moment a platform adjustment fills the pool, oldest first, once', async () => {
    const pack = (await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send({ kind: 'credit_pack', name: 'Credits 1k', priceMinor: 1000, currency: 'TRY', credits: 1000, published: true }).expect(201)).body.id;
    const first = (await api().post(`/api/v1/sub-accounts/${t.w.a.subs[0].id}/purchases`).set(bearer(t.w.a.key)).send({ packageId: pack, payment: 'offline' }).expect(201)).body;
    t.deps.testClock.advance(1000);
    const second = (await api().post(`/api/v1/sub-accounts/${t.w.a.subs[1].id}/purchases`).set(bearer(t.w.a.key)).send({ packageId: pack, payment: 'offline' }).expect(201)).body;
    expect([first.status, second.status]).to.deep.equal(['paid', 'paid']);
    // Enough for one: the older purchase gets it, the other keeps waiting.
    await api().post(`/api/v1/agencies/${t.w.a.id}/adjustments`).set(bearer(t.w.platformKey)).send({ credits: 1500, reason: 'top up' }).expect(201);
    await t.deps.queue.drain();
    const status = async () => Object.fromEntries((await t.deps.db.select({ id: purchases.id, s: purchases.status }).from(purchases).where(inArray(purchases.id, [first.id, second.id]))).map((r) => [r.id, r.s]));
    expect(await status()).to.deep.equal({ [first.id]: 'granted', [second.id]: 'paid' });
    await api().post(`/api/v1/agencies/${t.w.a.id}/adjustments`).set(bearer(t.w.platformKey)).send({ credits: 500, reason: 'top up' }).expect(201);
    await t.deps.queue.drain();
    expect(await status()).to.deep.equal({ [first.id]: 'granted', [second.id]: 'granted' });
    const balance = (await api().get('/api/v1/balance').set(bearer(t.w.a.key)).expect(200)).body.balance;
    expect(balance).to.equal(0);
    const [p] = await t.deps.db.select().from(purchases).where(eq(purchases.id, second.id));
    expect(p!.status).to.equal('granted');
  });
});

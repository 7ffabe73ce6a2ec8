// Idempotency-Key on every API POST: a retry gets the first answer, even when the state changed
// since (the WhatsApp debit after the balance dropped); another request with the same key is
// refused; retries at once wait for the first; keys are per API key and forgotten after 24 hours.
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { idempotencyKeys, subscriptions as prepaid, walletEntries, billingSubscriptions } from '../../db/schema';
import { pruneIdempotencyKeys } from '../../src/api-keys/idempotency-keys';
import { settleAnyPayment } from '../../src/payments/settlement';
import { bearer } from '../support/http';
import { worldAppPerTest } from '../support/world-app';

describe('Idempotency-Key on API POSTs', () => {
  const t = worldAppPerTest();
  const api = () => request(t.app);

  it('a retried WhatsApp debit answers the first result after the balance dropped, and debits once', async () => {
    const key = t.w.a.key;
    const top = await api().post('/api/v1/whatsapp-balance/top-ups').set(bearer(key)).send({ amountMinor: 2000, currency: 'USD' }).expect(201);
    await settleAnyPayment(t.deps, { paymentId: top.body.paymentId, approved: true, raw: {} });
    const debit = () => api().post('/api/v1/whatsapp-balance/debits').set(bearer(key)).set('Idempotency-Key', 'msg-77').send({ amountMinor: 1500, reference: 'wa:77' });
    const first = await debit().expect(200);
    // Another debit takes the balance below the first one's amount.
    await api().post('/api/v1/whatsapp-balance/debits').set(bearer(key)).send({ amountMinor: 400, reference: 'wa:78' }).expect(200);
    const again = await debit().expect(200);
    expect(again.headers['idempotent-replayed']).to.equal('true');
    expect(again.body).to.deep.equal(first.body);
    expect((await t.deps.db.select().from(walletEntries).where(eq(walletEntries.reference, 'wa:77')))).to.have.length(1);
  });

  it('the same key with another request is 409 idempotency_key_reused; keys are per API key', async () => {
    const offer = (await api().post('/api/v1/offers').set(bearer(t.w.a.key)).send({ kind: 'package', name: 'Chatbot 20k', priceMinor: 150_000, currency: 'TRY', billing: 'monthly', chatbotSessions: 20_000, published: true }).expect(201)).body.id;
    const subscribe = (key: string, body: Record<string, unknown>) => api().post('/api/v1/subscriptions').set(bearer(key)).set('Idempotency-Key', 'sub-1').send(body);
    const first = await subscribe(t.w.a.subs[0].key, { packageId: offer }).expect(201);
    const replay = await subscribe(t.w.a.subs[0].key, { packageId: offer }).expect(201);
    expect(replay.body.id).to.equal(first.body.id);
    const reused = await subscribe(t.w.a.subs[0].key, { packageId: offer, quantity: 2 }).expect(409);
    expect(reused.body.error).to.equal('idempotency_key_reused');
    // Another API key may use the same key text for its own request.
    const other = await subscribe(t.w.a.subs[1].key, { packageId: offer }).expect(201);
    expect(other.body.id).to.not.equal(first.body.id);
    expect(await t.deps.db.select().from(billingSubscriptions)).to.have.length(2);
    expect(await t.deps.db.select().from(prepaid)).to.have.length(0);
  });

  it('retries at once wait for the first and get its answer; a refused request is replayed too; bad keys are 400', async () => {
    await api().post(`/api/v1/agencies/${t.w.a.id}/adjustments`).set(bearer(t.w.platformKey)).send({ credits: 500, reason: 'seed' }).expect(201);
    const send = () => api().post(`/api/v1/sub-accounts/${t.w.a.subs[0].id}/adjustments`).set(bearer(t.w.a.key)).set('Idempotency-Key', 'adj-1').send({ credits: 100, reason: 'once' });
    const results = await Promise.all([send(), send(), send()]);
    expect(results.map((r) => r.status)).to.deep.equal([201, 201, 201]);
    expect(new Set(results.map((r) => JSON.stringify(r.body))).size).to.equal(1);
    expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).to.have.length(2);
    const bad = () => api().post(`/api/v1/sub-accounts/${t.w.a.subs[0].id}/adjustments`).set(bearer(t.w.a.key)).set('Idempotency-Key', 'adj-bad').send({ credits: 0, reason: 'x' });
    expect((await bad().expect(422)).body.error).to.equal('validation_failed');
    expect((await bad().expect(422)).headers['idempotent-replayed']).to.equal('true');
    await api().post('/api/v1/offers').set(bearer(t.w.a.key)).set('Idempotency-Key', 'has space').send({}).expect(400);
  });

  it('keys are forgotten after 24 hours', async () => {
    const send = () => api().post('/api/v1/offers').set(bearer(t.w.a.key)).set('Idempotency-Key', 'offer-1').send({ kind: 'credit_pack', name: 'Credits', priceMinor: 1000, currency: 'TRY', credits: 100 });
    const first = await send().expect(201);
    expect((await send().expect(201)).body.id).to.equal(first.body.id);
    t.deps.testClock.advance(25 * 3600_000);
    expect(await pruneIdempotencyKeys(t.deps)).to.equal(1);
    expect(await t.deps.db.select().from(idempotencyKeys)).to.have.length(0);
    expect((await send().expect(201)).body.id).to.not.equal(first.body.id);
  });
});

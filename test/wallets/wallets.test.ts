import { expect } from 'chai';
import request from 'supertest';
import { walletEntries, wallets } from '../../db/schema';
import { settleAnyPayment } from '../../src/payments/settlement';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('WhatsApp balance (money wallet)', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  const api = () => request(app);

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
  });
  afterEach(() => deps.close());

  const topUp = async (key: string, amountMinor: number, currency = 'TRY') => {
    const res = await api().post('/api/v1/whatsapp-balance/top-ups').set(bearer(key)).send({ amountMinor, currency }).expect(201);
    expect(res.body.status).to.equal('pending_payment');
    return res.body.paymentId as string;
  };

  it('grows only when the top-up is paid, once however often it is confirmed', async () => {
    const sub = w.a.subs[0]!;
    const paymentId = await topUp(sub.key, 25_000);
    expect((await api().get('/api/v1/whatsapp-balance').set(bearer(sub.key)).expect(200)).body).to.include({ balanceMinor: 0, currency: null });
    const outcomes = await Promise.all([1, 2].map(() => settleAnyPayment(deps, { paymentId, approved: true, raw: {} })));
    expect(outcomes.map((o) => o.outcome).sort()).to.deep.equal(['already', 'confirmed']);
    const view = (await api().get('/api/v1/whatsapp-balance').set(bearer(sub.key)).expect(200)).body;
    expect(view).to.include({ balanceMinor: 25_000, currency: 'TRY' });
    expect(view.entries).to.have.length(1);
    // A declined top-up changes nothing.
    const declined = await topUp(sub.key, 1000);
    await settleAnyPayment(deps, { paymentId: declined, approved: false, reason: 'declined', raw: {} });
    expect((await api().get('/api/v1/whatsapp-balance').set(bearer(sub.key)).expect(200)).body.balanceMinor).to.equal(25_000);
    // Another account sees its own (empty) balance.
    expect((await api().get('/api/v1/whatsapp-balance').set(bearer(w.a.subs[1]!.key)).expect(200)).body.balanceMinor).to.equal(0);
  });

  it('debits are refused beyond the balance and applied once per Idempotency-Key', async () => {
    const key = w.a.key;
    await settleAnyPayment(deps, { paymentId: await topUp(key, 5000, 'USD'), approved: true, raw: {} });
    const debit = () => api().post('/api/v1/whatsapp-balance/debits').set(bearer(key)).set('Idempotency-Key', 'msg-1').send({ amountMinor: 1200, reference: 'wa:msg-1' });
    expect((await debit().expect(200)).body.balanceMinor).to.equal(3800);
    expect((await debit().expect(200)).body.balanceMinor).to.equal(3800);
    const over = await api().post('/api/v1/whatsapp-balance/debits').set(bearer(key)).send({ amountMinor: 3801, reference: 'wa:big' }).expect(402);
    expect(over.body.error).to.equal('insufficient_funds');
    const rows = await deps.db.select().from(wallets);
    const entries = await deps.db.select().from(walletEntries);
    expect(rows[0]!.balanceMinor).to.equal(entries.reduce((s, e) => s + e.deltaMinor, 0));
  });

  it('bad input: zero, negative, fractional or huge amounts, another currency, missing reference', async () => {
    const key = w.a.subs[0]!.key;
    for (const bad of [{ amountMinor: 0, currency: 'TRY' }, { amountMinor: -5, currency: 'TRY' }, { amountMinor: 1.5, currency: 'TRY' }, { amountMinor: 1e15, currency: 'TRY' }, { amountMinor: 100, currency: 'GBP' }, { amountMinor: '100', currency: 'TRY' }]) {
      expect((await api().post('/api/v1/whatsapp-balance/top-ups').set(bearer(key)).send(bad).expect(422)).body.error, JSON.stringify(bad)).to.equal('validation_failed');
    }
    await settleAnyPayment(deps, { paymentId: await topUp(key, 100), approved: true, raw: {} });
    const other = await api().post('/api/v1/whatsapp-balance/top-ups').set(bearer(key)).send({ amountMinor: 100, currency: 'EUR' }).expect(422);
    expect(other.body.fields.currency).to.match(/kept in TRY/);
    await api().post('/api/v1/whatsapp-balance/debits').set(bearer(key)).send({ amountMinor: 10 }).expect(422);
    await api().get('/api/v1/whatsapp-balance').set(bearer(w.platformKey)).expect(403);
  });
});

import { expect } from 'chai';
import { and, eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { agencies, creditLedger, notifications, outboxEmails, purchases, subAccountDepartments, subAccounts, subscriptionGrants, subscriptions } from '../../db/schema';
import { createProcessors } from '../../jobs/processors';
import { DAY_MS } from '../../src/lib/clock';
import { grantSubscriptionMonth, settlePurchasePayment } from '../../src/purchases/purchases.usecases';
import { runSubscriptionGrants } from '../../src/monthly-grants/grants';
import { createApp } from '../../src/web/app';
import { resetData, rowsOf } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { createWorld, type World } from '../support/world';

describe('resold packages: purchases, rules and monthly grants', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  const api = () => request(app);
  let d1: string;
  let d2: string;
  const sub = () => w.a.subs[0];

  async function setup(start: string, pool = 100_000) {
    await resetData();
    deps = await makeTestDeps({ start: new Date(start) });
    w = await createWorld(deps);
    app = createApp(deps);
    await deps.db.update(agencies).set({ billingEmail: 'billing@agency-a.test', ccEmails: ['cc1@agency-a.test', 'cc2@agency-a.test'] }).where(eq(agencies.id, w.a.id));
    await deps.db.update(subAccounts).set({ billingEmail: 'client@a1.test' }).where(eq(subAccounts.id, sub().id));
    if (pool > 0) await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: pool, reason: 'seed' }).expect(201);
    d1 = (await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Sales', creditsPerRequest: 1 }).expect(201)).body.id;
    d2 = (await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Support', creditsPerRequest: 1 }).expect(201)).body.id;
  }
  const createPackage = async (body: Record<string, unknown>) =>
    (await api().post('/api/v1/packages').set(bearer(w.a.key)).send({ currency: 'TRY', published: true, ...body }).expect(201)).body as { id: string; version: number };
  const creditPkg = () => createPackage({ name: 'Credits 1000', type: 'credit', priceMinor: 19_990, credits: 1000, departmentIds: [d1] });
  const subPkg = (termMonths = 3) => createPackage({ name: 'Monthly 500', type: 'subscription', priceMinor: 49_900, credits: 500, termMonths, departmentIds: [d2] });
  const buyOffline = (packageId: string, extra: Record<string, unknown> = {}) =>
    api().post(`/api/v1/sub-accounts/${sub().id}/purchases`).set(bearer(w.a.key)).send({ packageId, payment: 'offline', ...extra });
  const balance = async () => (await api().get('/api/v1/balance').set(bearer(sub().key)).expect(200)).body;
  const pool = async () => (await api().get('/api/v1/balance').set(bearer(w.a.key)).expect(200)).body.balance as number;
  const enabled = async () => (await deps.db.select({ id: subAccountDepartments.departmentId }).from(subAccountDepartments).where(eq(subAccountDepartments.subAccountId, sub().id))).map((r) => r.id).sort();
  const advanceTo = (iso: string) => deps.testClock.set(new Date(iso));

  afterEach(async () => {
    await assertLedgerInvariant(deps.db);
    await deps.close();
  });

  it('package API: bad input is refused with field messages and writes nothing', async () => {
    await setup('2026-03-10T09:00:00Z');
    const bad: [Record<string, unknown>, string][] = [
      [{ name: 'x', type: 'credit', priceMinor: 0, credits: 1 }, 'priceMinor'],
      [{ name: 'x', type: 'credit', priceMinor: -5, credits: 1 }, 'priceMinor'],
      [{ name: 'x', type: 'credit', priceMinor: 10.5, credits: 1 }, 'priceMinor'],
      [{ name: 'x', type: 'credit', priceMinor: 1e15, credits: 1 }, 'priceMinor'],
      [{ name: 'x', type: 'credit', priceMinor: 100, credits: -1 }, 'credits'],
      [{ name: 'x', type: 'credit', priceMinor: 100, credits: 1.5 }, 'credits'],
      [{ name: 'x', type: 'credit', priceMinor: 100, credits: 1, currency: 'GBP' }, 'currency'],
      [{ name: 'x', type: 'subscription', priceMinor: 100, credits: 1 }, 'termMonths'],
      [{ name: 'x', type: 'credit', priceMinor: 100, credits: 1, termMonths: 3 }, 'termMonths'],
      [{ name: 'x', type: 'gift', priceMinor: 100, credits: 1 }, 'type'],
    ];
    for (const [body, field] of bad) {
      const res = await api().post('/api/v1/packages').set(bearer(w.a.key)).send({ currency: 'USD', ...body }).expect(422);
      expect(res.body.fields, JSON.stringify(body)).to.have.property(field);
    }
    const foreignDept = (await api().post('/api/v1/departments').set(bearer(w.b.key)).send({ name: 'B', creditsPerRequest: 1 }).expect(201)).body.id;
    expect((await api().post('/api/v1/packages').set(bearer(w.a.key)).send({ name: 'x', type: 'credit', priceMinor: 100, currency: 'USD', credits: 1, departmentIds: [foreignDept] }).expect(422)).body.fields).to.have.property('departmentIds');
    expect((await api().post('/api/v1/packages').set(bearer(w.b.key)).send({ name: 'x', type: 'credit', priceMinor: 100, currency: 'USD', credits: 1 }).expect(403)).body.error).to.equal('module_required');
    expect((await api().post('/api/v1/packages').set(bearer(sub().key)).send({}).expect(403)).body.error).to.equal('wrong_scope');
    expect((await api().get('/api/v1/packages').set(bearer(w.a.key)).expect(200)).body.data).to.deep.equal([]);
  });

  it('sub-accounts see published packages only; another agency\'s package is not found', async () => {
    await setup('2026-03-10T09:00:00Z');
    const pub = await creditPkg();
    const hidden = await createPackage({ name: 'Draft', type: 'credit', priceMinor: 100, credits: 10, published: false });
    const list = await api().get('/api/v1/packages').set(bearer(sub().key)).expect(200);
    expect(list.body.data.map((p: { id: string }) => p.id)).to.deep.equal([pub.id]);
    await api().get(`/api/v1/packages/${hidden.id}`).set(bearer(sub().key)).expect(404);
    await api().get(`/api/v1/packages/${pub.id}`).set(bearer(w.b.key)).expect(404);
    expect((await buyOffline(hidden.id).expect(201)).body.status).to.equal('granted'); // the agency itself may sell a draft offline
    await deps.db.update(agencies).set({ resellingModule: true }).where(eq(agencies.id, w.b.id));
    await api().post(`/api/v1/sub-accounts/${w.b.subs[0].id}/purchases`).set(bearer(w.b.key)).send({ packageId: pub.id, payment: 'offline' }).expect(404);
  });

  it('credit packages stack, come out of the pool, enable their departments; editing never changes a sale', async () => {
    await setup('2026-03-10T09:00:00Z');
    const pkg = await creditPkg();
    const first = (await buyOffline(pkg.id).expect(201)).body;
    expect(first).to.include({ status: 'granted', priceMinor: 19_990, currency: 'TRY' });
    const edited = await api().patch(`/api/v1/packages/${pkg.id}`).set(bearer(w.a.key)).send({ credits: 2000, priceMinor: 29_990 }).expect(200);
    expect(edited.body).to.include({ version: 2, credits: 2000 });
    expect((await api().patch(`/api/v1/packages/${pkg.id}`).set(bearer(w.a.key)).send({ published: false }).expect(200)).body.version).to.equal(2);
    const second = (await buyOffline(pkg.id).expect(201)).body;
    expect(second.packageVersionId).not.to.equal(first.packageVersionId);
    const b = await balance();
    expect(b.balance).to.equal(3000);
    expect(b.using).to.equal('credit');
    expect(await pool()).to.equal(100_000 - 3000);
    expect(await enabled()).to.deep.equal([d1]);
    const history = (await api().get(`/api/v1/sub-accounts/${sub().id}/purchases`).set(bearer(w.a.key)).expect(200)).body.data;
    expect(history.map((p: { priceMinor: number }) => p.priceMinor)).to.deep.equal([29_990, 19_990]);
    // Emails: the agency's general address with its CCs, and the client.
    const mails = await deps.db.select().from(outboxEmails).where(sql`${outboxEmails.subject} like 'Purchase confirmed%'`);
    expect(mails).to.have.length(2);
    expect(mails[0]!.to).to.have.members(['billing@agency-a.test', 'client@a1.test']);
    expect(mails[0]!.cc).to.have.members(['cc1@agency-a.test', 'cc2@agency-a.test']);
  });

  it('purchase emails follow the agency\'s language (Turkish)', async () => {
    await setup('2026-03-10T09:00:00Z');
    await deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, w.a.id));
    await buyOffline((await creditPkg()).id).expect(201);
    const [mail] = await deps.db.select().from(outboxEmails).where(sql`${outboxEmails.subject} like 'Satın alma%'`);
    expect(mail!.subject).to.equal(`Satın alma onaylandı: ${sub().name} için Credits 1000`);
    expect(mail!.text).to.contain('Tahsil edilen tutar: TRY 199,90').and.contain('Tür: kredi paketi');
  });

  it('switching type forfeits the rest of the other type, only after an explicit confirmation', async () => {
    await setup('2026-03-10T09:00:00Z');
    const credit = await creditPkg();
    const subscription = await subPkg();
    await buyOffline(credit.id).expect(201);
    await api().post('/api/v1/usage').set(bearer(sub().key)).send({ conversationId: 'c1', departmentId: d1 }).expect(200); // 999 left
    const before = await deps.db.select({ n: sql<number>`count(*)::int` }).from(creditLedger);
    const refused = await buyOffline(subscription.id).expect(409);
    expect(refused.body).to.include({ error: 'forfeit_confirmation_required' });
    expect(refused.body.message).to.contain('forfeits the 999 credits');
    expect((await deps.db.select({ n: sql<number>`count(*)::int` }).from(creditLedger))[0]!.n).to.equal(before[0]!.n);
    await buyOffline(subscription.id, { confirmForfeit: true }).expect(201);
    const forfeit = await deps.db.select().from(creditLedger).where(and(eq(creditLedger.reason, 'forfeit'), eq(creditLedger.subAccountId, sub().id)));
    expect(forfeit.map((f) => f.delta)).to.deep.equal([-999]);
    const b = await balance();
    expect(b.balance).to.equal(500); // first month of the subscription
    expect(b.using).to.equal('subscription');
    expect(await pool()).to.equal(100_000 - 1000 + 999 - 500); // forfeited credits return to the pool
    // And back: a credit package ends the subscription and forfeits its monthly credits.
    await buyOffline(credit.id).expect(409);
    await buyOffline(credit.id, { confirmForfeit: true }).expect(201);
    expect((await balance()).balance).to.equal(1000);
    const [s] = await deps.db.select().from(subscriptions).where(eq(subscriptions.subAccountId, sub().id));
    expect(s!.status).to.equal('forfeited');
  });

  it('departments are disabled again when no active package covers them (agencies that restrict them)', async () => {
    await setup('2026-03-10T09:00:00Z');
    await deps.db.update(agencies).set({ restrictDepartmentsToPackages: true }).where(eq(agencies.id, w.a.id));
    await buyOffline((await creditPkg()).id).expect(201);
    expect(await enabled()).to.deep.equal([d1]);
    await buyOffline((await subPkg()).id, { confirmForfeit: true }).expect(201);
    expect(await enabled()).to.deep.equal([d2]);
    // The term ends: nothing covers d2 any more.
    advanceTo('2026-06-10T00:00:00Z');
    const run = await runSubscriptionGrants(deps);
    expect(run.ended).to.equal(1);
    expect(await enabled()).to.deep.equal([]);
  });

  it('a subscription is renewable when its last day is 30 days away and not 31 (calendar days); the new term starts where the old ends', async () => {
    await setup('2026-01-15T09:00:00Z');
    const pkg = await subPkg(3);
    await buyOffline(pkg.id).expect(201);
    const [s] = await deps.db.select().from(subscriptions);
    expect(s!.endsAt.toISOString()).to.equal('2026-04-14T21:00:00.000Z'); // 15 April 00:00 Istanbul
    // The last day is 14 April: 14 March (31 days before) is too early, 15 March is allowed.
    deps.testClock.set(new Date('2026-03-14T20:59:00Z')); // 23:59 on 14 March in Istanbul
    const early = await buyOffline(pkg.id).expect(409);
    expect(early.body.error).to.equal('renewal_too_early');
    expect(early.body.renewableFrom).to.equal('2026-03-15');
    deps.testClock.set(new Date('2026-03-14T21:00:00Z')); // 00:00 on 15 March in Istanbul
    await buyOffline(pkg.id).expect(201);
    const all = await deps.db.select().from(subscriptions).orderBy(subscriptions.startsAt);
    expect(all).to.have.length(2);
    expect(all[1]!.startsAt.toISOString()).to.equal(s!.endsAt.toISOString());
    expect(all[1]!.endsAt.toISOString()).to.equal('2026-07-14T21:00:00.000Z');
  });

  it('renewal days are calendar days in the seller\'s zone: a term whose last day is the 31st renews from the 1st, and the refusal names that day', async () => {
    await setup('2026-10-01T09:00:00Z');
    const pkg = await subPkg(3);
    await buyOffline(pkg.id).expect(201);
    const [s] = await deps.db.select().from(subscriptions);
    expect(s!.endsAt.toISOString()).to.equal('2026-12-31T21:00:00.000Z'); // the last day is 31 December (Istanbul)
    deps.testClock.set(new Date('2026-11-30T20:59:00Z')); // 23:59 on 30 November in Istanbul: 31 days before the last day
    const early = await buyOffline(pkg.id).expect(409);
    expect(early.body).to.include({ error: 'renewal_too_early', renewableFrom: '2026-12-01' });
    expect(early.body.message).to.equal('Your subscription can be renewed when 30 days or less remain, from 1 Dec 2026.');
    const tr = await buyOffline(pkg.id).set('accept-language', 'tr').expect(409);
    expect(tr.body.message).to.contain('1 Ara 2026');
    deps.testClock.set(new Date('2026-11-30T21:00:00Z')); // 00:00 on 1 December in Istanbul (still 30 November in UTC)
    await buyOffline(pkg.id).expect(201);
  });

  it('monthly grants: on each anniversary (clamped to short months), the previous lot expires, reruns grant nothing, the term ends', async () => {
    await setup('2028-01-31T10:00:00Z');
    await buyOffline((await subPkg(4)).id).expect(201); // 31 Jan 2028, leap year
    const grantDays = async () => rowsOf<{ day: string }>(await deps.db.execute(sql`select to_char(granted_at at time zone 'Europe/Istanbul', 'YYYY-MM-DD') as day from subscription_grants order by period_index`)).map((r) => r.day);
    for (const [at, expectedBalance] of [['2028-02-29T08:00:00Z', 500], ['2028-03-31T08:00:00Z', 500], ['2028-04-30T08:00:00Z', 500]] as const) {
      advanceTo(at);
      await runSubscriptionGrants(deps);
      const again = await runSubscriptionGrants(deps);
      expect(again.granted).to.equal(0);
      expect((await balance()).balance).to.equal(expectedBalance);
    }
    expect(await grantDays()).to.deep.equal(['2028-01-31', '2028-02-29', '2028-03-31', '2028-04-30']);
    advanceTo('2028-05-31T08:00:00Z');
    const end = await runSubscriptionGrants(deps);
    expect(end).to.deep.include({ granted: 0, ended: 1 });
    expect((await balance()).balance).to.equal(0);
    expect((await deps.db.select().from(subscriptionGrants)).length).to.equal(4);
  });

  it('a grant job killed half-way and rerun grants every subscription exactly once; a second worker grants nothing', async () => {
    await setup('2026-03-10T09:00:00Z');
    const pkg = await subPkg(6);
    const subIds: string[] = [];
    for (const s of [...w.a.subs, ...w.a.subs]) {
      await api().post(`/api/v1/sub-accounts/${s.id}/purchases`).set(bearer(w.a.key)).send({ packageId: pkg.id, payment: 'offline' });
    }
    for (const s of await deps.db.select().from(subscriptions)) subIds.push(s.id);
    advanceTo('2026-04-10T08:00:00Z');
    // "Killed half-way": one subscription got its month, the process died before the others.
    await deps.db.transaction((tx) => grantSubscriptionMonth(tx, subIds[0]!, 'Europe/Istanbul', deps.clock.now()));
    const [a, b] = await Promise.all([runSubscriptionGrants(deps), runSubscriptionGrants(deps)]);
    expect(a.granted + b.granted).to.be.at.least(subIds.length - 1);
    const per = rowsOf<{ n: number }>(await deps.db.execute(sql`select count(*)::int as n from subscription_grants group by subscription_id`));
    expect(per.map((r) => r.n)).to.deep.equal(subIds.map(() => 2));
  });

  it('a paid purchase the pool cannot cover is kept, the agency told once, and granted once the pool is filled', async () => {
    await setup('2026-03-10T09:00:00Z', 500);
    const res = await buyOffline((await creditPkg()).id).expect(201);
    expect(res.body).to.include({ status: 'paid' });
    expect(res.body.lastGrantError).to.contain("agency's pool has 500 credits");
    expect((await balance()).balance).to.equal(0);
    const tick = createProcessors(deps).tick!;
    deps.testClock.advance(2 * 60_000);
    await tick({});
    await deps.queue.drain();
    const notices = await deps.db.select().from(notifications).where(eq(notifications.kind, 'purchase_grant_failed'));
    expect(notices).to.have.length(1);
    const warned = await deps.db.select().from(outboxEmails).where(eq(outboxEmails.subject, 'A paid purchase is waiting for credits'));
    expect(warned).to.have.length(1);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 5000, reason: 'top up' }).expect(201);
    deps.testClock.advance(2 * 60_000);
    await tick({});
    await deps.queue.drain();
    const [p] = await deps.db.select().from(purchases).where(eq(purchases.id, res.body.id));
    expect(p!.status).to.equal('granted');
    expect((await balance()).balance).to.equal(1000);
    deps.testClock.advance(2 * 60_000);
    await tick({});
    await deps.queue.drain();
    expect((await balance()).balance).to.equal(1000);
  });

  it('a payment confirmation delivered twice (even at once) grants once; a declined one grants nothing', async () => {
    await setup('2026-03-10T09:00:00Z');
    const pkg = await creditPkg();
    const started = async () => {
      const { startPurchase } = await import('../../src/purchases/purchases.usecases');
      const actor = { kind: 'api_key' as const, id: 'k', scope: 'sub_account' as const, agencyId: w.a.id, subAccountId: sub().id, role: 'admin' as const, billing: true };
      const { SandboxGateway } = await import('../../src/payments/sandbox-gateway');
      return startPurchase(deps, { actor, input: { packageId: pkg.id }, gateway: new SandboxGateway('s', 'http://x') });
    };
    const one = await started();
    const twice = await started(); // a double click reuses the pending purchase
    expect(twice.purchase.id).to.equal(one.purchase.id);
    const paymentId = /checkout\/(pay_\w+)/.exec((one.next as { url: string }).url)![1]!;
    const results = await Promise.all([1, 2, 3].map(() => settlePurchasePayment(deps, { paymentId, approved: true, raw: { test: true } })));
    expect(results.map((r) => r.outcome).sort()).to.deep.equal(['already', 'already', 'confirmed']);
    expect((await balance()).balance).to.equal(1000);
    deps.testClock.advance(20 * 60_000);
    const declined = await started();
    const declinedId = /checkout\/(pay_\w+)/.exec((declined.next as { url: string }).url)![1]!;
    expect((await settlePurchasePayment(deps, { paymentId: declinedId, approved: false, reason: 'declined', raw: {} })).outcome).to.equal('failed');
    expect((await settlePurchasePayment(deps, { paymentId: declinedId, approved: true, raw: {} })).outcome).to.equal('already');
    expect((await balance()).balance).to.equal(1000);
    const [p] = await deps.db.select().from(purchases).where(eq(purchases.id, declined.purchase.id));
    expect(p!.status).to.equal('payment_failed');
  });

  it('review fixes: client idempotency keys cannot block system grants; offline retries record once; renewals keep chatbots once', async () => {
    await setup('2026-01-15T09:00:00Z');
    await deps.db.update(agencies).set({ chatbotSlots: 1 }).where(eq(agencies.id, w.a.id));
    const pkg = await createPackage({ name: 'Bot monthly', type: 'subscription', priceMinor: 1000, credits: 100, termMonths: 3, chatbots: 1 });
    // An Idempotency-Key shaped like the system's own ledger keys does not collide with them.
    await api().post(`/api/v1/sub-accounts/${sub().id}/adjustments`).set(bearer(w.a.key)).set('Idempotency-Key', 'purchase:x').send({ credits: 5, reason: 'x' }).expect(201);
    // A retried offline purchase (same Idempotency-Key) records one purchase and grants once.
    const first = await buyOffline(pkg.id).set('Idempotency-Key', 'order-42').expect(201);
    const again = await buyOffline(pkg.id).set('Idempotency-Key', 'order-42').expect(201);
    expect(again.body.id).to.equal(first.body.id);
    expect((await deps.db.select().from(purchases)).length).to.equal(1);
    expect((await balance()).balance).to.equal(105);
    // Renewal within 30 days: the 1 slot moves to the new term instead of being needed twice.
    const [s] = await deps.db.select().from(subscriptions);
    deps.testClock.set(new Date(s!.endsAt.getTime() - 10 * DAY_MS));
    const renewal = await buyOffline(pkg.id).expect(201);
    expect(renewal.body.status).to.equal('granted');
    const chatbots = async () => (await api().get(`/api/v1/sub-accounts/${sub().id}`).set(bearer(w.a.key)).expect(200)).body.chatbots;
    expect(await chatbots()).to.equal(1);
    deps.testClock.set(new Date(s!.endsAt.getTime() + 1000));
    await runSubscriptionGrants(deps);
    expect(await chatbots()).to.equal(1);
  });
});

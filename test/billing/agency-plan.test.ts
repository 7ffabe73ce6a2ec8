/**
 * An agency's plan is a monthly subscription on the billing engine (docs/catalog.md, "Plans"):
 * choosing a plan mid-month bills the prorated first month on the next cut, a change bills the old
 * plan through the change day and the new one from the next, the plan's features (the reselling
 * module) follow the subscription in effect, and only the platform's published plans can be chosen.
 * Amounts are worked out by hand in the comments.
 */
import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import { agencies, billingPeriods, billingSubscriptions } from '../../db/schema';
import { runInvoiceCut } from '../../src/billing/invoice-cut';
import { insertOffer } from '../../src/catalog/offers';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('agency plans are billed subscriptions', () => {
  let deps: TestDeps;
  let w: World;
  let b: ReturnType<typeof billingApi>;
  let pro: string;
  let basic: string;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-04-10T09:00:00Z') });
    w = await createWorld(deps);
    b = billingApi(createApp(deps));
    const now = deps.clock.now();
    pro = await insertOffer(deps.db, { sellerAgencyId: null, kind: 'plan', code: 'pro', terms: { name: 'Agency Pro', priceMinor: 49_900, currency: 'TRY', modules: ['reselling'] } }, now);
    basic = await insertOffer(deps.db, { sellerAgencyId: null, kind: 'plan', code: 'basic', terms: { name: 'Agency Basic', priceMinor: 19_900, currency: 'TRY' } }, now);
  });
  afterEach(async () => deps.close());

  const setPlan = (agencyId: string, planCode: string | null) => b.api().patch(`/api/v1/agencies/${agencyId}`).set(bearer(w.platformKey)).send({ planCode });
  /** Agency B (no module granted by hand) may sell to its clients: creating an offer is allowed. */
  const resells = async () => {
    const res = await b.api().post('/api/v1/offers').set(bearer(w.b.key)).send({ kind: 'credit_pack', name: 'Credits', priceMinor: 1000, currency: 'TRY', credits: 100 });
    expect(res.status, JSON.stringify(res.body)).to.be.oneOf([201, 403]);
    return res.status === 201;
  };
  const planLines = async () => {
    const [inv] = await b.invoices(w.b.key);
    expect(inv, 'an invoice for the month').to.not.equal(undefined);
    return (await b.invoice(w.b.key, inv!.id)).lines.map((l) => [l.description, l.fromDay, l.throughDay, l.activeDays, l.amountMinor]);
  };

  it('a plan chosen mid-month is billed from that day on the next 1st, and gives its features while it runs', async () => {
    expect(await resells(), 'no plan, no module').to.equal(false);
    await setPlan(w.b.id, 'pro').expect(200);
    expect(await resells(), 'the plan brings the reselling module at once').to.equal(true);
    const [sub] = await deps.db.select().from(billingSubscriptions).where(eq(billingSubscriptions.buyerId, w.b.id));
    expect(sub).to.include({ kind: 'plan', billing: 'monthly', packageId: pro, sellerAgencyId: null, monthlyPriceMinor: 49_900, startDay: '2026-04-10', status: 'active' });
    // Choosing the same plan again changes nothing.
    await setPlan(w.b.id, 'pro').expect(200);
    expect(await deps.db.select().from(billingSubscriptions).where(eq(billingSubscriptions.buyerId, w.b.id))).to.have.length(1);

    await moveTo(deps, '2026-05-01');
    await runInvoiceCut(deps);
    // April has 30 days; 10th to 30th = 21 days: 49,900 x 21 / 30 = 34,930 exactly.
    expect(await planLines()).to.deep.equal([['Agency Pro', '2026-04-10', '2026-04-30', 21, 34_930]]);

    // The platform takes the plan away on 5 May: billed through that day, in effect until it ends.
    await moveTo(deps, '2026-05-05');
    await setPlan(w.b.id, null).expect(200);
    expect(await resells(), 'in effect until the cancellation day ends').to.equal(true);
    await moveTo(deps, '2026-05-06');
    expect(await resells(), 'gone with the subscription').to.equal(false);
    const periods = await deps.db.select().from(billingPeriods).where(eq(billingPeriods.subscriptionId, sub!.id));
    expect(periods.map((p) => [p.fromDay, p.throughDay])).to.deep.equal([['2026-04-10', '2026-05-05']]);
  });

  it('changing plan is the engine\'s change: the old plan through the change day, the new one from the next', async () => {
    await setPlan(w.b.id, 'pro').expect(200);
    await moveTo(deps, '2026-04-20');
    await setPlan(w.b.id, 'basic').expect(200);
    expect(await resells(), 'on the change day the dearer plan is in effect').to.equal(true);
    await moveTo(deps, '2026-04-21');
    expect(await resells(), 'the basic plan has no reselling module').to.equal(false);
    await moveTo(deps, '2026-05-01');
    await runInvoiceCut(deps);
    // Pro 10th-20th = 11 days: 49,900 x 11 / 30 = 18,296.67 -> 18,297.
    // Basic 21st-30th = 10 days: 19,900 x 10 / 30 = 6,633.33 -> 6,633.
    expect(await planLines()).to.deep.equal([
      ['Agency Pro', '2026-04-10', '2026-04-20', 11, 18_297],
      ['Agency Basic', '2026-04-21', '2026-04-30', 10, 6_633],
    ]);
    const subs = await deps.db.select().from(billingSubscriptions).where(eq(billingSubscriptions.buyerId, w.b.id));
    expect(subs.map((s) => [s.packageId, s.status]).sort()).to.deep.equal([[basic, 'active'], [pro, 'changed']].sort());
  });

  it('the agency cancelling its plan subscription is on no plan; a plan not paid (overdue suspension) gives nothing', async () => {
    await setPlan(w.b.id, 'pro').expect(200);
    const [sub] = await deps.db.select().from(billingSubscriptions).where(eq(billingSubscriptions.buyerId, w.b.id));
    await deps.db.update(agencies).set({ overdueSuspendedAt: deps.clock.now() }).where(eq(agencies.id, w.b.id));
    expect(await resells(), 'a suspended agency\'s plan gives nothing').to.equal(false);
    await deps.db.update(agencies).set({ overdueSuspendedAt: null }).where(eq(agencies.id, w.b.id));
    expect(await resells()).to.equal(true);
    await b.cancel(w.b.key, sub!.id).expect(200);
    const [row] = await deps.db.select().from(agencies).where(eq(agencies.id, w.b.id));
    expect(row!.planCode).to.equal(null);
    await moveTo(deps, '2026-04-11');
    expect(await resells()).to.equal(false);
  });

  it('the platform\'s hand-granted module still gives reselling without a plan', async () => {
    expect(await resells()).to.equal(false);
    await b.api().patch(`/api/v1/agencies/${w.b.id}`).set(bearer(w.platformKey)).send({ resellingModule: true }).expect(200);
    expect(await resells()).to.equal(true);
  });

  it('a made-up plan, another seller\'s offer or an unpublished plan is refused and nothing is billed', async () => {
    const theirs = (await b.api().post('/api/v1/offers').set(bearer(w.a.key)).send({ kind: 'credit_pack', name: 'A pack', priceMinor: 1000, currency: 'TRY', credits: 100, published: true }).expect(201)).body.id as string;
    const draft = await insertOffer(deps.db, { sellerAgencyId: null, kind: 'plan', code: 'draft', published: false, terms: { name: 'Draft', priceMinor: 1, currency: 'TRY', modules: ['reselling'] } }, deps.clock.now());
    for (const code of ['nonexistent-plan', theirs, pro, 'draft', draft]) {
      const res = await setPlan(w.b.id, code);
      expect(res.status, code).to.equal(422);
    }
    // Bought as a package by the agency itself: not a package it can subscribe to.
    await b.start(w.b.key, pro).expect(404);
    expect(await deps.db.select().from(billingSubscriptions).where(and(eq(billingSubscriptions.buyerId, w.b.id)))).to.deep.equal([]);
    const [row] = await deps.db.select().from(agencies).where(eq(agencies.id, w.b.id));
    expect(row!.planCode).to.equal(null);
  });
});

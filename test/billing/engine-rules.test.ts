/**
 * The billing engine's rules (DESIGN section 6), end to end through the API and the jobs: every
 * expected amount is worked out by hand from the rules in the comments, never by calling the code.
 * The seller is agency A (Europe/Istanbul, UTC+3 all year); the buyer is its sub-account a1.
 */
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import { agencies, auditLog, billingSubscriptions, invoices, subAccounts } from '../../db/schema';
import { chargeTopupOnAccount } from '../../src/billing/account-charges';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('billing engine: the rules, through the API and the monthly cut', () => {
  let deps: TestDeps;
  let w: World;
  let b: ReturnType<typeof billingApi>;
  const key = () => w.a.subs[0].key;

  async function setup(day: string) {
    await resetData();
    deps = await makeTestDeps({ start: new Date(`${day}T09:00:00Z`) });
    w = await createWorld(deps);
    b = billingApi(createApp(deps));
    await deps.db.update(subAccounts).set({ billingEmail: 'client@a1.test' }).where(eq(subAccounts.id, w.a.subs[0].id));
  }
  const monthly = (name: string, monthlyPriceMinor: number, extra: Record<string, unknown> = {}) => b.createPackage(w.a.key, { name, billing: 'monthly', monthlyPriceMinor, ...extra });
  const started = async (packageId: string, extra: Record<string, unknown> = {}) => (await b.start(key(), packageId, extra).expect(201)).body as { id: string };
  /** The invoice of `period`, after the cut on the 1st of the next month. */
  async function invoiceFor(period: string) {
    const list = await b.invoices(key());
    const inv = list.find((i) => i.period === period);
    expect(inv, `an invoice for ${period}`).to.not.equal(undefined);
    return { ...inv!, ...(await b.invoice(key(), inv!.id)) };
  }

  afterEach(async () => deps.close());

  it('purchase mid-month: billed from the purchase day through month end', async () => {
    await setup('2026-03-10');
    const pkg = await monthly('Chatbot S', 3100);
    await started(pkg.id);
    moveTo(deps, '2026-04-01');
    await tick(deps);
    const inv = await invoiceFor('2026-03');
    // March has 31 days; 10..31 is 22 days: 3100 x 22 / 31 = 2200.
    expect(inv.lines).to.have.length(1);
    expect(inv.lines[0]).to.include({ fromDay: '2026-03-10', throughDay: '2026-03-31', activeDays: 22, daysInMonth: 31, amountMinor: 2200 });
    expect(inv.totalMinor).to.equal(2200);
  });

  it('a full month is exactly the monthly price, in 28-, 30- and 31-day months', async () => {
    await setup('2026-01-31');
    const pkg = await monthly('Chatbot odd', 1000); // 1000/28, 1000/30, 1000/31 are not whole
    await started(pkg.id);
    moveTo(deps, '2026-05-01');
    await tick(deps);
    // January: only the 31st, 1 day: 1000 x 1 / 31 = 32.26 -> 32. Then Feb (28), Mar (31), Apr (30) in full.
    expect((await invoiceFor('2026-01')).totalMinor).to.equal(32);
    for (const period of ['2026-02', '2026-03', '2026-04']) expect((await invoiceFor(period)).totalMinor, period).to.equal(1000);
  });

  it('cancel on day 20 of a 31-day month: billed through the 20th inclusive, usable until it ends', async () => {
    await setup('2026-02-15');
    const pkg = await monthly('Support M', 9300, { representatives: 3 });
    const sub = await started(pkg.id);
    moveTo(deps, '2026-03-20', 20); // 23:00 in Istanbul, still the 20th
    const cancelled = (await b.cancel(key(), sub.id).expect(200)).body;
    expect(cancelled.status).to.equal('cancelled');
    expect(cancelled.periods).to.deep.equal([{ fromDay: '2026-02-15', throughDay: '2026-03-20' }]);
    // Still usable for the rest of the 20th: its representatives count today (1 free + 3).
    expect((await b.upcoming(key())).lines[0].throughDay).to.equal('2026-03-20');
    moveTo(deps, '2026-04-01');
    await tick(deps);
    // March: days 1..20 = 20 of 31: 9300 x 20 / 31 = 6000.
    const inv = await invoiceFor('2026-03');
    expect(inv.lines[0]).to.include({ fromDay: '2026-03-01', throughDay: '2026-03-20', activeDays: 20, amountMinor: 6000 });
    // February: 15..28 = 14 of 28: 9300 x 14 / 28 = 4650.
    expect((await invoiceFor('2026-02')).totalMinor).to.equal(4650);
  });

  it('change up and change down on the same day of the month: old through that day, new from the next; the dearer one in effect that day', async () => {
    await setup('2026-02-20');
    const small = await monthly('Chatbot 20k', 3100, { chatbotSessions: 20_000 });
    const large = await monthly('Chatbot 50k', 6200, { chatbotSessions: 50_000 });
    const support = await monthly('Support 5', 9300, { representatives: 5, kind: 'package' });
    const support2 = await monthly('Support 2', 3100, { representatives: 2 });
    const up = await started(small.id);
    const down = await started(support.id);
    moveTo(deps, '2026-03-15');
    const upNew = (await b.change(key(), up.id, large.id).expect(201)).body;
    const downNew = (await b.change(key(), down.id, support2.id).expect(201)).body;
    expect(upNew.periods).to.deep.equal([{ fromDay: '2026-03-16', throughDay: null }]);
    expect(downNew.changedFromId).to.equal(down.id);
    // On the change day: the 50k chatbot (dearer, new) and Support 5 (dearer, old) are in effect.
    const today = (await b.api().get('/api/v1/entitlements').set(bearer(key())).expect(200)).body;
    expect(today).to.include({ chatbotSessions: 50_000, representatives: 1 + 5 });
    moveTo(deps, '2026-03-16');
    const tomorrow = (await b.api().get('/api/v1/entitlements').set(bearer(key())).expect(200)).body;
    expect(tomorrow).to.include({ chatbotSessions: 50_000, representatives: 1 + 2 });
    moveTo(deps, '2026-04-01');
    await tick(deps);
    const inv = await invoiceFor('2026-03');
    const line = (subId: string) => inv.lines.find((l) => l.subscriptionId === subId)!;
    // Up: 20k for 1..15 (15/31): 3100 x 15 / 31 = 1500; 50k for 16..31 (16/31): 6200 x 16 / 31 = 3200.
    expect(line(up.id)).to.include({ fromDay: '2026-03-01', throughDay: '2026-03-15', activeDays: 15, amountMinor: 1500 });
    expect(line(upNew.id)).to.include({ fromDay: '2026-03-16', throughDay: '2026-03-31', activeDays: 16, amountMinor: 3200 });
    // Down: Support 5 for 1..15: 9300 x 15 / 31 = 4500; Support 2 for 16..31: 3100 x 16 / 31 = 1600.
    expect(line(down.id)).to.include({ activeDays: 15, amountMinor: 4500 });
    expect(line(downNew.id)).to.include({ activeDays: 16, amountMinor: 1600 });
    expect(inv.totalMinor).to.equal(1500 + 3200 + 4500 + 1600);
  });

  it('cancel and reactivate on the same day bill that day once; a later reactivation bills from its day', async () => {
    await setup('2026-02-01');
    const a = await monthly('Chatbot A', 3100);
    const c = await monthly('Chatbot C', 6200);
    const same = await started(a.id);
    const later = await started(c.id);
    moveTo(deps, '2026-03-10');
    await b.cancel(key(), same.id).expect(200);
    const back = (await b.reactivate(key(), same.id).expect(200)).body;
    expect(back.periods).to.deep.equal([{ fromDay: '2026-02-01', throughDay: null }]);
    await b.cancel(key(), later.id).expect(200);
    moveTo(deps, '2026-03-20');
    await b.reactivate(key(), later.id).expect(200);
    moveTo(deps, '2026-04-01');
    await tick(deps);
    const inv = await invoiceFor('2026-03');
    const line = (id: string) => inv.lines.find((l) => l.subscriptionId === id)!;
    // Same day: never cancelled in effect: all 31 days, the monthly price exactly.
    expect(line(same.id)).to.include({ activeDays: 31, amountMinor: 3100 });
    // 1..10 and 20..31: 10 + 12 = 22 of 31: 6200 x 22 / 31 = 4400.
    expect(line(later.id)).to.include({ activeDays: 22, amountMinor: 4400 });
  });

  it('a 12-month term bought on the 31st: invoiced at once at 30% off, quotas reset on clamped anniversaries, ends by itself, never on a monthly invoice', async () => {
    await setup('2026-01-31');
    // The seller's due days (default 10), set through the agency settings API.
    const badDue = await b.api().patch('/api/v1/agency').set(bearer(w.a.key)).send({ invoiceDueDays: 500 }).expect(422);
    expect(badDue.body.fields).to.have.property('invoiceDueDays');
    expect((await b.api().patch('/api/v1/agency').set(bearer(w.a.key)).send({ invoiceDueDays: 14 }).expect(200)).body.invoiceDueDays).to.equal(14);
    const term = await b.createPackage(w.a.key, { name: 'Chatbot 50k yearly', billing: 'term', termMonths: 12, monthlyPriceMinor: 10_000, chatbotSessions: 50_000 });
    const sub = (await b.start(key(), term.id).expect(201)).body;
    // 10,000 x 12 x 70% = 84,000. The term runs 2026-01-31 up to (not including) 2027-01-31.
    expect(sub).to.include({ billing: 'term', termPriceMinor: 84_000, startDay: '2026-01-31', termLastDay: '2027-01-30' });
    await deps.queue.drain();
    const [inv] = await b.invoices(key());
    expect(inv).to.include({ kind: 'term', totalMinor: 84_000, status: 'open', issueDay: '2026-01-31', dueDay: '2026-02-14', number: 'INV-000001' });
    const mails = await deps.smtp.waitFor(1);
    expect(mails[0]!.subject).to.contain('INV-000001');
    expect(mails[0]!.raw).to.contain('application/pdf');
    // The buyer cannot cancel it.
    const refused = await b.cancel(key(), sub.id).expect(409);
    expect(refused.body.error).to.equal('term_not_cancellable');
    // Quota months: 31 Jan, then 28 Feb (clamped), 31 Mar...
    moveTo(deps, '2026-02-27');
    expect((await b.api().get('/api/v1/entitlements').set(bearer(key())).expect(200)).body.termQuotas[0]).to.include({ index: 0, from: '2026-01-31', until: '2026-02-28' });
    moveTo(deps, '2026-02-28');
    expect((await b.api().get('/api/v1/entitlements').set(bearer(key())).expect(200)).body.termQuotas[0]).to.include({ index: 1, from: '2026-02-28', until: '2026-03-31' });
    // The monthly cuts never bill it.
    moveTo(deps, '2026-03-01');
    await tick(deps);
    expect((await b.invoices(key())).map((i) => i.kind)).to.deep.equal(['term']);
    // Last day 2027-01-30: still in effect; on the 31st it has ended.
    moveTo(deps, '2027-01-30');
    expect((await b.api().get('/api/v1/entitlements').set(bearer(key())).expect(200)).body.chatbotSessions).to.equal(50_000);
    moveTo(deps, '2027-01-31');
    await tick(deps);
    expect((await b.api().get('/api/v1/entitlements').set(bearer(key())).expect(200)).body.chatbotSessions).to.equal(0);
    const [row] = await deps.db.select({ status: billingSubscriptions.status }).from(billingSubscriptions).where(eq(billingSubscriptions.id, sub.id));
    expect(row!.status).to.equal('ended');
    expect((await b.invoices(key())).filter((i) => i.kind === 'monthly')).to.have.length(0);
  });

  it('extra sessions bought on the last day of a month: active at once, billed in full on that month, gone at 00:00 on the 1st', async () => {
    await setup('2026-03-05');
    const chatbot = await monthly('Chatbot 20k', 3100, { chatbotSessions: 20_000 });
    await b.createPackage(w.a.key, { name: 'Extra 1k', kind: 'extra_sessions', monthlyPriceMinor: 500, chatbotSessions: 1000 });
    await started(chatbot.id);
    moveTo(deps, '2026-03-31', 20); // 23:00 in Istanbul on the 31st
    const bought = (await b.api().post('/api/v1/extra-sessions').set(bearer(key())).send({ quantity: 3 }).expect(201)).body;
    // 3 x 500 = 1500, 3 x 1000 sessions, expiring at 00:00 on 1 April in Istanbul (21:00 UTC on the 31st).
    expect(bought).to.include({ sessions: 3000, amountMinor: 1500, day: '2026-03-31', expiresAt: '2026-03-31T21:00:00.000Z' });
    expect((await b.api().get('/api/v1/entitlements').set(bearer(key())).expect(200)).body).to.include({ chatbotSessions: 20_000, extraSessions: 3000 });
    deps.testClock.set(new Date('2026-03-31T21:00:00Z')); // 00:00 on 1 April in Istanbul
    expect((await b.api().get('/api/v1/entitlements').set(bearer(key())).expect(200)).body).to.include({ extraSessions: 0 });
    await tick(deps);
    const inv = await invoiceFor('2026-03');
    // The chatbot 5..31 = 27/31: 3100 x 27 / 31 = 2700; the extras not prorated: 1500.
    expect(inv.lines.map((l) => [l.kind, l.amountMinor])).to.deep.equal([['monthly', 2700], ['extra_sessions', 1500]]);
    expect(inv.totalMinor).to.equal(4200);
    // There is no way to cancel them: no such route, and they are not a subscription.
    expect((await b.api().get('/api/v1/subscriptions').set(bearer(key())).expect(200)).body.data).to.have.length(1);
  });

  it('an admin of the seller refunds an accidental term purchase: voided, audit-logged, ended at once', async () => {
    await setup('2026-03-10');
    const term = await b.createPackage(w.a.key, { name: 'Support 3-month', billing: 'term', termMonths: 3, monthlyPriceMinor: 10_000, representatives: 2 });
    const sub = (await b.start(key(), term.id).expect(201)).body;
    await deps.queue.drain();
    // 10,000 x 3 x 90% = 27,000.
    expect(sub.termPriceMinor).to.equal(27_000);
    // The buyer cannot refund; another agency cannot see it.
    await b.api().post(`/api/v1/subscriptions/${sub.id}/refund`).set(bearer(key())).send({ reason: 'mistake' }).expect(403);
    await b.api().post(`/api/v1/subscriptions/${sub.id}/refund`).set(bearer(w.b.key)).send({ reason: 'mistake' }).expect(404);
    const noReason = await b.api().post(`/api/v1/subscriptions/${sub.id}/refund`).set(bearer(w.a.key)).send({}).expect(422);
    expect(noReason.body.fields).to.have.property('reason');
    const refunded = (await b.api().post(`/api/v1/subscriptions/${sub.id}/refund`).set(bearer(w.a.key)).send({ reason: 'Bought by mistake' }).expect(200)).body;
    expect(refunded.status).to.equal('refunded');
    expect((await b.invoices(key()))[0]!.status).to.equal('void');
    expect((await b.api().get('/api/v1/entitlements').set(bearer(key())).expect(200)).body.representatives).to.equal(1);
    const audit = await deps.db.select().from(auditLog).where(eq(auditLog.action, 'subscription.refunded'));
    expect(audit).to.have.length(1);
    expect(audit[0]!.data).to.include({ reason: 'Bought by mistake', amountMinor: 27_000 });
    const again = await b.api().post(`/api/v1/subscriptions/${sub.id}/refund`).set(bearer(w.a.key)).send({ reason: 'again' }).expect(409);
    expect(again.body.error).to.equal('already_refunded');
    expect(await deps.db.select().from(auditLog).where(eq(auditLog.action, 'subscription.refunded'))).to.have.length(1);
  });

  it('the platform bills agencies with the same engine: an agency key buys a platform plan, invoiced in the platform zone', async () => {
    await setup('2026-03-10');
    const plan = await b.createPackage(w.platformKey, { name: 'Agency Pro', billing: 'monthly', monthlyPriceMinor: 31_000, currency: 'USD' });
    // The agency lists the platform's packages it can buy.
    const offered = (await b.api().get('/api/v1/packages?seller=platform').set(bearer(w.a.key)).expect(200)).body.data;
    expect(offered.map((p: { id: string }) => p.id)).to.deep.equal([plan.id]);
    // A sub-account cannot buy the platform's plan (not its seller's): not found.
    await b.start(key(), plan.id).expect(404);
    await b.start(w.a.key, plan.id).expect(201);
    moveTo(deps, '2026-04-01');
    await tick(deps);
    const list = (await b.api().get('/api/v1/invoices').set(bearer(w.a.key)).expect(200)).body.data;
    // 10..31 = 22 of 31: 31,000 x 22 / 31 = 22,000, numbered in the platform's own sequence.
    expect(list).to.have.length(1);
    expect(list[0]).to.include({ totalMinor: 22_000, currency: 'USD', seller: 'platform', number: 'INV-000001', status: 'open' });
    const issued = (await b.api().get('/api/v1/issued-invoices').set(bearer(w.platformKey)).expect(200)).body.data;
    expect(issued.map((i: { id: string }) => i.id)).to.deep.equal([list[0].id]);
    // The agency's sub-account invoices are not in it, and agency B cannot read it.
    await b.api().get(`/api/v1/invoices/${list[0].id}`).set(bearer(w.b.key)).expect(404);
    await b.api().get(`/api/v1/invoices/${list[0].id}`).set(bearer(key())).expect(404);
    const [row] = await deps.db.select().from(invoices).where(eq(invoices.id, list[0].id));
    expect(row!.sellerAgencyId).to.equal(null);
  });

  it('each seller cuts on the 1st of its own time zone, with its own numbers', async () => {
    await setup('2026-03-10');
    await b.api().patch('/api/v1/agency').set(bearer(w.b.key)).send({ timeZone: 'America/New_York' }).expect(200);
    await deps.db.update(agencies).set({ resellingModule: true }).where(eq(agencies.id, w.b.id));
    const pa = await monthly('Chatbot A', 3100);
    const pb = await b.createPackage(w.b.key, { name: 'Chatbot B', billing: 'monthly', monthlyPriceMinor: 3100 });
    await started(pa.id);
    // 09:00 UTC on 10 March is 05:00 in New York (EDT since 8 March): the 10th there too.
    await b.start(w.b.subs[0].key, pb.id).expect(201);
    // 03:00 UTC on 1 April: 06:00 in Istanbul (the 1st), 23:00 on 31 March in New York.
    deps.testClock.set(new Date('2026-04-01T03:00:00Z'));
    await tick(deps);
    expect((await b.invoices(key())).map((i) => [i.number, i.period, i.totalMinor])).to.deep.equal([['INV-000001', '2026-03', 2200]]);
    expect(await b.invoices(w.b.subs[0].key)).to.deep.equal([]);
    // 05:00 UTC: 01:00 on 1 April in New York.
    deps.testClock.set(new Date('2026-04-01T05:00:00Z'));
    await tick(deps);
    expect((await b.invoices(w.b.subs[0].key)).map((i) => [i.number, i.period, i.issueDay, i.totalMinor])).to.deep.equal([['INV-000001', '2026-03', '2026-04-01', 2200]]);
    expect(await b.invoices(key())).to.have.length(1);
  });

  it('an on-account top-up is billed in full on its month\'s invoice, next to the prorated lines', async () => {
    await setup('2026-03-10');
    const pkg = await monthly('Chatbot S', 3100);
    await started(pkg.id);
    moveTo(deps, '2026-03-31', 20); // 23:00 on the 31st in Istanbul: still March
    await deps.db.transaction((tx) => chargeTopupOnAccount(tx, { agencyId: w.a.id, subAccountId: w.a.subs[0].id, description: 'Top-up 5,000 credits', quantity: 2, unitPriceMinor: 4_990, currency: 'TRY', now: deps.clock.now() }));
    moveTo(deps, '2026-04-01');
    await tick(deps);
    const inv = await invoiceFor('2026-03');
    // 10..31 = 22 of 31: 2200; the top-up 2 x 4,990 = 9,980, not prorated.
    expect(inv.lines.map((l) => [l.kind, l.fromDay, l.amountMinor])).to.deep.equal([['monthly', '2026-03-10', 2200], ['topup', '2026-03-31', 9980]]);
    expect(inv.totalMinor).to.equal(12_180);
    // Billed once: April's invoice does not carry it again.
    moveTo(deps, '2026-05-01');
    await tick(deps);
    expect((await invoiceFor('2026-04')).lines.map((l) => l.kind)).to.deep.equal(['monthly']);
  });
});

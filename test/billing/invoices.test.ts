/**
 * Invoices: a simulated quarter through the API's test clock, the cut's idempotency (twice,
 * concurrently, killed and rerun) with gapless numbers, the prediction, payments, bad input and
 * tenant isolation. Amounts are worked out by hand in the comments.
 */
import { expect } from 'chai';
import { and, eq, sql } from 'drizzle-orm';
import { accountCharges, auditLog, billingAddresses, billingPeriods, billingSubscriptions, invoiceCounters, invoices, outboxEmails, subAccounts } from '../../db/schema';
import type { Actor } from '../../src/auth/actor';
import { runInvoiceCut } from '../../src/billing/invoice-cut';
import { markInvoicePaid } from '../../src/billing/invoices.usecases';
import { startSubscription } from '../../src/billing/subscriptions.usecases';
import type { Deps } from '../../src/deps';
import { newId } from '../../src/lib/ids';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('invoices: the quarter, the cut, prediction, payment and bad input', () => {
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
  // Each move lets the jobs it starts finish at that moment (with BullMQ on Redis they run in a
  // worker: the collections job reads the clock when it runs, so it must run before the next move).
  const clockTo = async (day: string) => {
    await b.api().post('/api/v1/test-clock').set(bearer(w.platformKey)).send({ now: `${day}T09:00:00Z` }).expect(200);
    await deps.queue.drain();
  };

  afterEach(async () => deps.close());

  it('a whole quarter with the test clock: three correct invoices and three emails with their PDF', async () => {
    await setup('2026-03-31');
    const small = await monthly('Chatbot 20k', 3000, { chatbotSessions: 20_000 });
    const large = await monthly('Chatbot 50k', 6200, { chatbotSessions: 50_000 });
    const reps = await b.createPackage(w.a.key, { name: 'Extra representative', kind: 'quantity', unit: 'representative', billing: 'monthly', monthlyPriceMinor: 1000 });
    await b.createPackage(w.a.key, { name: 'Extra 1k sessions', kind: 'extra_sessions', monthlyPriceMinor: 500, chatbotSessions: 1000 });

    await clockTo('2026-04-01');
    const chatbot = (await b.start(key(), small.id).expect(201)).body;
    await clockTo('2026-04-10');
    await b.api().post('/api/v1/extra-sessions').set(bearer(key())).send({ quantity: 2 }).expect(201);
    await clockTo('2026-05-01');
    await deps.queue.drain();
    await clockTo('2026-05-12');
    const bigger = (await b.change(key(), chatbot.id, large.id).expect(201)).body;
    await clockTo('2026-05-20');
    await b.start(key(), reps.id, { quantity: 2 }).expect(201);
    await clockTo('2026-06-01');
    await deps.queue.drain();
    await clockTo('2026-06-18');
    await b.cancel(key(), bigger.id).expect(200);
    await clockTo('2026-07-01');
    await deps.queue.drain();

    const list = (await b.invoices(key())).reverse();
    expect(list.map((i) => [i.number, i.period, i.issueDay, i.dueDay, i.status])).to.deep.equal([
      ['INV-000001', '2026-04', '2026-05-01', '2026-05-11', 'open'],
      ['INV-000002', '2026-05', '2026-06-01', '2026-06-11', 'open'],
      ['INV-000003', '2026-06', '2026-07-01', '2026-07-11', 'open'],
    ]);
    const lines = async (id: string) => (await b.invoice(key(), id)).lines.map((l) => [l.description, l.fromDay, l.throughDay, l.activeDays, l.amountMinor]);
    // April (30 days): the 20k chatbot all month = 3000; 2 blocks of extra sessions = 2 x 500, not prorated.
    expect(await lines(list[0]!.id)).to.deep.equal([
      ['Chatbot 20k', '2026-04-01', '2026-04-30', 30, 3000],
      ['Extra 1k sessions: 2,000 extra chatbot sessions (2 x 1,000)', '2026-04-10', '2026-04-10', null, 1000],
    ]);
    // May (31 days): 20k for 1..12 = 3000 x 12 / 31 = 1161.29 -> 1161; 50k for 13..31 = 6200 x 19 / 31 = 3800;
    // 2 representatives (2 x 1000) for 20..31 = 2000 x 12 / 31 = 774.19 -> 774.
    expect(await lines(list[1]!.id)).to.deep.equal([
      ['Chatbot 20k', '2026-05-01', '2026-05-12', 12, 1161],
      ['Chatbot 50k', '2026-05-13', '2026-05-31', 19, 3800],
      ['Extra representative x 2', '2026-05-20', '2026-05-31', 12, 774],
    ]);
    // June (30 days): 50k cancelled on the 18th: 6200 x 18 / 30 = 3720; representatives all month = 2000.
    expect(await lines(list[2]!.id)).to.deep.equal([
      ['Chatbot 50k', '2026-06-01', '2026-06-18', 18, 3720],
      ['Extra representative x 2', '2026-06-01', '2026-06-30', 30, 2000],
    ]);
    expect(list.map((i) => i.totalMinor)).to.deep.equal([4000, 1161 + 3800 + 774, 5720]);

    // Two invoices unpaid past their due day by July 1st: the client is also told it is suspended.
    // Payment reminders go too (docs/collections.md): the latest step due on each day the clock landed on
    // (INV-1: its due-day step caught up on 12 May, its +7 on 20 May; INV-2: its +7 on 18 June).
    const all = await deps.smtp.waitFor(7);
    const reminders = all.filter((m) => m.subject.startsWith('Overdue: invoice'));
    expect(reminders.map((m) => m.subject)).to.deep.equal([
      'Overdue: invoice INV-000001 (TRY 40.00) was due on 11 May 2026', 'Overdue: invoice INV-000001 (TRY 40.00) was due on 11 May 2026', 'Overdue: invoice INV-000002 (TRY 57.35) was due on 11 Jun 2026',
    ]);
    expect(all.filter((m) => !m.subject.startsWith('Invoice') && !reminders.includes(m)).map((m) => m.subject)).to.deep.equal([`${w.a.subs[0].name}: your account is suspended for unpaid invoices`]);
    const mails = all.filter((m) => m.subject.startsWith('Invoice'));
    expect(mails.map((m) => m.subject)).to.deep.equal([
      `Invoice INV-000001 from ${w.a.name}: TRY 40.00`,
      `Invoice INV-000002 from ${w.a.name}: TRY 57.35`,
      `Invoice INV-000003 from ${w.a.name}: TRY 57.20`,
    ]);
    for (const m of mails) {
      expect(m.to).to.deep.equal(['client@a1.test']);
      expect(m.raw).to.match(/Content-Type: application\/pdf; name=INV-00000\d\.pdf/);
    }
    const pdf = await b.api().get(`/api/v1/invoices/${list[1]!.id}/pdf`).set(bearer(key())).buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    }).expect(200);
    expect(pdf.headers['content-type']).to.equal('application/pdf');
    expect((pdf.body as Buffer).subarray(0, 5).toString()).to.equal('%PDF-');
  });

  describe('the cut is idempotent and numbers have no gaps', () => {
    const N = 25;
    async function manyAccounts(): Promise<void> {
      await setup('2026-03-10');
      const pkg = await monthly('Chatbot', 3100);
      const now = deps.clock.now();
      for (let i = 0; i < N; i++) {
        const id = newId('sub');
        await deps.db.insert(subAccounts).values({ id, agencyId: w.a.id, name: `Bulk ${i}`, billingEmail: `bulk${i}@example.test`, createdAt: now, updatedAt: now });
        const actor: Actor = { kind: 'api_key', id: 'key_test', scope: 'sub_account', agencyId: w.a.id, subAccountId: id, role: 'admin', billing: true };
        await startSubscription(deps, { actor, input: { packageId: pkg.id } });
      }
      moveTo(deps, '2026-04-01');
    }
    async function numbers(): Promise<number[]> {
      return (await deps.db.select({ n: invoices.number }).from(invoices).where(eq(invoices.sellerKey, w.a.id))).map((r) => r.n).sort((x, y) => x - y);
    }
    const oneToN = Array.from({ length: N }, (_, i) => i + 1);

    it('run twice: the second run cuts nothing', async () => {
      await manyAccounts();
      const first = await runInvoiceCut(deps, { batchSize: 7 });
      expect(first.invoices).to.equal(N);
      const second = await runInvoiceCut(deps, { batchSize: 7 });
      expect(second.invoices).to.equal(0);
      expect(await numbers()).to.deep.equal(oneToN);
      // 10..31 = 22 of 31 days of 3100 = 2200 each.
      const totals = await deps.db.select({ t: invoices.totalMinor }).from(invoices);
      expect(new Set(totals.map((r) => r.t))).to.deep.equal(new Set([2200]));
    });

    it('two runs at once: each invoice once, numbers 1..N', async () => {
      await manyAccounts();
      const runs = await Promise.all([runInvoiceCut(deps, { batchSize: 4 }), runInvoiceCut(deps, { batchSize: 4 })]);
      expect(runs[0].invoices + runs[1].invoices).to.equal(N);
      expect(await numbers()).to.deep.equal(oneToN);
    });

    it('killed after two batches and rerun: the missing invoices only, numbers 1..N', async () => {
      await manyAccounts();
      let batches = 0;
      const dying: Deps = {
        ...deps,
        db: new Proxy(deps.db, {
          get(target, prop, receiver) {
            if (prop === 'transaction') {
              return (fn: Parameters<typeof target.transaction>[0]) => {
                if (++batches > 2) throw new Error('killed');
                return target.transaction(fn);
              };
            }
            return Reflect.get(target, prop, receiver) as unknown;
          },
        }),
      };
      let died: unknown;
      await runInvoiceCut(dying, { batchSize: 4 }).catch((err: unknown) => (died = err));
      expect(String(died)).to.contain('killed');
      expect(await numbers()).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
      const [counter] = await deps.db.select().from(invoiceCounters).where(eq(invoiceCounters.sellerKey, w.a.id));
      expect(counter!.lastCutPeriod).to.equal(null);
      const rerun = await runInvoiceCut(deps, { batchSize: 4 });
      expect(rerun.invoices).to.equal(N - 8);
      expect(await numbers()).to.deep.equal(oneToN);
      const [done] = await deps.db.select().from(invoiceCounters).where(eq(invoiceCounters.sellerKey, w.a.id));
      expect(done).to.include({ lastCutPeriod: '2026-03', nextNumber: N + 1 });
    });

    it('the tick on the 1st cuts, delivers and emails each invoice once, however often it runs', async () => {
      await manyAccounts();
      await tick(deps);
      await tick(deps);
      deps.testClock.advance(3 * 60_000);
      await tick(deps);
      const mails = await deps.db.select({ key: outboxEmails.idempotencyKey }).from(outboxEmails).where(sql`${outboxEmails.idempotencyKey} like 'invoice:%'`);
      expect(mails).to.have.length(N);
      expect((await deps.smtp.waitFor(N)).length).to.equal(N);
      const statuses = await deps.db.select({ s: invoices.status }).from(invoices);
      expect(new Set(statuses.map((r) => r.s))).to.deep.equal(new Set(['open']));
    });
  });

  it('prediction: amount so far (days elapsed including today), end-of-month estimate, each change from its day, a day-by-day chart', async () => {
    await setup('2026-03-01');
    const small = await monthly('Chatbot 20k', 3100);
    const large = await monthly('Chatbot 50k', 6200);
    const sub = (await b.start(key(), small.id).expect(201)).body;
    moveTo(deps, '2026-03-10');
    await b.change(key(), sub.id, large.id).expect(201);
    const p = await b.upcoming(key());
    // Today the 10th: 20k 1..10 = 3100 x 10 / 31 = 1000 so far; 50k from the 11th: nothing yet.
    // At month end: 1000 + 50k 11..31 = 6200 x 21 / 31 = 4200 -> 5200.
    expect(p).to.include({ period: '2026-03', today: '2026-03-10', daysElapsed: 10, daysInMonth: 31, cutOffDay: '2026-04-01', soFarMinor: 1000, estimateMinor: 5200, currency: 'TRY' });
    expect(p.lines.map((l: Record<string, unknown>) => [l.description, l.fromDay, l.throughDay, l.daysSoFar, l.soFarMinor, l.estimateMinor])).to.deep.equal([
      ['Chatbot 20k', '2026-03-01', '2026-03-10', 10, 1000, 1000],
      ['Chatbot 50k', '2026-03-11', '2026-03-31', 0, 0, 4200],
    ]);
    expect(p.lines[1].note).to.equal('changed from Chatbot 20k, from 2026-03-11');
    expect(p.chart).to.have.length(31);
    expect(p.chart[9]).to.deep.equal({ day: '2026-03-10', amountMinor: 1000, estimated: false });
    expect(p.chart[10].estimated).to.equal(true);
    expect(p.chart[30].amountMinor).to.equal(5200);
    moveTo(deps, '2026-03-20');
    // 1000 + 50k 11..20 = 6200 x 10 / 31 = 2000 -> 3000 so far; the estimate has not moved.
    expect(await b.upcoming(key())).to.include({ soFarMinor: 3000, estimateMinor: 5200 });
    // What the cut bills on the 1st is the estimate.
    moveTo(deps, '2026-04-01');
    await tick(deps);
    expect((await b.invoices(key()))[0]!.totalMinor).to.equal(5200);
  });

  it('payment: the seller records a bank transfer once; paying a paid invoice is refused and changes nothing', async () => {
    await setup('2026-03-10');
    const pkg = await monthly('Chatbot', 3100);
    await b.start(key(), pkg.id).expect(201);
    moveTo(deps, '2026-04-01');
    await tick(deps);
    const [inv] = await b.invoices(key());
    // The buyer cannot mark its own invoice paid; another agency cannot see it.
    await b.api().post(`/api/v1/invoices/${inv!.id}/mark-paid`).set(bearer(key())).expect(404);
    await b.api().post(`/api/v1/invoices/${inv!.id}/mark-paid`).set(bearer(w.b.key)).expect(404);
    const paid = (await b.api().post(`/api/v1/invoices/${inv!.id}/mark-paid`).set(bearer(w.a.key)).expect(200)).body;
    expect(paid.status).to.equal('paid');
    const again = await b.api().post(`/api/v1/invoices/${inv!.id}/mark-paid`).set(bearer(w.a.key)).expect(409);
    expect(again.body.error).to.equal('invoice_already_paid');
    // The gateway layer's call is refused the same way.
    let err: unknown;
    await markInvoicePaid(deps, { invoiceId: inv!.id, paymentId: 'pay_x', by: { kind: 'system', id: 'gateway', scope: 'platform', agencyId: null, subAccountId: null, role: 'owner', billing: true } }).catch((e: unknown) => (err = e));
    expect((err as { code: string }).code).to.equal('invoice_already_paid');
    const [row] = await deps.db.select().from(invoices).where(eq(invoices.id, inv!.id));
    expect(row!.paymentId).to.equal(null);
    expect(await deps.db.select().from(auditLog).where(eq(auditLog.action, 'invoice.paid'))).to.have.length(1);
  });

  describe('bad input: a clear message and nothing changed', () => {
    async function snapshot() {
      const count = async (t: typeof accountCharges | typeof billingAddresses) => (await deps.db.select({ n: sql<number>`count(*)::int` }).from(t))[0]!.n;
      const periods = await deps.db.select().from(billingPeriods).orderBy(billingPeriods.id);
      const subs = await deps.db.select({ id: billingSubscriptions.id, status: billingSubscriptions.status }).from(billingSubscriptions).orderBy(billingSubscriptions.id);
      return JSON.stringify({ subs, periods, charges: await count(accountCharges), addresses: await count(billingAddresses) });
    }

    it('changing to the same package, cancelling twice, cancelling a term, extras without a chatbot package, an address without required fields', async () => {
      await setup('2026-03-10');
      const support = await monthly('Support 3', 3100, { representatives: 3 });
      const term = await b.createPackage(w.a.key, { name: 'Support yearly', billing: 'term', termMonths: 12, monthlyPriceMinor: 1000 });
      await b.createPackage(w.a.key, { name: 'Extra 1k', kind: 'extra_sessions', monthlyPriceMinor: 500, chatbotSessions: 1000 });
      const hidden = await monthly('Unpublished', 3100, { published: false });
      const sub = (await b.start(key(), support.id).expect(201)).body;
      const t = (await b.start(key(), term.id).expect(201)).body;
      await b.cancel(key(), sub.id).expect(200);
      const before = await snapshot();

      const cases: [string, () => Promise<{ status: number; body: { error: string; message: string; fields?: Record<string, string> } }>, number, string][] = [
        ['change to the same package', () => b.change(key(), sub.id, support.id), 409, 'not_active'],
        ['cancel twice', () => b.cancel(key(), sub.id), 409, 'already_cancelled'],
        ['cancel a term', () => b.cancel(key(), t.id), 409, 'term_not_cancellable'],
        ['extras without a chatbot package', () => b.api().post('/api/v1/extra-sessions').set(bearer(key())).send({ quantity: 1 }), 409, 'chatbot_package_required'],
        ['extras with a bad quantity', () => b.api().post('/api/v1/extra-sessions').set(bearer(key())).send({ quantity: 0 }), 422, 'validation_failed'],
        ['an address without required fields', () => b.api().post('/api/v1/billing-addresses').set(bearer(key())).send({ line2: 'Floor 3' }), 422, 'validation_failed'],
        ['an unknown package', () => b.start(key(), 'bpk_nope'), 404, 'not_found'],
        ['the same package twice', () => b.start(key(), term.id), 409, 'already_subscribed'],
        ['another agency\'s subscription', () => b.cancel(w.b.subs[0].key, sub.id), 404, 'not_found'],
        ['an unpublished package', () => b.start(key(), hidden.id), 404, 'not_found'],
        ['an agency buying its own package', () => b.start(w.a.key, support.id), 404, 'not_found'],
        ['a quantity on a package that has none', () => b.start(w.a.subs[1].key, support.id, { quantity: 3 }), 422, 'validation_failed'],
      ];
      for (const [name, call, status, code] of cases) {
        const res = await call();
        expect(res.status, name).to.equal(status);
        expect(res.body.error, name).to.equal(code);
        expect(res.body.message, name).to.be.a('string').and.not.equal('');
      }
      const address = await b.api().post('/api/v1/billing-addresses').set(bearer(key())).send({ line2: 'Floor 3' });
      expect(Object.keys(address.body.fields).sort()).to.deep.equal(['city', 'country', 'line1', 'name']);
      expect(await snapshot()).to.equal(before);

      // Reactivated, changing to the same package is refused as such.
      await b.reactivate(key(), sub.id).expect(200);
      const mid = await snapshot();
      const same = await b.change(key(), sub.id, support.id).expect(409);
      expect(same.body).to.include({ error: 'same_package' });
      expect(same.body.message).to.contain('Support 3');
      expect(await snapshot()).to.equal(mid);
    });

    it('a past invoice of another account is not found, by API and PDF', async () => {
      await setup('2026-03-10');
      const pkg = await monthly('Chatbot', 3100);
      await b.start(key(), pkg.id).expect(201);
      moveTo(deps, '2026-04-01');
      await tick(deps);
      const [inv] = await b.invoices(key());
      for (const other of [w.a.subs[1].key, w.b.key, w.b.subs[0].key]) {
        const res = await b.api().get(`/api/v1/invoices/${inv!.id}`).set(bearer(other)).expect(404);
        expect(res.body.error).to.equal('not_found');
        await b.api().get(`/api/v1/invoices/${inv!.id}/pdf`).set(bearer(other)).expect(404);
      }
      expect(await b.invoices(w.a.subs[1].key)).to.deep.equal([]);
      // The seller (agency A) can read it; the platform cannot (not its sale).
      await b.api().get(`/api/v1/invoices/${inv!.id}`).set(bearer(w.a.key)).expect(200);
      await b.api().get(`/api/v1/invoices/${inv!.id}`).set(bearer(w.platformKey)).expect(404);
      const [row] = await deps.db.select({ n: sql<number>`count(*)::int` }).from(invoices).where(and(eq(invoices.buyerId, w.a.subs[0].id)));
      expect(row!.n).to.equal(1);
    });
  });
});

/**
 * Payment reminders (issue 18, collections): a seller's schedule run through the test clock. They
 * go on the schedule's days (in the seller's calendar), once each however often the job runs, never
 * after the invoice is paid, in the buyer's language, with a link to the billing page that pays
 * everything overdue at once, and say when the unchanged suspension rule will suspend the account.
 */
import { expect } from 'chai';
import { and, eq, like } from 'drizzle-orm';
import type { Express } from 'express';
import request from 'supertest';
import { agencies, invoiceReminders, notifications, outboxEmails, subAccounts } from '../../db/schema';
import { createProcessors } from '../../jobs/processors';
import { recordBankTransfer } from '../../src/billing/invoices.usecases';
import { forecastSuspension } from '../../src/collections/suspension-forecast';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, csrfFrom } from '../support/http';
import { createWorld, PASSWORD, type World } from '../support/world';

const days = (from: string, to: string) => {
  const out: string[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); d <= new Date(`${to}T00:00:00Z`); d = new Date(d.getTime() + 86_400_000)) out.push(d.toISOString().slice(0, 10));
  return out;
};

describe('collections: payment reminders on the seller\'s schedule', function () {
  this.timeout(180_000);
  let deps: TestDeps;
  let w: World;
  let app: Express;
  let b: ReturnType<typeof billingApi>;
  const sub = () => w.a.subs[0];
  const reminderMails = async () => (await deps.db.select().from(outboxEmails).where(like(outboxEmails.idempotencyKey, 'invoice-reminder:%'))).sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
  /** Moves the clock day by day (noon in Istanbul) through the scheduler's tick; returns the days a reminder went and its email. */
  const runDays = async (from: string, to: string) => {
    const seen = new Set((await reminderMails()).map((m) => m.id));
    const out: { day: string; subject: string; text: string; to: string[] }[] = [];
    for (const day of days(from, to)) {
      moveTo(deps, day);
      await tick(deps);
      for (const m of await reminderMails()) if (!seen.has(m.id)) {
        seen.add(m.id);
        out.push({ day, subject: m.subject, text: m.text, to: m.to });
      }
    }
    return out;
  };

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-03-10T09:00:00Z') });
    w = await createWorld(deps);
    app = createApp(deps);
    b = billingApi(app);
    await deps.db.update(subAccounts).set({ billingEmail: 'client@a1.test' }).where(eq(subAccounts.id, sub().id));
    // March 10..31 (22/31 of 3100 = 2200) is invoiced on 1 April, due 11 April (10 days).
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 3100, chatbotSessions: 20_000 });
    await b.start(sub().key, pkg.id).expect(201);
  });
  afterEach(async () => deps.close());

  it('sends the default schedule (-3, 0, +3, +7) on its days, once each, and nothing after the invoice is paid', async () => {
    const april = await runDays('2026-04-01', '2026-04-14');
    const [inv] = await b.invoices(sub().key);
    expect(inv).to.include({ dueDay: '2026-04-11', status: 'open', totalMinor: 2200 });
    expect(april.map((m) => m.day)).to.deep.equal(['2026-04-08', '2026-04-11', '2026-04-14']);
    expect(april.every((m) => m.to.includes('client@a1.test'))).to.equal(true);
    expect(april.map((m) => m.subject)).to.deep.equal([
      'Reminder: invoice INV-000001 (TRY 22.00) is due on 11 Apr 2026',
      'Invoice INV-000001 (TRY 22.00) is due today',
      'Overdue: invoice INV-000001 (TRY 22.00) was due on 11 Apr 2026',
    ]);
    // Signed by the agency (white label), never by the platform; also in the client's notification centre.
    const rows = await reminderMails();
    expect(rows.map((r) => r.fromName)).to.deep.equal([w.a.name, w.a.name, w.a.name]);
    expect(rows.every((r) => !/Kontor/.test(r.text + r.subject))).to.equal(true);
    expect(await deps.db.select().from(notifications).where(and(eq(notifications.kind, 'invoice_reminder'), eq(notifications.subAccountId, sub().id)))).to.have.length(3);
    // The job run again the same day (a retry, a second scheduler) and resumed: nothing twice.
    const run = createProcessors(deps)['collections.run']!;
    expect(await run({})).to.deep.include({ reminders: { sent: 0 } });
    await tick(deps);
    expect(await reminderMails()).to.have.length(3);
    expect(await deps.db.select().from(invoiceReminders).where(eq(invoiceReminders.invoiceId, inv!.id))).to.have.length(3);

    // Paid by bank transfer on the 15th: the +7 reminder (18 April) never goes.
    moveTo(deps, '2026-04-15');
    const seller = { kind: 'api_key' as const, id: w.a.keyId, scope: 'agency' as const, agencyId: w.a.id, subAccountId: null, role: 'owner' as const, billing: true };
    await recordBankTransfer(deps, { actor: seller, invoiceId: inv!.id });
    expect(await runDays('2026-04-15', '2026-04-25')).to.deep.equal([]);
  });

  it('two runs at once on a reminder day (two workers, a stalled job run again) send it once', async () => {
    await runDays('2026-04-01', '2026-04-07');
    moveTo(deps, '2026-04-08');
    const run = createProcessors(deps)['collections.run']!;
    await Promise.allSettled([run({}), run({}), run({})]);
    await deps.queue.drain();
    const rows = await reminderMails();
    expect(rows.map((r) => r.idempotencyKey)).to.have.length(1);
    expect(await deps.db.select().from(invoiceReminders)).to.have.length(1);
  });

  it('says when suspension will happen under the unchanged rule: a second overdue invoice, then the day, then suspended', async () => {
    await runDays('2026-04-01', '2026-05-12');
    const mails = await reminderMails();
    const text = (day: string, n: string) => mails.find((m) => m.createdAt.toISOString().startsWith(day) && m.subject.includes(n))!.text;
    // 14 April, INV-1 three days overdue and alone: no day yet, a second overdue invoice would suspend.
    const first = text('2026-04-14', 'INV-000001');
    expect(first).to.contain('is 3 days overdue').and.contain('Amount: TRY 22.00').and.contain('Due date: 11 Apr 2026');
    expect(first).to.contain('if this one is still unpaid when another invoice becomes overdue, every service stops');
    expect(first).to.contain(`Pay everything overdue at once on your billing page:\n${deps.config.publicUrl}/portal/billing`);
    expect(first).to.contain('Overdue now: 1 invoice, TRY 22.00 in total.');
    // 8 May, INV-2 (April, 3100) due on the 11th while INV-1 is overdue: suspended on 12 May.
    const second = text('2026-05-08', 'INV-000002');
    expect(second).to.contain('your account will be suspended on 12 May 2026, when 2 invoices will be overdue');
    // 14 May: both overdue, the account is suspended (the rule itself did it on the 12th).
    const [row] = await deps.db.select().from(subAccounts).where(eq(subAccounts.id, sub().id));
    expect(row!.status).to.equal('suspended');
    await runDays('2026-05-13', '2026-05-14');
    const third = (await reminderMails()).find((m) => m.subject.startsWith('Overdue: invoice INV-000002'))!.text;
    expect(third).to.contain('Your account is suspended because 2 or more invoices are overdue');
    expect(third).to.contain('Overdue now: 2 invoices, TRY 53.00 in total.');
  });

  it('writes in the buyer\'s language (Turkish) and follows a schedule the seller changed', async () => {
    await deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, w.a.id));
    await request(app).put('/api/v1/collection-settings').set(bearer(w.a.key)).send({ reminderDays: [1, -1] }).expect(422);
    const saved = await request(app).put('/api/v1/collection-settings').set(bearer(w.a.key)).send({ reminderDays: [2, -1], retryDays: [] }).expect(200);
    expect(saved.body).to.deep.equal({ reminderDays: [-1, 2], retryDays: [], custom: true, cardRetriesPossible: false });
    const sent = await runDays('2026-04-01', '2026-04-20');
    expect(sent.map((m) => m.day)).to.deep.equal(['2026-04-10', '2026-04-13']);
    expect(sent[0]!.subject).to.equal('Hatırlatma: INV-000001 numaralı faturanızın (TRY 22,00) son ödeme tarihi 11 Nis 2026');
    expect(sent[1]!.text).to.contain('vadesi 2 gün geçti').and.contain('Tutar: TRY 22,00');
    expect(sent[1]!.text).to.contain('başka bir faturanın da vadesi geçerse');
  });

  it('links to the billing page that pays all overdue; a buyer who clicks it signed out signs in and lands there', async () => {
    await runDays('2026-04-01', '2026-04-14');
    const link = /(http\S+\/portal\/billing)\b/.exec((await reminderMails()).at(-1)!.text)![1]!;
    const path = new URL(link).pathname;
    const agent = request.agent(app);
    const first = await agent.get(path).expect(302);
    expect(first.headers.location).to.equal(`/login?next=${encodeURIComponent(path)}`);
    const login = await agent.get(first.headers.location as string).expect(200);
    const signedIn = await agent.post('/login').type('form').send({ _csrf: csrfFrom(login.text), email: sub().owner.email, password: PASSWORD, next: path }).expect(302);
    expect(signedIn.headers.location).to.equal(path);
    const page = (await agent.get(path).expect(200)).text;
    expect(page).to.contain('data-testid="pay-all-overdue"').and.contain('TRY 22.00');
  });

  it('a reminder step on or before the issue day is not sent (the invoice email was)', async () => {
    // Due 2 days after issue: -3 falls before the issue day; -1 is the day after it.
    await deps.db.update(agencies).set({ invoiceDueDays: 2 }).where(eq(agencies.id, w.a.id));
    await request(app).put('/api/v1/collection-settings').set(bearer(w.a.key)).send({ reminderDays: [-3, -1], retryDays: [] }).expect(200);
    const sent = await runDays('2026-04-01', '2026-04-05');
    expect(sent.map((m) => m.day)).to.deep.equal(['2026-04-02']);
    const rows = await deps.db.select().from(invoiceReminders).where(and(eq(invoiceReminders.agencyId, w.a.id)));
    expect(rows.map((r) => r.offsetDays)).to.deep.equal([-1]);
  });
});

describe('collections: when the unchanged rule suspends (forecast)', () => {
  it('is the day the second unpaid invoice becomes overdue, or says a second invoice is needed', () => {
    expect(forecastSuspension({ unpaidDueDays: ['2026-04-11'], today: '2026-04-14', suspendedForInvoices: false })).to.deep.equal({ kind: 'another_invoice' });
    expect(forecastSuspension({ unpaidDueDays: ['2026-05-11', '2026-04-11'], today: '2026-05-08', suspendedForInvoices: false })).to.deep.equal({ kind: 'on', day: '2026-05-12' });
    expect(forecastSuspension({ unpaidDueDays: ['2026-05-11', '2026-04-11', '2026-06-11'], today: '2026-05-12', suspendedForInvoices: false })).to.deep.equal({ kind: 'suspended' });
    expect(forecastSuspension({ unpaidDueDays: [], today: '2026-05-12', suspendedForInvoices: true })).to.deep.equal({ kind: 'suspended' });
  });
});

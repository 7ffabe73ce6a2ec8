/**
 * Credit notes and immutable invoices (DESIGN section 10, docs/credit-notes.md): a note reversing
 * part of a taxed invoice and then the rest, the cap per line (in the code and in the database),
 * two notes at once, gapless numbers per seller, the database refusing edits made with raw SQL,
 * the term refund's note, and bad input that writes nothing. Amounts are worked out by hand.
 *
 * The taxed invoices are built here row by row (draft, lines, then issued), the way the cut and
 * the term purchase write theirs: tax is what src/tax/tax.ts gives, half away from zero per line.
 */
import { expect } from 'chai';
import { eq, sql } from 'drizzle-orm';
import { auditLog, creditNoteCounters, creditNoteLines, creditNotes, invoiceLines, invoices, outboxEmails, payments, subAccounts } from '../../db/schema';
import { allocateInvoiceNumbers } from '../../src/billing/invoice-numbers';
import { newId } from '../../src/lib/ids';
import { paymentRow } from '../support/payment-row';
import { createApp } from '../../src/web/app';
import { billingApi } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { createWorld, type World } from '../support/world';

interface TestLine { description: string; quantity?: number; amountMinor: number; taxRateBp: number; taxMinor: number }

describe('credit notes: reversing issued invoices, which never change', () => {
  let deps: TestDeps;
  let w: World;
  let b: ReturnType<typeof billingApi>;
  const client = () => w.a.subs[0];

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-05-04T09:00:00Z') });
    w = await createWorld(deps);
    b = billingApi(createApp(deps));
    await deps.db.update(subAccounts).set({ billingEmail: 'client@a1.test' }).where(eq(subAccounts.id, client().id));
  });
  afterEach(async () => deps.close());

  /** An invoice of agency A to its first client, issued (open or paid) with these lines. */
  async function issued(lines: TestLine[], status: 'open' | 'paid' = 'paid', sub = client()) {
    const id = newId('inv');
    const net = lines.reduce((s, l) => s + l.amountMinor, 0);
    const tax = lines.reduce((s, l) => s + l.taxMinor, 0);
    const lineIds: string[] = [];
    await deps.db.transaction(async (tx) => {
      const number = await allocateInvoiceNumbers(tx, w.a.id, 1);
      await tx.insert(invoices).values({
        id, agencyId: w.a.id, subAccountId: sub.id, buyerId: sub.id, sellerAgencyId: w.a.id, sellerKey: w.a.id, number, kind: 'monthly', period: `2026-${String(number).padStart(2, '0')}`,
        periodStart: '2026-04-01', periodEnd: '2026-04-30', issueDay: '2026-05-01', dueDay: '2026-05-11', currency: 'TRY', totalMinor: net + tax, taxMinor: tax, priceMode: 'exclusive', status: 'draft',
      });
      for (const [i, l] of lines.entries()) {
        const lineId = newId('inl');
        lineIds.push(lineId);
        await tx.insert(invoiceLines).values({ id: lineId, invoiceId: id, agencyId: w.a.id, position: i + 1, kind: 'monthly', description: l.description, quantity: l.quantity ?? 1, unitPriceMinor: l.amountMinor, amountMinor: l.amountMinor, taxRateBp: l.taxRateBp, taxMinor: l.taxMinor });
      }
    });
    await deps.db.update(invoices).set({ status, ...(status === 'paid' ? { paidAt: deps.clock.now() } : {}) }).where(eq(invoices.id, id));
    return { id, lineIds };
  }
  // Exclusive prices: 10,000.00 at 20% -> 2,000.00; 3 seats for 4,999 at 20% -> 999.8 -> 1,000; 999 at 10% -> 99.9 -> 100.
  // Net 15,998, tax 3,100, total 19,098.
  const taxed: TestLine[] = [
    { description: 'Chatbot 50k', amountMinor: 10_000, taxRateBp: 2000, taxMinor: 2000 },
    { description: 'Extra representative', quantity: 3, amountMinor: 4999, taxRateBp: 2000, taxMinor: 1000 },
    { description: 'Onboarding', amountMinor: 999, taxRateBp: 1000, taxMinor: 100 },
  ];
  const post = (invoiceId: string, body: unknown, key = w.a.key) => b.api().post(`/api/v1/invoices/${invoiceId}/credit-notes`).set(bearer(key)).send(body as object);
  const count = async () => Number((await deps.db.select({ n: sql<number>`count(*)` }).from(creditNotes))[0]!.n);

  it('reverses part of a taxed invoice (tax by the line\'s rate on the reversed net), then the rest exactly; the buyer gets each by email with its PDF', async () => {
    const inv = await issued(taxed);
    // 2,527 of the 20% line: 505.4 -> 505. 335 of the 10% line: 33.5 -> 34 (half away from zero).
    const first = (await post(inv.id, { reason: 'Service outage 3-5 April', lines: [{ invoiceLineId: inv.lineIds[0], amountMinor: 2527 }, { invoiceLineId: inv.lineIds[2], amountMinor: 335 }] }).expect(201)).body;
    expect(first).to.include({ number: 'CN-000001', totalMinor: 3401, taxMinor: 539, netMinor: 2862, invoiceNumber: 'INV-000001', reason: 'Service outage 3-5 April' });
    expect(first.lines.map((l: { amountMinor: number; taxMinor: number; taxRateBp: number }) => [l.amountMinor, l.taxRateBp, l.taxMinor])).to.deep.equal([[2527, 2000, 505], [335, 1000, 34]]);
    expect((await deps.db.select().from(invoices).where(eq(invoices.id, inv.id)))[0]!.status).to.equal('paid');

    // The rest, lines without amounts: what is left of each line, its remaining tax exactly.
    // 7,473 + 1,495; 4,999 + 1,000; 664 + 66 = 15,697 (tax 2,561). With the first: 19,098 and 3,100, the whole invoice.
    const rest = (await post(inv.id, { reason: 'Contract ended', lines: inv.lineIds.map((invoiceLineId) => ({ invoiceLineId })) }).expect(201)).body;
    expect(rest).to.include({ number: 'CN-000002', totalMinor: 15_697, taxMinor: 2561 });
    expect(rest.lines.map((l: { amountMinor: number; taxMinor: number; quantity: number }) => [l.amountMinor, l.taxMinor, l.quantity])).to.deep.equal([[7473, 1495, 1], [4999, 1000, 3], [664, 66, 1]]);
    expect((await deps.db.select().from(invoices).where(eq(invoices.id, inv.id)))[0]!.status).to.equal('refunded');

    // Nothing is left: a third note is refused and nothing is written.
    const third = await post(inv.id, { reason: 'Again', lines: [{ invoiceLineId: inv.lineIds[0] }] }).expect(409);
    expect(third.body.error).to.equal('invoice_not_creditable');
    expect(await count()).to.equal(2);

    const mails = await deps.db.select().from(outboxEmails).where(sql`${outboxEmails.idempotencyKey} like 'credit-note:%'`).orderBy(outboxEmails.subject);
    expect(mails.map((m) => m.to)).to.deep.equal([['client@a1.test'], ['client@a1.test']]);
    expect(mails[0]!.subject).to.contain('CN-000001').and.contain('INV-000001');
    expect(mails[0]!.text).to.contain('Service outage 3-5 April');
    const attachment = (mails[0]!.attachments as { filename: string; content: string }[])[0]!;
    expect(attachment.filename).to.equal('CN-000001.pdf');
    expect(Buffer.from(attachment.content, 'base64').subarray(0, 5).toString()).to.equal('%PDF-');

    // The buyer reads them (list, one, PDF); the other agency cannot.
    const mine = (await b.api().get('/api/v1/credit-notes').set(bearer(client().key)).expect(200)).body.data;
    expect(mine.map((c: { number: string }) => c.number)).to.deep.equal(['CN-000002', 'CN-000001']);
    await b.api().get(`/api/v1/credit-notes/${first.id}`).set(bearer(client().key)).expect(200);
    const pdf = await b.api().get(`/api/v1/credit-notes/${first.id}/pdf`).set(bearer(client().key)).expect(200);
    expect(pdf.headers['content-type']).to.contain('application/pdf');
    await b.api().get(`/api/v1/credit-notes/${first.id}`).set(bearer(w.b.key)).expect(404);
    await b.api().get(`/api/v1/credit-notes/${first.id}`).set(bearer(w.a.subs[1].key)).expect(404);
    const issuedList = (await b.api().get('/api/v1/issued-credit-notes').set(bearer(w.a.key)).expect(200)).body.data;
    expect(issuedList).to.have.length(2);
    expect((await b.api().get('/api/v1/issued-credit-notes').set(bearer(w.b.key)).expect(200)).body.data).to.have.length(0);
  });

  it('an unpaid invoice is credited whole and becomes void; crediting part of it is refused', async () => {
    const inv = await issued(taxed, 'open');
    const part = await post(inv.id, { reason: 'Price error', lines: [{ invoiceLineId: inv.lineIds[0], amountMinor: 100 }] }).expect(409);
    expect(part.body.error).to.equal('partial_credit_unpaid');
    expect(await count()).to.equal(0);
    const whole = (await post(inv.id, { reason: 'Billed the wrong client', lines: inv.lineIds.map((invoiceLineId) => ({ invoiceLineId })) }).expect(201)).body;
    expect(whole).to.include({ totalMinor: 19_098, taxMinor: 3100 });
    expect((await deps.db.select().from(invoices).where(eq(invoices.id, inv.id)))[0]!.status).to.equal('void');
  });

  it('bad input is a clear error and writes nothing: beyond what is left, an unknown line, an empty reason, a buyer or another seller', async () => {
    const inv = await issued(taxed);
    const other = await issued([{ description: 'Other', amountMinor: 500, taxRateBp: 2000, taxMinor: 100 }]);
    const beyond = await post(inv.id, { reason: 'Too much', lines: [{ invoiceLineId: inv.lineIds[1], amountMinor: 5000 }] }).expect(422);
    expect(beyond.body.fields['lines.0.amountMinor']).to.contain('Extra representative').and.contain('49.99');
    const unknown = await post(inv.id, { reason: 'Wrong line', lines: [{ invoiceLineId: other.lineIds[0] }] }).expect(422);
    expect(unknown.body.fields['lines.0.invoiceLineId']).to.contain('INV-000001');
    const noReason = await post(inv.id, { reason: '  ', lines: [{ invoiceLineId: inv.lineIds[0] }] }).expect(422);
    expect(noReason.body.fields.reason).to.match(/why/i);
    const noLines = await post(inv.id, { reason: 'Nothing chosen', lines: [] }).expect(422);
    expect(noLines.body.fields).to.have.property('lines');
    const fraction = await post(inv.id, { reason: 'Half a kuruş', lines: [{ invoiceLineId: inv.lineIds[0], amountMinor: 10.5 }] }).expect(422);
    expect(fraction.body.fields).to.have.property('lines');
    await post(inv.id, { reason: 'I want my money', lines: [{ invoiceLineId: inv.lineIds[0] }] }, client().key).expect(403);
    await post(inv.id, { reason: 'Not mine', lines: [{ invoiceLineId: inv.lineIds[0] }] }, w.b.key).expect(404);
    expect(await count()).to.equal(0);
    expect(await deps.db.select().from(creditNoteLines)).to.have.length(0);
    expect(await deps.db.select().from(creditNoteCounters)).to.have.length(0);
    expect(await deps.db.select().from(outboxEmails).where(sql`${outboxEmails.idempotencyKey} like 'credit-note:%'`)).to.have.length(0);
    expect(await deps.db.select().from(auditLog).where(eq(auditLog.action, 'credit_note.issued'))).to.have.length(0);
  });

  it('two notes at once on the same line never credit more than it: one is issued, the other refused', async () => {
    const inv = await issued(taxed);
    const body = (reason: string) => ({ reason, lines: [{ invoiceLineId: inv.lineIds[0], amountMinor: 6000 }] });
    const [x, y] = await Promise.all([post(inv.id, body('First desk')), post(inv.id, body('Second desk'))]);
    expect([x.status, y.status].sort()).to.deep.equal([201, 422]);
    const [row] = await deps.db.select({ amount: sql<string>`sum(${creditNoteLines.amountMinor})` }).from(creditNoteLines);
    expect(Number(row!.amount)).to.equal(6000);
    // The same key twice is one note (the API's Idempotency-Key).
    const again = () => post(inv.id, { reason: 'Retry', lines: [{ invoiceLineId: inv.lineIds[2] }] }).set('Idempotency-Key', 'cn-retry-1');
    const one = await again().expect(201);
    const two = await again().expect(201);
    expect(two.headers['idempotent-replayed']).to.equal('true');
    expect(two.body.id).to.equal(one.body.id);
    expect(await count()).to.equal(2);
  });

  it('numbers are gapless per seller, apart from invoice numbers; a refused note uses no number', async () => {
    const inv1 = await issued(taxed);
    const inv2 = await issued(taxed, 'paid', w.a.subs[1]);
    await post(inv1.id, { reason: 'One', lines: [{ invoiceLineId: inv1.lineIds[0], amountMinor: 100 }] }).expect(201);
    await post(inv1.id, { reason: 'Too much', lines: [{ invoiceLineId: inv1.lineIds[0], amountMinor: 99_999 }] }).expect(422);
    await post(inv2.id, { reason: 'Two', lines: [{ invoiceLineId: inv2.lineIds[1] }] }).expect(201);
    await post(inv1.id, { reason: 'Three', lines: [{ invoiceLineId: inv1.lineIds[2] }] }).expect(201);
    const rows = await deps.db.select({ number: creditNotes.number, sellerKey: creditNotes.sellerKey }).from(creditNotes).orderBy(creditNotes.number);
    expect(rows).to.deep.equal([1, 2, 3].map((number) => ({ number, sellerKey: w.a.id })));
    // Agency B's first credit note is its own CN-000001.
    const bSub = w.b.subs[0];
    const idB = newId('inv');
    const lineB = newId('inl');
    await deps.db.transaction(async (tx) => {
      const number = await allocateInvoiceNumbers(tx, w.b.id, 1);
      await tx.insert(invoices).values({ id: idB, agencyId: w.b.id, subAccountId: bSub.id, buyerId: bSub.id, sellerAgencyId: w.b.id, sellerKey: w.b.id, number, kind: 'monthly', period: '2026-04', periodStart: '2026-04-01', periodEnd: '2026-04-30', issueDay: '2026-05-01', dueDay: '2026-05-11', currency: 'TRY', totalMinor: 1200, taxMinor: 200, status: 'draft' });
      await tx.insert(invoiceLines).values({ id: lineB, invoiceId: idB, agencyId: w.b.id, position: 1, kind: 'monthly', description: 'Plan', unitPriceMinor: 1000, amountMinor: 1000, taxRateBp: 2000, taxMinor: 200 });
    });
    await deps.db.update(invoices).set({ status: 'paid' }).where(eq(invoices.id, idB));
    expect((await post(idB, { reason: 'Goodwill', lines: [{ invoiceLineId: lineB }] }, w.b.key).expect(201)).body.number).to.equal('CN-000001');
  });

  it('the database refuses edits of an issued invoice, its lines and credit notes made with raw SQL; status and payment still move', async () => {
    const inv = await issued(taxed, 'open');
    const refused = async (statement: ReturnType<typeof sql>, words: RegExp) => {
      let error: unknown;
      try {
        await deps.db.execute(statement);
      } catch (err) {
        error = err;
      }
      expect(error, 'the database should refuse it').to.be.instanceOf(Error);
      expect(String((error as Error & { cause?: Error }).cause?.message ?? (error as Error).message)).to.match(words);
    };
    await refused(sql`update invoices set total_minor = 1 where id = ${inv.id}`, /issued/);
    await refused(sql`update invoices set tax_minor = 0, total_minor = 15998 where id = ${inv.id}`, /issued/);
    await refused(sql`update invoices set due_day = '2026-06-30' where id = ${inv.id}`, /issued/);
    await refused(sql`update invoices set number = 99 where id = ${inv.id}`, /issued/);
    await refused(sql`update invoices set billing_address = '{"name":"Someone else"}' where id = ${inv.id}`, /issued/);
    await refused(sql`update invoices set status = 'draft' where id = ${inv.id}`, /draft/);
    await refused(sql`delete from invoices where id = ${inv.id}`, /deleted/);
    await refused(sql`update invoice_lines set amount_minor = 1 where id = ${inv.lineIds[0]}`, /lines/);
    await refused(sql`delete from invoice_lines where id = ${inv.lineIds[0]}`, /lines/);
    await refused(sql`insert into invoice_lines (id, invoice_id, agency_id, position, kind, description, unit_price_minor, amount_minor) values ('inl_x', ${inv.id}, ${w.a.id}, 9, 'monthly', 'Sneaked in', 1, 1)`, /line/);
    const [still] = await deps.db.select().from(invoices).where(eq(invoices.id, inv.id));
    expect(still).to.include({ totalMinor: 19_098, taxMinor: 3100, dueDay: '2026-05-11', status: 'open' });
    expect(await deps.db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, inv.id))).to.have.length(3);

    // What is allowed: payment, delivery, status moves.
    await deps.db.execute(sql`update invoices set status = 'paid', paid_at = now(), payment_id = 'pay_1', delivered_at = now(), updated_at = now() where id = ${inv.id}`);
    // Over-crediting straight in the database is refused too.
    await refused(sql`insert into credit_note_lines (id, credit_note_id, agency_id, position, invoice_line_id, description, amount_minor, tax_minor) values ('cnl_x', 'crn_x', ${w.a.id}, 1, ${inv.lineIds[2]}, 'x', 1000, 0)`, /beyond/);

    const note = (await post(inv.id, { reason: 'Goodwill', lines: [{ invoiceLineId: inv.lineIds[0], amountMinor: 500 }] }).expect(201)).body;
    await refused(sql`update credit_notes set total_minor = 1 where id = ${note.id}`, /cannot change/);
    await refused(sql`update credit_notes set reason = 'other' where id = ${note.id}`, /cannot change/);
    await refused(sql`delete from credit_notes where id = ${note.id}`, /deleted/);
    await refused(sql`update credit_note_lines set amount_minor = 1 where credit_note_id = ${note.id}`, /cannot change/);
    await refused(sql`delete from credit_note_lines where credit_note_id = ${note.id}`, /cannot change/);
    await refused(sql`insert into credit_note_lines (id, credit_note_id, agency_id, position, invoice_line_id, description, amount_minor, tax_minor) values ('cnl_y', ${note.id}, ${w.a.id}, 2, ${inv.lineIds[2]}, 'x', 1, 0)`, /issued/);

    // A draft invoice is still being written: it may change.
    const draftId = newId('inv');
    await deps.db.transaction(async (tx) => {
      const number = await allocateInvoiceNumbers(tx, w.a.id, 1);
      await tx.insert(invoices).values({ id: draftId, agencyId: w.a.id, subAccountId: client().id, buyerId: client().id, sellerAgencyId: w.a.id, sellerKey: w.a.id, number, kind: 'monthly', period: '2026-09', periodStart: '2026-09-01', periodEnd: '2026-09-30', issueDay: '2026-10-01', dueDay: '2026-10-11', currency: 'TRY', totalMinor: 100, status: 'draft' });
    });
    await deps.db.execute(sql`update invoices set total_minor = 200 where id = ${draftId}`);
  });

  it('the term refund issues a credit note for the whole term invoice: paid -> refunded, awaiting payment -> void', async () => {
    const term = await b.createPackage(w.a.key, { name: 'Support 3-month', billing: 'term', termMonths: 3, monthlyPriceMinor: 10_000, representatives: 2 });
    const open = (await b.start(client().key, term.id).expect(201)).body;
    await deps.queue.drain();
    const paidSub = (await b.start(w.a.subs[1].key, term.id).expect(201)).body;
    await deps.queue.drain();
    const [paidInv] = await b.invoices(w.a.subs[1].key);
    await b.api().post(`/api/v1/invoices/${paidInv!.id}/mark-paid`).set(bearer(w.a.key)).send({}).expect(200);

    await b.api().post(`/api/v1/subscriptions/${open.id}/refund`).set(bearer(w.a.key)).send({ reason: 'Bought by mistake' }).expect(200);
    await b.api().post(`/api/v1/subscriptions/${paidSub.id}/refund`).set(bearer(w.a.key)).send({ reason: 'Changed their mind' }).expect(200);
    // 10,000 x 3 x 90% = 27,000 each, no tax on this seller's invoices yet.
    const notes = (await b.api().get('/api/v1/issued-credit-notes').set(bearer(w.a.key)).expect(200)).body.data.reverse();
    expect(notes.map((n: { number: string; totalMinor: number; reason: string; invoiceNumber: string }) => [n.number, n.invoiceNumber, n.totalMinor, n.reason])).to.deep.equal([
      ['CN-000001', 'INV-000001', 27_000, 'Bought by mistake'],
      ['CN-000002', 'INV-000002', 27_000, 'Changed their mind'],
    ]);
    expect((await b.invoices(client().key))[0]!.status).to.equal('void');
    expect((await b.invoices(w.a.subs[1].key))[0]!.status).to.equal('refunded');
    const audit = await deps.db.select().from(auditLog).where(eq(auditLog.action, 'subscription.refunded'));
    expect(audit.map((a) => (a.data as { creditNoteId: string }).creditNoteId).sort()).to.deep.equal(notes.map((n: { id: string }) => n.id).sort());
    expect(await deps.db.select().from(outboxEmails).where(sql`${outboxEmails.idempotencyKey} like 'credit-note:%'`)).to.have.length(2);
  });
  it('refunding a payment that paid invoices credits what is left of each of them with the refund\'s reason', async () => {
    const one = await issued(taxed);
    const two = await issued([{ description: 'Plan', amountMinor: 1000, taxRateBp: 2000, taxMinor: 200 }]);
    const payment = paymentRow({ sellerAgencyId: w.a.id, buyerAgencyId: w.a.id, buyerSubAccountId: client().id, purpose: 'invoice_batch', referenceId: 'batch_1', amountMinor: 20_298, status: 'confirmed', confirmedAt: deps.clock.now(), gateway: 'offline' });
    await deps.db.insert(payments).values(payment);
    await deps.db.update(invoices).set({ paymentId: payment.id }).where(sql`${invoices.id} in (${one.id}, ${two.id})`);
    // Part of the first was credited before: the refund credits what is left of it.
    await post(one.id, { reason: 'Goodwill', lines: [{ invoiceLineId: one.lineIds[2] }] }).expect(201);
    await b.api().post(`/api/v1/payments/${payment.id}/refund`).set(bearer(w.a.key)).send({ reason: 'Customer left' }).expect(200);
    const notes = await deps.db.select().from(creditNotes).orderBy(creditNotes.number);
    // 19,098 - 1,099 (the first note: 999 + 100) = 17,999; the second invoice 1,200.
    expect(notes.map((n) => [n.number, n.invoiceId, n.totalMinor, n.reason])).to.deep.equal([
      [1, one.id, 1099, 'Goodwill'], [2, one.id, 17_999, 'Customer left'], [3, two.id, 1200, 'Customer left'],
    ]);
    const statuses = await deps.db.select({ id: invoices.id, status: invoices.status }).from(invoices);
    expect(statuses.every((r) => r.status === 'refunded')).to.equal(true);
    expect(await deps.db.select().from(outboxEmails).where(sql`${outboxEmails.idempotencyKey} like 'credit-note:%'`)).to.have.length(3);
  });
});

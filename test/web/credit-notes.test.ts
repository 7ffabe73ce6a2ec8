/**
 * Credit notes on the console: the seller's admin issues one from the invoice's page (a refusal
 * keeps the form and writes nothing), the invoice's page names it, the seller's and the buyer's
 * lists show it, its page and PDF open for both, and nobody else finds it.
 */
import { expect } from 'chai';
import { eq, sql } from 'drizzle-orm';
import { creditNotes, invoiceLines, invoices } from '../../db/schema';
import { allocateInvoiceNumbers } from '../../src/billing/invoice-numbers';
import { newId } from '../../src/lib/ids';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { formIn } from '../support/html-form';
import { signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('web: credit notes on the invoice screens', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-05-04T09:00:00Z') });
    w = await createWorld(deps);
    app = createApp(deps);
  });
  afterEach(async () => deps.close());

  /** Agency A's paid invoice to its first client: 10,000 at 20% (tax 2,000) and 999 at 10% (99.9 -> 100). */
  async function paidInvoice() {
    const sub = w.a.subs[0];
    const id = newId('inv');
    const lines = [newId('inl'), newId('inl')];
    await deps.db.transaction(async (tx) => {
      const number = await allocateInvoiceNumbers(tx, w.a.id, 1);
      await tx.insert(invoices).values({
        id, agencyId: w.a.id, subAccountId: sub.id, buyerId: sub.id, sellerAgencyId: w.a.id, sellerKey: w.a.id, number, kind: 'monthly', period: '2026-04',
        periodStart: '2026-04-01', periodEnd: '2026-04-30', issueDay: '2026-05-01', dueDay: '2026-05-11', currency: 'TRY', totalMinor: 13_099, taxMinor: 2100, priceMode: 'exclusive', status: 'draft',
      });
      await tx.insert(invoiceLines).values([
        { id: lines[0]!, invoiceId: id, agencyId: w.a.id, position: 1, kind: 'monthly', description: 'Chatbot 50k', unitPriceMinor: 10_000, amountMinor: 10_000, taxRateBp: 2000, taxMinor: 2000 },
        { id: lines[1]!, invoiceId: id, agencyId: w.a.id, position: 2, kind: 'monthly', description: 'Onboarding', unitPriceMinor: 999, amountMinor: 999, taxRateBp: 1000, taxMinor: 100 },
      ]);
    });
    await deps.db.update(invoices).set({ status: 'paid', paidAt: deps.clock.now() }).where(eq(invoices.id, id));
    return { id, lines };
  }

  it('the seller issues a credit note for part of a line from the invoice page; both sides see it, nobody else', async () => {
    const inv = await paidInvoice();
    const seller = await signIn(app, w.a.owner.email);
    const pageHtml = (await seller.agent.get(`/agency/invoices/${inv.id}`).expect(200)).text;
    const form = formIn(pageHtml, 'credit-note-form');
    expect(form.action).to.equal(`/agency/invoices/${inv.id}/credit-notes`);

    // No reason and an amount beyond the line: the page again with both messages, the form kept, nothing written.
    const refused = await seller.agent.post(form.action).type('form').send({ ...form.fields, line: inv.lines[0], [`amount_${inv.lines[0]}`]: '150,00', reason: '' }).expect(422);
    expect(refused.text).to.contain('Say why the credit note is issued');
    expect(refused.text).to.contain(`value="150,00"`);
    const beyond = await seller.agent.post(form.action).type('form').send({ ...form.fields, line: inv.lines[0], [`amount_${inv.lines[0]}`]: '150,00', reason: 'Outage' }).expect(422);
    expect(beyond.text).to.contain('at most TRY 100.00 is left to credit');
    const badAmount = await seller.agent.post(form.action).type('form').send({ ...form.fields, line: inv.lines[0], [`amount_${inv.lines[0]}`]: 'a lot', reason: 'Outage' }).expect(422);
    expect(badAmount.text).to.contain('Enter the amount to credit as a number');
    expect(await deps.db.select().from(creditNotes)).to.have.length(0);

    // 25.27 of the 20% line: tax 505.4 -> 5.05; the note is 30.32.
    const done = await seller.agent.post(form.action).type('form').send({ ...form.fields, line: inv.lines[0], [`amount_${inv.lines[0]}`]: '25,27', reason: 'Outage on 3 April' }).expect(302);
    const [note] = await deps.db.select().from(creditNotes);
    expect(note).to.include({ number: 1, totalMinor: 3032, taxMinor: 505, reason: 'Outage on 3 April' });
    expect(done.headers.location).to.equal(`/agency/credit-notes/${note!.id}`);
    const notePage = (await seller.agent.get(done.headers.location as string).expect(200)).text;
    expect(notePage).to.contain('Credit note CN-000001').and.contain('INV-000001').and.contain('TRY 30.32').and.contain('Outage on 3 April');
    await seller.agent.get(`/agency/credit-notes/${note!.id}/pdf`).expect(200).expect('content-type', /pdf/);
    expect((await seller.agent.get(`/agency/invoices/${inv.id}`).expect(200)).text).to.contain('Credited by 1 credit note, TRY 30.32 in total').and.contain('CN-000001');
    const issued = (await seller.agent.get('/agency/invoices').expect(200)).text;
    expect(issued).to.contain('data-testid="credit-notes"').and.contain('CN-000001').and.contain(w.a.subs[0].name);

    // The buyer: its billing page lists it, the invoice names it, the note and its PDF open; no form.
    const buyer = await signIn(app, w.a.subs[0].owner.email);
    const billing = (await buyer.agent.get('/portal/billing').expect(200)).text;
    expect(billing).to.contain('CN-000001').and.contain(`/portal/billing/credit-notes/${note!.id}`);
    const invPage = (await buyer.agent.get(`/portal/billing/invoices/${inv.id}`).expect(200)).text;
    expect(invPage).to.contain('CN-000001').and.not.contain('credit-note-form');
    expect((await buyer.agent.get(`/portal/billing/credit-notes/${note!.id}`).expect(200)).text).to.contain('TRY 30.32');
    await buyer.agent.get(`/portal/billing/credit-notes/${note!.id}/pdf`).expect(200);
    await buyer.agent.post(form.action).type('form').send({ _csrf: buyer.csrf, line: inv.lines[1], reason: 'Mine' }).expect((r) => expect(r.status).to.be.oneOf([403, 404]));

    // Another client, another agency: not found.
    const other = await signIn(app, w.a.subs[1].owner.email);
    await other.agent.get(`/portal/billing/credit-notes/${note!.id}`).expect(404);
    const otherSeller = await signIn(app, w.b.owner.email);
    await otherSeller.agent.get(`/agency/credit-notes/${note!.id}`).expect(404);
    expect(Number((await deps.db.select({ n: sql<number>`count(*)` }).from(creditNotes))[0]!.n)).to.equal(1);
  });

  it('empty lists say what to do', async () => {
    const seller = await signIn(app, w.a.owner.email);
    expect((await seller.agent.get('/agency/invoices').expect(200)).text).to.contain('No credit notes issued yet. To refund or correct an invoice, open it');
    const buyer = await signIn(app, w.a.subs[0].owner.email);
    expect((await buyer.agent.get('/portal/billing').expect(200)).text).to.contain('No credit notes. When your provider refunds or corrects an invoice');
  });
});

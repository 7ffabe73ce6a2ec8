// Texts Kontor writes on invoices are stored with a catalog key beside the text as issued
// (invoice_lines.description_key, docs/i18n.md) and read in the reader's language on the page,
// while the API keeps the issued text and adds the key.
import { expect } from 'chai';
import { and, eq, isNull } from 'drizzle-orm';
import request from 'supertest';
import { extractText, getDocumentProxy } from 'unpdf';
import { accountCharges, agencies, creditNoteLines, invoiceLines, invoices } from '../../db/schema';
import { msg } from '../../src/lib/message';
import { offSessionDescription } from '../../src/payments/checkout';
import type { Payment } from '../../src/payments/gateway';
import { settleAnyPayment } from '../../src/payments/settlement';
import { createApp } from '../../src/web/app';
import { billingApi } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('i18n: texts Kontor stores on invoices', () => {
  let deps: TestDeps;
  let w: World;
  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
  });
  after(() => deps.close());

  it('a WhatsApp balance top-up line: key stored at insert, Turkish on the page, key and issued text in the API', async () => {
    const app = createApp(deps);
    const sub = w.a.subs[0];
    const res = await request(app).post('/api/v1/whatsapp-balance/top-ups').set(bearer(sub.key)).send({ amountMinor: 5_000, currency: 'TRY' }).expect(201);
    await settleAnyPayment(deps, { paymentId: res.body.paymentId as string, approved: true, raw: {} });
    const [line] = await deps.db.select({ line: invoiceLines, status: invoices.status, invoiceId: invoices.id }).from(invoiceLines).innerJoin(invoices, eq(invoices.id, invoiceLines.invoiceId)).where(eq(invoices.subAccountId, sub.id));
    expect(line!.status).to.equal('paid');
    expect(line!.line).to.include({ description: 'WhatsApp balance', descriptionKey: 'billing:line.whatsappBalance' });

    const api = await request(app).get(`/api/v1/invoices/${line!.invoiceId}`).set(bearer(sub.key)).set('Accept-Language', 'tr').expect(200);
    expect(api.body.lines[0]).to.include({ description: 'WhatsApp balance', descriptionKey: 'billing:line.whatsappBalance' });
    expect(api.body.lines[0].descriptionParams).to.deep.equal({});

    await deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, w.a.id));
    const { agent } = await signIn(app, sub.owner.email);
    const page = await agent.get(`/portal/billing/invoices/${line!.invoiceId}`).expect(200);
    expect(page.text).to.contain('WhatsApp bakiyesi').and.not.contain('WhatsApp balance');
  });

  it("an agency's order of two chatbot slots from the platform: 'name x 2' as issued, the quantity key beside it; Turkish page, key and params in the API", async () => {
    const app = createApp(deps);
    await request(app).put('/api/v1/chatbot-slot-price').set(bearer(w.platformKey)).send({ priceMinor: 50_000, currency: 'TRY' }).expect(200);
    const order = await request(app).post('/api/v1/orders').set(bearer(w.b.key)).send({ kind: 'chatbot_slots', quantity: 2 }).expect(201);
    await settleAnyPayment(deps, { paymentId: /checkout\/(pay_\w+)/.exec(order.body.checkoutUrl as string)![1]!, approved: true, raw: {} });
    const [line] = await deps.db.select({ line: invoiceLines, invoiceId: invoices.id }).from(invoiceLines).innerJoin(invoices, eq(invoices.id, invoiceLines.invoiceId)).where(and(eq(invoices.agencyId, w.b.id), isNull(invoices.subAccountId)));
    const name = line!.line.description.replace(/ x 2$/, '');
    expect(line!.line.description).to.equal(`${name} x 2`);
    expect(line!.line.descriptionKey).to.equal(msg('billing:line.quantity', { name, quantity: 2 }));
    const api = await request(app).get(`/api/v1/invoices/${line!.invoiceId}`).set(bearer(w.b.key)).expect(200);
    expect(api.body.lines[0]).to.deep.include({ description: `${name} x 2`, descriptionKey: 'billing:line.quantity', descriptionParams: { name, quantity: 2 } });
    await deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, w.b.id));
    const { agent } = await signIn(app, w.b.owner.email);
    const page = await agent.get(`/agency/billing/invoices/${line!.invoiceId}`).expect(200);
    expect(page.text).to.contain(`${name} x 2`);
  });

  it("a ledger note Kontor writes (a top-up bought from the platform): stored as its key; Turkish credits page; English text and key in the API and CSV", async () => {
    const app = createApp(deps);
    const top = (await request(app).post('/api/v1/topup-packages').set(bearer(w.platformKey)).send({ credits: 2000, priceMinor: 1000, currency: 'TRY' }).expect(201)).body;
    const order = await request(app).post('/api/v1/orders').set(bearer(w.b.key)).send({ kind: 'topup', topupPackageId: top.id }).expect(201);
    await settleAnyPayment(deps, { paymentId: /checkout\/(pay_\w+)/.exec(order.body.checkoutUrl as string)![1]!, approved: true, raw: {} });
    const history = await request(app).get('/api/v1/credit-history').set(bearer(w.b.key)).expect(200);
    const entry = (history.body.data as { noteKey: string | null; note: string | null }[]).find((e) => e.noteKey);
    expect(entry).to.include({ note: 'Top-up bought from the platform', noteKey: 'credits:note.platformTopup' });
    await deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, w.b.id));
    const { agent } = await signIn(app, w.b.owner.email);
    const page = await agent.get('/agency/credits').expect(200);
    expect(page.text).to.contain('Platformdan satın alınan yükleme').and.not.contain('credits:note').and.not.contain('Top-up bought from the platform');
    expect((await agent.get('/agency/credits.csv').expect(200)).text).to.contain('"Top-up bought from the platform"');
  });
});

describe('i18n: texts Kontor stores on monthly invoices, charges and credit notes', () => {
  let deps: TestDeps;
  let w: World;
  let b: ReturnType<typeof billingApi>;
  before(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-03-31T09:00:00Z') });
    w = await createWorld(deps);
    b = billingApi(createApp(deps));
  });
  after(() => deps.close());
  const clockTo = async (day: string) => {
    await b.api().post('/api/v1/test-clock').set(bearer(w.platformKey)).send({ now: `${day}T09:00:00Z` }).expect(200);
    await deps.queue.drain();
  };
  const pdfText = async (pdf: Buffer) => (await extractText(await getDocumentProxy(new Uint8Array(pdf)), { mergePages: true })).text;
  const binary = (res: request.Response, done: (err: Error | null, body: Buffer) => void) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  };

  it('extra sessions and a quantity line: key stored at insert (charge, invoice line, credit note line); Turkish pages and PDFs; key and params in the API', async () => {
    const key = w.a.subs[0].key;
    const chatbot = await b.createPackage(w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 3000, chatbotSessions: 20_000 });
    const reps = await b.createPackage(w.a.key, { name: 'Extra representative', kind: 'quantity', unit: 'representative', billing: 'monthly', monthlyPriceMinor: 1000 });
    await b.createPackage(w.a.key, { name: 'Extra 1k sessions', kind: 'extra_sessions', monthlyPriceMinor: 500, chatbotSessions: 1000 });
    await clockTo('2026-04-01');
    await b.start(key, chatbot.id).expect(201);
    await b.start(key, reps.id, { quantity: 2 }).expect(201);
    await clockTo('2026-04-10');
    const extraParams = { name: 'Extra 1k sessions', sessions: 2000, quantity: 2, perBlock: 1000 };
    const charge = await b.api().post('/api/v1/extra-sessions').set(bearer(key)).send({ quantity: 2 }).expect(201);
    expect(charge.body).to.include({ description: 'Extra 1k sessions: 2,000 extra chatbot sessions (2 x 1,000)', descriptionKey: 'billing:line.extraSessions' });
    expect(charge.body.descriptionParams).to.deep.equal(extraParams);
    const [stored] = await deps.db.select().from(accountCharges).where(eq(accountCharges.id, charge.body.id as string));
    expect(stored!.descriptionKey).to.equal(msg('billing:line.extraSessions', extraParams));

    await deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, w.a.id));
    const app = createApp(deps);
    const { agent } = await signIn(app, w.a.subs[0].owner.email);
    // The month so far, before it is invoiced.
    const upcoming = await agent.get('/portal/billing/upcoming').expect(200);
    expect(upcoming.text).to.contain('Extra 1k sessions: 2.000 ek sohbet oturumu (2 x 1.000)').and.not.contain('extra chatbot sessions');
    const predicted = await request(app).get('/api/v1/invoices/upcoming').set(bearer(key)).expect(200);
    expect(predicted.body.lines.map((l: { descriptionKey: string | null }) => l.descriptionKey)).to.have.members([null, 'billing:line.quantity', 'billing:line.extraSessions']);

    await clockTo('2026-05-01');
    const [inv] = await b.invoices(key);
    const lines = await deps.db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, inv!.id)).orderBy(invoiceLines.position);
    expect(lines.map((l) => [l.description, l.descriptionKey])).to.deep.equal([
      ['Chatbot 20k', null],
      ['Extra representative x 2', msg('billing:line.quantity', { name: 'Extra representative', quantity: 2 })],
      ['Extra 1k sessions: 2,000 extra chatbot sessions (2 x 1,000)', msg('billing:line.extraSessions', extraParams)],
    ]);
    const api = await request(app).get(`/api/v1/invoices/${inv!.id}`).set(bearer(key)).expect(200);
    expect(api.body.lines.map((l: Record<string, unknown>) => [l.description, l.descriptionKey, l.descriptionParams])).to.deep.equal([
      ['Chatbot 20k', null, null],
      ['Extra representative x 2', 'billing:line.quantity', { name: 'Extra representative', quantity: 2 }],
      ['Extra 1k sessions: 2,000 extra chatbot sessions (2 x 1,000)', 'billing:line.extraSessions', extraParams],
    ]);
    const page = await agent.get(`/portal/billing/invoices/${inv!.id}`).expect(200);
    expect(page.text).to.contain('Extra 1k sessions: 2.000 ek sohbet oturumu (2 x 1.000)').and.contain('Extra representative x 2').and.not.contain('extra chatbot sessions');
    // A saved card charged for it tells the bank in the seller's language (docs/i18n.md, "What goes to the bank").
    const forBank = { purpose: 'invoice', referenceId: inv!.id, sellerAgencyId: w.a.id, buyerAgencyId: w.a.id, buyerSubAccountId: w.a.subs[0].id } as Payment;
    expect(await offSessionDescription(deps, forBank)).to.equal(`Fatura ${inv!.number}`);
    await deps.db.update(agencies).set({ locale: 'en' }).where(eq(agencies.id, w.a.id));
    expect(await offSessionDescription(deps, forBank)).to.equal(`Invoice ${inv!.number}`);
    await deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, w.a.id));
    const pdf = await request(app).get(`/api/v1/invoices/${inv!.id}/pdf`).set(bearer(key)).set('Accept-Language', 'tr').buffer(true).parse(binary).expect(200);
    expect(await pdfText(pdf.body as Buffer)).to.contain('2.000 ek sohbet oturumu').and.not.contain('extra chatbot sessions');

    // The seller credits the unpaid invoice whole: each credit note line keeps the credited line's key.
    const note = await request(app).post(`/api/v1/invoices/${inv!.id}/credit-notes`).set(bearer(w.a.key)).send({ reason: 'Goodwill', lines: lines.map((l) => ({ invoiceLineId: l.id })) }).expect(201);
    expect(note.body.lines.map((l: Record<string, unknown>) => [l.description, l.descriptionKey, l.descriptionParams])).to.deep.equal([
      ['Chatbot 20k', null, null],
      ['Extra representative x 2', 'billing:line.quantity', { name: 'Extra representative', quantity: 2 }],
      ['Extra 1k sessions: 2,000 extra chatbot sessions (2 x 1,000)', 'billing:line.extraSessions', extraParams],
    ]);
    const [noteLine] = await deps.db.select().from(creditNoteLines).where(eq(creditNoteLines.invoiceLineId, lines[2]!.id));
    expect(noteLine!.descriptionKey).to.equal(lines[2]!.descriptionKey);
    const notePage = await agent.get(`/portal/billing/credit-notes/${note.body.id as string}`).expect(200);
    expect(notePage.text).to.contain('Extra 1k sessions: 2.000 ek sohbet oturumu (2 x 1.000)').and.not.contain('extra chatbot sessions');
    const notePdf = await request(app).get(`/api/v1/credit-notes/${note.body.id as string}/pdf`).set(bearer(key)).set('Accept-Language', 'tr').buffer(true).parse(binary).expect(200);
    expect(await pdfText(notePdf.body as Buffer)).to.contain('2.000 ek sohbet oturumu').and.not.contain('extra chatbot sessions');
  });
});

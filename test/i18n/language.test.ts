import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { extractText, getDocumentProxy } from 'unpdf';
import { agencies, outboxEmails, users } from '../../db/schema';
import { renderInvoicePdf } from '../../src/billing/invoice-pdf';
import type { InvoiceWithLines } from '../../src/billing/invoices.usecases';
import { formatterFor } from '../../src/i18n/format';
import { fromAcceptLanguage, localize, pickLanguage, tFor } from '../../src/i18n/i18n';
import { money, msg } from '../../src/lib/message';
import { purchaseEmail } from '../../src/purchases/purchase-email';
import { csrfFrom, signIn } from '../support/http';
import { worldAppPerTest } from '../support/world-app';

describe('i18n: choosing the language and formatting for it', () => {
  it('picks the user\'s choice, else the agency\'s, else the browser\'s, else English', () => {
    expect(pickLanguage({ user: 'tr', agency: 'en', acceptLanguage: 'en' })).to.equal('tr');
    expect(pickLanguage({ user: null, agency: 'tr', acceptLanguage: 'en' })).to.equal('tr');
    expect(pickLanguage({ user: null, agency: null, acceptLanguage: 'de-DE,tr;q=0.8,en;q=0.5' })).to.equal('tr');
    expect(pickLanguage({ user: null, agency: null, acceptLanguage: 'en;q=0.2, tr-TR;q=0.9' })).to.equal('tr');
    expect(pickLanguage({ user: null, agency: null, acceptLanguage: 'tr;q=0, fr' })).to.equal('en');
    expect(pickLanguage({ user: 'xx', agency: undefined, acceptLanguage: undefined })).to.equal('en');
    expect(fromAcceptLanguage('*')).to.equal(null);
  });

  it('formats money, numbers and dates for the language, dates in the seller\'s zone', () => {
    const tr = formatterFor('tr', 'Europe/Istanbul'), en = formatterFor('en', 'America/New_York');
    expect(tr.money(108387, 'TRY')).to.equal('TRY 1.083,87');
    expect(en.money(108387, 'TRY')).to.equal('TRY 1,083.87');
    expect(tr.number(1234567)).to.equal('1.234.567');
    // 02:30 UTC on the 1st is still the 30th of November in New York, already the 1st in Istanbul.
    const d = new Date('2026-12-01T02:30:00Z');
    expect(tr.date(d)).to.equal('1 Ara 2026');
    expect(en.date(d)).to.equal('30 Nov 2026');
    expect(tr.dateTime(d)).to.equal('1 Ara 2026 05:30');
    expect(tr.day('2026-12-31')).to.equal('31 Ara 2026');
    expect(tr.month('2026-08')).to.equal('Ağustos 2026');
  });

  it('translates keys and fixed sentences, and leaves unknown text as written', () => {
    expect(localize(tFor('tr'), 'nav:signOut')).to.equal('Çıkış yap');
    expect(localize(tFor('en'), 'nav:signOut')).to.equal('Sign out');
    expect(localize(tFor('tr'), 'A sentence no catalog holds.')).to.equal('A sentence no catalog holds.');
  });

  it('reads messages with values in the reader\'s language: labels, amounts, days, counts and nested messages', () => {
    const en = tFor('en'), tr = tFor('tr');
    expect(localize(en, msg('errors:field.required', { label: 'Name' }))).to.equal('Name is required.');
    expect(localize(tr, msg('errors:field.required', { label: 'Name' }))).to.equal('Ad zorunludur.');
    const cap = msg('errors:autoBilling.capExceeded', { cap: money(10_000, 'USD'), spent: money(9_500, 'USD'), amount: money(108_387, 'USD') });
    expect(localize(en, cap)).to.equal('The monthly auto-billing cap of USD 100.00 would be exceeded (spent USD 95.00, this top-up USD 1,083.87).');
    expect(localize(tr, cap)).to.equal('USD 100,00 olan aylık otomatik ödeme limiti aşılacak (harcanan USD 95,00, bu yükleme USD 1.083,87).');
    expect(localize(tr, msg('errors:subscription.alreadyCancelled', { through: '2026-12-31' }))).to.equal('Bu abonelik zaten iptal edildi; 31 Ara 2026 tarihine kadar faturalandırılır.');
    expect(localize(en, msg('errors:limits.reached', { allowed: msg('errors:limits.item.whatsappChannels', { count: 1 }), used: 1 })))
      .to.equal('Your plan allows 1 WhatsApp channel and you have 1. Upgrade your package or buy more to add another.');
    // A parameter that is itself a message (a stored failure reason) is translated too.
    expect(localize(tr, msg('errors:payment.notCompleted', { reason: 'errors:payment.declined' }))).to.equal('Ödeme tamamlanmadı: reddedildi. Hiçbir şey tanımlanmadı.');
    // Text that only looks like a key stays as written.
    expect(localize(tr, 'errors:nope{not json')).to.equal('errors:nope{not json');
  });

  it('writes the invoice PDF in the buyer\'s language, amounts and days in its formats', async () => {
    const inv = {
      id: 'inv_1', number: 7, kind: 'monthly', status: 'open', currency: 'TRY', totalMinor: 108_387, issueDay: '2026-12-01', dueDay: '2026-12-11',
      periodStart: '2026-11-01', periodEnd: '2026-11-30', billingAddress: { name: 'Atlas Ltd', line1: 'Bağdat Cd. 1', line2: null, city: 'İstanbul', postalCode: '34710', country: 'TR', taxId: '1234567890' },
      lines: [{ description: 'Chatbot 5k', fromDay: '2026-11-01', throughDay: '2026-11-30', activeDays: 30, daysInMonth: 30, amountMinor: 108_387 }],
    } as unknown as InvoiceWithLines;
    const textOf = async (pdf: Buffer) => (await extractText(await getDocumentProxy(new Uint8Array(pdf)), { mergePages: true })).text;
    const tr = await textOf(await renderInvoicePdf(inv, { sellerName: 'Atlas Ajans', buyerName: 'Müşteri A', locale: 'tr' }));
    expect(tr).to.contain('Fatura INV-000007').and.contain('Düzenleme: 1 Ara 2026').and.contain('Son ödeme: 11 Ara 2026')
      .and.contain('Dönem: 1 Kas 2026 - 30 Kas 2026').and.contain('Durum: Ödeme bekleniyor').and.contain('Fatura edilen')
      .and.contain('Vergi no: 1234567890').and.contain('Açıklama').and.contain('Toplam: TRY 1.083,87').and.not.contain('Invoice');
    const en = await textOf(await renderInvoicePdf(inv, { sellerName: 'Atlas Ajans', buyerName: 'Client A', locale: 'en' }));
    expect(en).to.contain('Invoice INV-000007').and.contain('Due: 11 Dec 2026').and.contain('Total: TRY 1,083.87').and.contain('Billed to');
    expect(en).to.not.contain('recorded by the seller');
    // Paid outside Kontor: the PDF says so, as the invoice page does.
    const offline = await textOf(await renderInvoicePdf({ ...inv, status: 'paid', paidOffline: true }, { sellerName: 'Atlas Ajans', buyerName: 'Müşteri A', locale: 'tr' }));
    expect(offline).to.contain('Harici ödeme (havale, nakit vb.), satıcı tarafından kaydedildi');
  });

  describe('in the app', () => {
    const ctx = worldAppPerTest();

    it('shows an agency\'s users its language until they choose their own in the header', async () => {
      await ctx.deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, ctx.w.a.id));
      const { agent } = await signIn(ctx.app, ctx.w.a.owner.email);
      let page = await agent.get('/agency/sub-accounts').expect(200);
      expect(page.text).to.contain('<html lang="tr"').and.contain('Çıkış yap');
      await agent.post('/language').type('form').send({ _csrf: csrfFrom(page.text), lang: 'en', back: '/agency/sub-accounts' }).expect(303).expect('location', '/agency/sub-accounts');
      page = await agent.get('/agency/sub-accounts').expect(200);
      expect(page.text).to.contain('<html lang="en"').and.contain('Sign out');
      const [u] = await ctx.deps.db.select({ locale: users.locale }).from(users).where(eq(users.id, ctx.w.a.owner.id));
      expect(u!.locale).to.equal('en');
    });

    it('lets a visitor switch the sign-in page, and never redirects off the site', async () => {
      const agent = request.agent(ctx.app);
      const login = await agent.get('/login').set('accept-language', 'tr-TR,tr;q=0.9').expect(200);
      expect(login.text).to.contain('<html lang="tr"');
      await agent.post('/language').type('form').send({ _csrf: csrfFrom(login.text), lang: 'en', back: '//evil.test/x' }).expect(303).expect('location', '/');
      const again = await agent.get('/login').set('accept-language', 'tr').expect(200);
      expect(again.text).to.contain('<html lang="en"');
    });

    it('answers API errors in the Accept-Language, with the same code', async () => {
      const en = await request(ctx.app).get('/api/v1/sub-accounts').set('authorization', 'Bearer nope').expect(401);
      const tr = await request(ctx.app).get('/api/v1/sub-accounts').set('authorization', 'Bearer nope').set('accept-language', 'tr').expect(401);
      expect(tr.body.error).to.equal(en.body.error);
      expect(en.body.message).to.equal('This API key is not valid or has been revoked.');
      expect(tr.body.message).to.equal(tFor('tr')('This API key is not valid or has been revoked.', { ns: 'messages', keySeparator: false, nsSeparator: false }));
      expect(tr.body.message).to.equal('Bu API anahtarı geçerli değil veya iptal edilmiş.');
      // A message with values (a thing not found) reads whole in each language.
      const gone = await request(ctx.app).get('/api/v1/sub-accounts/sub_nope').set('authorization', `Bearer ${ctx.w.a.key}`).set('accept-language', 'tr-TR').expect(404);
      expect(gone.body).to.include({ error: 'not_found', message: 'Alt hesap bulunamadı.' });
    });

    it('answers validation errors field by field in the Accept-Language', async () => {
      const send = (lang: string, body: unknown) => request(ctx.app).post('/api/v1/sub-accounts').set('authorization', `Bearer ${ctx.w.a.key}`).set('accept-language', lang).send(body as object).expect(422);
      const en = await send('en', { name: '', billingEmail: 'not-an-email' });
      const tr = await send('tr', { name: '', billingEmail: 'not-an-email' });
      expect(en.body).to.include({ error: 'validation_failed', message: 'Some fields are not valid.' });
      expect(en.body.fields).to.deep.equal({ name: 'Name is required.', billingEmail: 'Enter a valid email address.' });
      expect(tr.body).to.include({ error: 'validation_failed', message: 'Bazı alanlar geçerli değil.' });
      expect(tr.body.fields).to.deep.equal({ name: 'Ad zorunludur.', billingEmail: 'Geçerli bir e-posta adresi girin.' });
      const long = await send('tr', { name: 'x'.repeat(201) });
      expect(long.body.fields.name).to.equal('Ad çok uzun (en fazla 200 karakter).');
    });

    it('writes a purchase email in the agency\'s language, money in its format', async () => {
      await ctx.deps.db.update(agencies).set({ locale: 'tr', billingEmail: 'fatura@atlas.test' }).where(eq(agencies.id, ctx.w.a.id));
      const [agency] = await ctx.deps.db.select().from(agencies).where(eq(agencies.id, ctx.w.a.id));
      const sub = ctx.w.a.subs[0];
      const purchase = { id: 'pur_tr', agencyId: ctx.w.a.id, subAccountId: sub.id, buyerUserId: sub.owner.id, priceMinor: 108_387, currency: 'TRY' };
      const version = { name: 'Kredi 5000', type: 'subscription', credits: 5000, termMonths: 12 };
      await ctx.deps.db.transaction((tx) => purchaseEmail(tx, { purchase, version, agency: agency!, now: new Date() } as never));
      const [mail] = await ctx.deps.db.select().from(outboxEmails).where(eq(outboxEmails.idempotencyKey, 'purchase-granted:pur_tr'));
      expect(mail!.subject).to.equal(`Satın alma onaylandı: ${sub.name} için Kredi 5000`);
      expect(mail!.text).to.contain(`${sub.name}, Kredi 5000 paketini satın aldı.`).and.contain('Tür: abonelik, 12 ay, krediler her ay tanımlanır')
        .and.contain('Kredi: 5.000').and.contain('Tahsil edilen tutar: TRY 1.083,87').and.contain('Paket hesaba uygulandı.');
      // The buyer's own choice wins over the agency's language when every person mailed chose it.
      await ctx.deps.db.update(users).set({ locale: 'en' }).where(eq(users.id, sub.owner.id));
      await ctx.deps.db.update(agencies).set({ billingEmail: null }).where(eq(agencies.id, ctx.w.a.id));
      const [en] = await ctx.deps.db.select().from(agencies).where(eq(agencies.id, ctx.w.a.id));
      await ctx.deps.db.transaction((tx) => purchaseEmail(tx, { purchase: { ...purchase, id: 'pur_en' }, version, agency: en!, now: new Date() } as never));
      const [mailEn] = await ctx.deps.db.select().from(outboxEmails).where(eq(outboxEmails.idempotencyKey, 'purchase-granted:pur_en'));
      expect(mailEn!.subject).to.equal(`Purchase confirmed: Kredi 5000 for ${sub.name}`);
      expect(mailEn!.text).to.contain('Type: subscription, 12 months, credits granted monthly').and.contain('Amount charged: TRY 1,083.87');
    });
  });
});

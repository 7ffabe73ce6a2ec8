/**
 * Tax on invoices (DESIGN section 10; docs/tax.md), hand-computed: both price modes, several rates
 * on one invoice, proration with tax, a term with tax, a credit pack's paid invoice (one even when
 * its payment settles twice), invoices issued before tax was turned on unchanged, and bad input
 * that writes nothing.
 */
import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import request from 'supertest';
import { invoiceLines, invoices, offerVersions, outboxEmails, payments, sellerTaxSettings, subAccounts } from '../../db/schema';
import { taxLines, type IssueLine } from '../../src/billing/invoice-issue';
import { settlePurchasePayment, startPurchase } from '../../src/purchases/purchases.usecases';
import { SandboxGateway } from '../../src/payments/sandbox-gateway';
import type { SellerTax } from '../../src/tax/seller-settings';
import { createApp } from '../../src/web/app';
import { billingApi } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

const seller = (mode: 'exclusive' | 'inclusive', defaultRateBp = 2000): SellerTax => ({
  mode, defaultRateBp, party: { legalName: 'Ajans A.Ş.', taxOffice: 'Kadıköy', taxNumber: '4540536920', address: { line1: 'Moda Cd. 1', city: 'İstanbul', country: 'TR' } },
});
const line = (amountMinor: number, rateBp?: number | null): IssueLine => ({ kind: 'monthly', description: 'x', unitPriceMinor: amountMinor, amountMinor, rateBp });

describe('tax: lines taxed by the one rule (pure)', () => {
  it('exclusive prices, four rates on one invoice: tax = round(net x rate) per line, totals are sums', () => {
    // 100.00 @ 20% = 20.00; 33.33 @ 10% = 3.333 -> 3.33; 9.99 @ 1% = 0.0999 -> 0.10; 50.00 @ 0% = 0.
    const t = taxLines([line(10_000), line(3333, 1000), line(999, 100), line(5000, 0)], seller('exclusive'), null);
    expect(t.lines.map((l) => [l.netMinor, l.taxMinor, l.taxRateBp])).to.deep.equal([[10_000, 2000, 2000], [3333, 333, 1000], [999, 10, 100], [5000, 0, 0]]);
    expect(t.totals).to.deep.include({ net: 19_332, tax: 2343, total: 21_675 });
    expect(t.totals.byRate).to.deep.equal([{ rateBp: 2000, net: 10_000, tax: 2000 }, { rateBp: 1000, net: 3333, tax: 333 }, { rateBp: 100, net: 999, tax: 10 }, { rateBp: 0, net: 5000, tax: 0 }]);
    expect(t.priceMode).to.equal('exclusive');
    expect(t.sellerParty?.taxNumber).to.equal('4540536920');
  });

  it('inclusive prices: the stated price is gross, net = round(gross x 100 / (100 + rate)), tax = gross - net', () => {
    // 120.00 @ 20% -> 100.00 + 20.00; 10.01 @ 10% -> 9.1000 -> 9.10 + 0.91; 1.01 @ 1% -> 1.00 + 0.01; 99.99 @ 20% -> 83.325 -> 83.33 + 16.66.
    const t = taxLines([line(12_000), line(1001, 1000), line(101, 100), line(9999)], seller('inclusive'), null);
    expect(t.lines.map((l) => [l.netMinor, l.taxMinor])).to.deep.equal([[10_000, 2000], [910, 91], [100, 1], [8333, 1666]]);
    expect(t.totals).to.deep.include({ net: 19_343, tax: 3758, total: 23_101 });
  });

  it('a seller without tax: every line at 0, no price mode, no snapshots; an exempt buyer pays no tax', () => {
    const off = taxLines([line(10_000, 1000)], null, null);
    expect(off.lines[0]).to.deep.include({ netMinor: 10_000, taxMinor: 0, taxRateBp: 0 });
    expect([off.priceMode, off.sellerParty, off.buyerParty]).to.deep.equal([null, null, null]);
    const exempt = taxLines([line(10_000)], seller('exclusive'), { kind: 'exempt', name: 'ACME GmbH', reason: 'Export of services (KDV Law 11/1-a)', address: { line1: 'x', city: 'Berlin', country: 'DE' } });
    expect(exempt.totals).to.deep.include({ net: 10_000, tax: 0, total: 10_000 });
    expect(exempt.buyerParty?.kind).to.equal('exempt');
  });
});

describe('tax: invoices issued with the seller\'s tax', () => {
  let deps: TestDeps;
  let w: World;
  let b: ReturnType<typeof billingApi>;
  const api = () => request(createApp(deps));
  const sub = () => w.a.subs[0];
  const settings = (extra: Record<string, unknown> = {}) => ({
    taxEnabled: true, legalName: 'Ajans A Bilişim A.Ş.', addressLine1: 'Moda Cd. 1', city: 'İstanbul', district: 'Kadıköy', country: 'TR', taxOffice: 'Kadıköy',
    taxNumber: '4540536920', defaultRate: '20', priceMode: 'exclusive', ...extra,
  });
  const company = { name: 'Müşteri Ltd. Şti.', line1: 'Bağdat Cd. 5', city: 'İstanbul', country: 'TR', taxKind: 'company', taxNumber: '4540536920', taxOffice: 'Kozyatağı', eInvoiceRegistered: true, eInvoiceAlias: 'urn:mail:defaultpk@musteri.com.tr' };

  async function setup(day: string) {
    await resetData();
    deps = await makeTestDeps({ start: new Date(`${day}T09:00:00Z`) });
    w = await createWorld(deps);
    b = billingApi(createApp(deps));
    await deps.db.update(subAccounts).set({ billingEmail: 'client@a1.test' }).where(eq(subAccounts.id, sub().id));
  }
  afterEach(async () => deps.close());

  it('bad input writes nothing: rate over 100, three decimals, a VKN with letters or a wrong check digit; an exempt buyer without a reason', async () => {
    await setup('2026-04-01');
    for (const [bad, field, key] of [
      [{ defaultRate: '101' }, 'defaultRate', /between 0 and 100/], [{ defaultRate: '-1' }, 'defaultRate', /between 0 and 100/], [{ defaultRate: '8.255' }, 'defaultRate', /two decimals/],
      [{ taxNumber: '45405369AB' }, 'taxNumber', /digits only/], [{ taxNumber: '4540536921' }, 'taxNumber', /check digit/],
    ] as const) {
      const res = await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings(bad)).expect(422);
      expect(res.body.error).to.equal('validation_failed');
      expect(res.body.fields[field], JSON.stringify(bad)).to.match(key);
    }
    expect(await deps.db.select().from(sellerTaxSettings)).to.have.length(0);
    expect((await api().get('/api/v1/tax-settings').set(bearer(w.a.key)).expect(200)).body).to.equal(null);
    const exempt = await api().post('/api/v1/billing-addresses').set(bearer(sub().key)).send({ ...company, taxKind: 'exempt', taxNumber: '' }).expect(422);
    expect(exempt.body.fields.exemptionReason).to.match(/reason/);
    const tckn = await api().post('/api/v1/billing-addresses').set(bearer(sub().key)).send({ ...company, taxKind: 'person', taxNumber: '17291716050', firstName: 'Ayşe', familyName: 'Yılmaz' }).expect(422);
    expect(tckn.body.fields.taxNumber).to.match(/TCKN/);
    const vkn = await api().post('/api/v1/billing-addresses').set(bearer(sub().key)).send({ ...company, taxNumber: '4540536921' }).expect(422);
    expect(vkn.body.fields.taxNumber).to.match(/check digit/);
    expect((await api().get('/api/v1/billing-addresses').set(bearer(sub().key)).expect(200)).body.data).to.have.length(0);
  });

  it('a month prorated with two rates, an invoice issued before tax unchanged, a term with tax, inclusive prices', async () => {
    await setup('2026-03-31');
    const clockTo = (day: string) => b.api().post('/api/v1/test-clock').set(bearer(w.platformKey)).send({ now: `${day}T09:00:00Z` }).expect(200);
    const monthly = await b.createPackage(w.a.key, { name: 'WhatsApp line', kind: 'quantity', unit: 'whatsapp_channel', billing: 'monthly', monthlyPriceMinor: 3000 });
    const reps = await b.createPackage(w.a.key, { name: 'Representative', kind: 'quantity', unit: 'representative', billing: 'monthly', monthlyPriceMinor: 1000 });
    const term = await b.createPackage(w.a.key, { name: 'Chatbot 3 months', billing: 'term', termMonths: 3, monthlyPriceMinor: 10_000, chatbotSessions: 1000 });
    // The representative seat is sold at 10% (the offer's own rate).
    await deps.db.update(offerVersions).set({ taxRateBp: 1000 }).where(eq(offerVersions.offerId, reps.id));
    // A term bought before tax is on: 3 x 100.00 x 90% = 270.00, no tax.
    await clockTo('2026-04-01');
    const before = (await b.start(sub().key, term.id).expect(201)).body;
    const [old] = await deps.db.select().from(invoices).where(and(eq(invoices.subscriptionId, before.id), eq(invoices.kind, 'term')));
    expect(old).to.deep.include({ totalMinor: 27_000, taxMinor: 0, priceMode: null, sellerParty: null });
    await api().post('/api/v1/billing-addresses').set(bearer(sub().key)).send(company).expect(201);
    await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings()).expect(200);

    await clockTo('2026-04-10');
    await b.start(sub().key, monthly.id).expect(201);
    await b.start(sub().key, reps.id, { quantity: 2 }).expect(201);
    await clockTo('2026-05-01');
    await deps.queue.drain();
    // April, 30 days, active 10..30 = 21 days: a WhatsApp line 30.00 x 21/30 = 21.00, tax 20% = 4.20;
    // 2 representatives 20.00 x 21/30 = 14.00, tax 10% = 1.40. Net 35.00, tax 5.60, total 40.60.
    const [april] = await deps.db.select().from(invoices).where(and(eq(invoices.buyerId, sub().id), eq(invoices.period, '2026-04')));
    expect(april).to.deep.include({ totalMinor: 4060, taxMinor: 560, priceMode: 'exclusive' });
    expect(april!.sellerParty).to.deep.include({ legalName: 'Ajans A Bilişim A.Ş.', taxNumber: '4540536920', taxOffice: 'Kadıköy' });
    expect(april!.buyerParty).to.deep.include({ kind: 'company', vkn: '4540536920', taxOffice: 'Kozyatağı', eInvoiceRegistered: true });
    const lines = await deps.db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, april!.id));
    expect(lines.map((l) => [l.amountMinor, l.taxRateBp, l.taxMinor]).sort()).to.deep.equal([[1400, 1000, 140], [2100, 2000, 420]]);
    const detail = (await api().get(`/api/v1/invoices/${april!.id}`).set(bearer(sub().key)).expect(200)).body;
    expect(detail).to.deep.include({ netMinor: 3500, taxMinor: 560, totalMinor: 4060 });
    expect(detail.taxByRate).to.deep.equal([{ rateBp: 2000, netMinor: 2100, taxMinor: 420 }, { rateBp: 1000, netMinor: 1400, taxMinor: 140 }]);
    // The page and the PDF show both parties and the breakdown; the old invoice is as it was.
    const page = await deps.db.select().from(invoices).where(eq(invoices.id, old!.id));
    expect(page[0]).to.deep.include({ totalMinor: 27_000, taxMinor: 0, priceMode: null });

    // A term with tax, prices including tax: 3 x 100.00 x 90% = 270.00 gross -> net 225.00, tax 45.00.
    await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings({ priceMode: 'inclusive' })).expect(200);
    const term2 = await b.createPackage(w.a.key, { name: 'AI assistant 3 months', kind: 'addon', modules: ['ai_assistant'], billing: 'term', termMonths: 3, monthlyPriceMinor: 10_000 });
    await clockTo('2026-05-02');
    const after = (await b.start(sub().key, term2.id).expect(201)).body;
    const [taxedTerm] = await deps.db.select().from(invoices).where(and(eq(invoices.subscriptionId, after.id), eq(invoices.kind, 'term')));
    expect(taxedTerm).to.deep.include({ totalMinor: 27_000, taxMinor: 4500, priceMode: 'inclusive' });
    const [termLine] = await deps.db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, taxedTerm!.id));
    expect(termLine).to.deep.include({ amountMinor: 22_500, taxMinor: 4500, taxRateBp: 2000 });
    // Numbers stay one gapless series.
    const numbers = (await deps.db.select({ n: invoices.number }).from(invoices).where(eq(invoices.sellerAgencyId, w.a.id))).map((r) => r.n).sort((x, y) => x - y);
    expect(numbers).to.deep.equal(numbers.map((_, i) => i + 1));
  });

  it('a credit pack bought with tax on: one paid invoice in the seller\'s series, even when the payment settles twice, emailed with its PDF', async () => {
    await setup('2026-03-10');
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 100_000, reason: 'seed' }).expect(201);
    await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings({ priceMode: 'inclusive' })).expect(200);
    await api().post('/api/v1/billing-addresses').set(bearer(sub().key)).send({ ...company, taxKind: 'person', taxNumber: '10000000146', firstName: 'Ayşe', familyName: 'Yılmaz' }).expect(201);
    const pkg = (await api().post('/api/v1/packages').set(bearer(w.a.key)).send({ currency: 'TRY', published: true, name: 'Credits 1000', type: 'credit', priceMinor: 19_990, credits: 1000 }).expect(201)).body;
    const actor = { kind: 'api_key' as const, id: 'k', scope: 'sub_account' as const, agencyId: w.a.id, subAccountId: sub().id, role: 'admin' as const, billing: true };
    const started = await startPurchase(deps, { actor, input: { packageId: pkg.id }, gateway: new SandboxGateway('s', 'http://x') });
    const paymentId = /checkout\/(pay_\w+)/.exec((started.next as { url: string }).url)![1]!;
    const results = await Promise.all([1, 2].map(() => settlePurchasePayment(deps, { paymentId, approved: true, raw: { test: true } })));
    expect(results.map((r) => r.outcome).sort()).to.deep.equal(['already', 'confirmed']);
    await settlePurchasePayment(deps, { paymentId, approved: true, raw: { again: true } });
    await deps.queue.drain();
    const paid = await deps.db.select().from(invoices).where(eq(invoices.paymentId, paymentId));
    expect(paid).to.have.length(1);
    // 199.90 including 20%: net round(19990 / 1.2) = 16658.33 -> 166.58, tax 33.32.
    expect(paid[0]).to.deep.include({ kind: 'purchase', status: 'paid', totalMinor: 19_990, taxMinor: 3332, priceMode: 'inclusive', number: 1 });
    expect(paid[0]!.buyerParty).to.deep.include({ kind: 'person', tckn: '10000000146', firstName: 'Ayşe', familyName: 'Yılmaz' });
    expect(paid[0]!.deliveredAt).to.not.equal(null);
    const mails = await deps.db.select().from(outboxEmails).where(eq(outboxEmails.idempotencyKey, `invoice:${paid[0]!.id}`));
    expect(mails).to.have.length(1);
    // The buyer finds it among its invoices, the seller among those it issued.
    expect((await b.invoices(sub().key)).map((i) => i.kind)).to.include('purchase');
    const issued = (await api().get('/api/v1/issued-invoices').set(bearer(w.a.key)).expect(200)).body.data as { id: string; taxMinor: number }[];
    expect(issued.find((i) => i.id === paid[0]!.id)?.taxMinor).to.equal(3332);
    const pdf = await api().get(`/api/v1/invoices/${paid[0]!.id}/pdf`).set(bearer(sub().key)).expect(200);
    expect(pdf.headers['content-type']).to.match(/pdf/);
    // The buyer's invoice page: both parties and the breakdown.
    const { agent } = await signIn(createApp(deps), sub().owner.email);
    const page = (await agent.get(`/portal/billing/invoices/${paid[0]!.id}`).expect(200)).text;
    expect(page).to.contain('data-testid="invoice-seller"').and.contain('Ajans A Bilişim A.Ş.').and.contain('Tax number (VKN): 4540536920');
    expect(page).to.contain('data-testid="invoice-buyer"').and.contain('Ayşe Yılmaz').and.contain('T.C. identity number (TCKN): 10000000146');
    expect(page).to.contain('Net amount').and.contain('TRY 166.58').and.contain('TRY 33.32').and.contain('TRY 199.90');
  });

  it('the settings form: a wrong check digit keeps the form with the field\'s message and writes nothing; a valid one turns tax on; the platform too', async () => {
    await setup('2026-04-01');
    const { agent, csrf } = await signIn(createApp(deps), w.a.owner.email);
    expect((await agent.get('/agency/tax-settings').expect(200)).text).to.contain('Tax is off').and.contain('value="20"');
    const bad = await agent.post('/agency/tax-settings').type('form').send({ _csrf: csrf, ...settings({ taxNumber: '4540536921', defaultRate: '20', taxEnabled: 'on' }) }).expect(422);
    expect(bad.text).to.contain('check digit').and.contain('value="Ajans A Bilişim A.Ş."');
    expect(await deps.db.select().from(sellerTaxSettings)).to.have.length(0);
    await agent.post('/agency/tax-settings').type('form').send({ _csrf: csrf, ...settings({ taxEnabled: 'on', defaultRate: '20' }) }).expect(302);
    expect((await agent.get('/agency/tax-settings').expect(200)).text).to.contain('Tax is on since');
    const platform = (await api().put('/api/v1/tax-settings').set(bearer(w.platformKey)).send(settings({ legalName: 'Kontor Yazılım A.Ş.', defaultRate: '18,5', priceMode: 'inclusive' })).expect(200)).body;
    expect(platform).to.deep.include({ defaultRateBp: 1850, defaultRate: '18.50', priceMode: 'inclusive', taxEnabled: true });
    const rows = await deps.db.select().from(sellerTaxSettings);
    expect(rows.map((r) => r.sellerKey).sort()).to.deep.equal([w.a.id, 'platform'].sort());
  });

  it('a WhatsApp balance top-up and an agency\'s chatbot slots each get one paid invoice; an exclusive seller\'s charge is invoiced as tax included', async () => {
    await setup('2026-04-01');
    const { settleAnyPayment } = await import('../../src/payments/settlement');
    await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings()).expect(200);
    const paymentId = (await api().post('/api/v1/whatsapp-balance/top-ups').set(bearer(sub().key)).send({ amountMinor: 25_000, currency: 'TRY' }).expect(201)).body.paymentId as string;
    await Promise.all([1, 2].map(() => settleAnyPayment(deps, { paymentId, approved: true, raw: {} })));
    const [wallet, ...more] = await deps.db.select().from(invoices).where(eq(invoices.paymentId, paymentId));
    expect(more).to.have.length(0);
    // 250.00 of balance from a seller whose prices exclude tax: charged 250.00 + 20% = 300.00, invoiced net 250.00, tax 50.00.
    const [walletPayment] = await deps.db.select().from(payments).where(eq(payments.id, paymentId));
    expect(walletPayment!.amountMinor).to.equal(30_000);
    expect(wallet).to.deep.include({ kind: 'purchase', status: 'paid', totalMinor: 30_000, taxMinor: 5000, priceMode: 'exclusive', sellerAgencyId: w.a.id });
    // The platform without tax: its invoice for an agency's slots carries none.
    await api().put('/api/v1/chatbot-slot-price').set(bearer(w.platformKey)).send({ priceMinor: 5000, currency: 'TRY' }).expect(200);
    const order = (await api().post('/api/v1/orders').set(bearer(w.a.key)).send({ kind: 'chatbot_slots', quantity: 2 }).expect(201)).body as { id: string };
    const [orderPayment] = await deps.db.select().from(payments).where(eq(payments.referenceId, order.id));
    await settleAnyPayment(deps, { paymentId: orderPayment!.id, approved: true, raw: {} });
    const [slots] = await deps.db.select().from(invoices).where(eq(invoices.paymentId, orderPayment!.id));
    expect(slots).to.deep.include({ kind: 'purchase', status: 'paid', totalMinor: 10_000, taxMinor: 0, priceMode: null, sellerAgencyId: null, buyerId: w.a.id });
  });
});

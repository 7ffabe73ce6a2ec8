/**
 * What a checkout charges (docs/tax.md "What a checkout charges"), hand-computed: a seller whose
 * prices exclude tax adds it at checkout and invoices net + tax = the amount charged; inclusive
 * sellers and sellers with tax off charge the stated price as before; an offer's own rate; a
 * quantity taxed once per line; an installment surcharge on top; a forged amount refused; a
 * purchase recorded as paid offline gets one paid invoice however often it is submitted.
 */
import { expect } from 'chai';
import { and, eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { agencies, invoiceLines, invoices, offerVersions, outboxEmails, payments, purchases, subAccounts, webhookEvents } from '../../db/schema';
import { settlePurchasePayment, startPurchase } from '../../src/purchases/purchases.usecases';
import { SandboxGateway } from '../../src/payments/sandbox-gateway';
import { checkoutAmount } from '../../src/tax/checkout';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('checkout: the amount charged (pure)', () => {
  const excl = { mode: 'exclusive' as const, defaultRateBp: 2000 };
  it('an exclusive seller at KDV 20%: a 149.50 pack charges 179.40 (net 149.50, tax 29.90)', () => {
    expect(checkoutAmount(excl, null, 14_950)).to.deep.include({ mode: 'exclusive', rateBp: 2000, net: 14_950, tax: 2990, total: 17_940 });
  });
  it("an offer version's own 10%: 149.50 + 14.95 = 164.45", () => {
    expect(checkoutAmount(excl, 1000, 14_950)).to.deep.include({ rateBp: 1000, net: 14_950, tax: 1495, total: 16_445 });
  });
  it('a quantity is taxed once for the line, half-up: 3 x 1.99 = 5.97, tax 1.194 -> 1.19 (not 3 x 0.40), total 7.16; 1.195 -> 1.20', () => {
    expect(checkoutAmount(excl, null, 199, 3)).to.deep.include({ priceMinor: 597, net: 597, tax: 119, total: 716 });
    // 5.975 x 20% = 1.195 -> 1.20 (half-up)
    expect(checkoutAmount(excl, null, 1195, 5, {})).to.deep.include({ net: 5975, tax: 1195, total: 7170 });
    expect(checkoutAmount({ mode: 'exclusive', defaultRateBp: 100 }, null, 2450, 1)).to.deep.include({ tax: 25, total: 2475 });
  });
  it('an inclusive seller charges the stated price (split 124.58 + 24.92); tax off and an exempt buyer pay the price with no tax', () => {
    expect(checkoutAmount({ mode: 'inclusive', defaultRateBp: 2000 }, null, 14_950)).to.deep.include({ mode: 'inclusive', net: 12_458, tax: 2492, total: 14_950 });
    expect(checkoutAmount(null, 1000, 14_950)).to.deep.include({ mode: null, rateBp: 0, net: 14_950, tax: 0, total: 14_950 });
    expect(checkoutAmount(excl, null, 14_950, 1, { buyerExempt: true })).to.deep.include({ rateBp: 0, tax: 0, total: 14_950 });
  });
  it('refuses a fractional price or quantity', () => {
    expect(() => checkoutAmount(excl, null, 1.5)).to.throw(RangeError);
    expect(() => checkoutAmount(excl, null, 100, 0)).to.throw(RangeError);
  });
});

describe('checkout: sellers whose prices exclude tax add it', () => {
  let deps: TestDeps;
  let w: World;
  const api = () => request(createApp(deps));
  const sub = () => w.a.subs[0]!;
  const actor = () => ({ kind: 'api_key' as const, id: 'k', scope: 'sub_account' as const, agencyId: w.a.id, subAccountId: sub().id, role: 'admin' as const, billing: true });
  const settings = (extra: Record<string, unknown> = {}) => ({
    taxEnabled: true, legalName: 'Ajans A Bilişim A.Ş.', addressLine1: 'Moda Cd. 1', city: 'İstanbul', district: 'Kadıköy', country: 'TR', taxOffice: 'Kadıköy',
    taxNumber: '4540536920', defaultRate: '20', priceMode: 'exclusive', ...extra,
  });

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-04-01T09:00:00Z') });
    w = await createWorld(deps);
    await deps.db.update(subAccounts).set({ billingEmail: 'client@a1.test' }).where(eq(subAccounts.id, sub().id));
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 100_000, reason: 'seed' }).expect(201);
  });
  afterEach(async () => deps.close());

  const pack = async (priceMinor = 14_950) => (await api().post('/api/v1/packages').set(bearer(w.a.key)).send({ currency: 'TRY', published: true, name: 'Credits 1000', type: 'credit', priceMinor, credits: 1000 }).expect(201)).body as { id: string };
  async function buy(packageId: string) {
    const started = await startPurchase(deps, { actor: actor(), input: { packageId }, gateway: new SandboxGateway('s', 'http://x') });
    const paymentId = /checkout\/(pay_\w+)/.exec((started.next as { url: string }).url)![1]!;
    const [payment] = await deps.db.select().from(payments).where(eq(payments.id, paymentId));
    return payment!;
  }
  const invoiceOf = async (paymentId: string) => {
    const rows = await deps.db.select().from(invoices).where(eq(invoices.paymentId, paymentId));
    expect(rows).to.have.length(1);
    const lines = await deps.db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, rows[0]!.id)).orderBy(invoiceLines.position);
    return { invoice: rows[0]!, lines };
  };

  it('a 149.50 TRY pack at KDV 20%: the buyer is charged 179.40; the invoice is exclusive, net 149.50, tax 29.90, total 179.40; the email and purchase.completed say so', async () => {
    await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings()).expect(200);
    await api().post('/api/v1/webhook-endpoints').set(bearer(w.a.key)).send({ url: 'https://crm.a.test/hook', events: ['purchase.completed'] }).expect(201);
    await deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, w.a.id));
    const payment = await buy((await pack()).id);
    expect(payment).to.deep.include({ amountMinor: 17_940, priceMode: 'exclusive', taxRateBp: 2000, taxMinor: 2990 });
    await settlePurchasePayment(deps, { paymentId: payment.id, approved: true, raw: {}, amountMinor: 17_940, currency: 'TRY' });
    const { invoice, lines } = await invoiceOf(payment.id);
    expect(invoice).to.deep.include({ status: 'paid', priceMode: 'exclusive', totalMinor: 17_940, taxMinor: 2990 });
    expect(lines.map((l) => [l.amountMinor, l.taxRateBp, l.taxMinor])).to.deep.equal([[14_950, 2000, 2990]]);
    // What was charged, not the price without tax (issue #18).
    const [event] = await deps.db.select().from(webhookEvents).where(eq(webhookEvents.type, 'purchase.completed'));
    expect(event!.data).to.deep.include({ amountMinor: 17_940, netMinor: 14_950, taxMinor: 2990, taxRateBp: 2000, installmentSurchargeMinor: 0, currency: 'TRY' });
    const [mail] = await deps.db.select().from(outboxEmails).where(sql`${outboxEmails.subject} like 'Satın alma%'`);
    expect(mail!.text).to.contain('Ara toplam (vergisiz): TRY 149,50\nKDV (%20): TRY 29,90\nTahsil edilen tutar: TRY 179,40');
  });

  it("an offer version's own 10%: charged 164.45, invoiced 149.50 + 14.95", async () => {
    await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings()).expect(200);
    const p = await pack();
    await deps.db.update(offerVersions).set({ taxRateBp: 1000 }).where(eq(offerVersions.offerId, p.id));
    const payment = await buy(p.id);
    expect(payment.amountMinor).to.equal(16_445);
    await settlePurchasePayment(deps, { paymentId: payment.id, approved: true, raw: {} });
    const { invoice, lines } = await invoiceOf(payment.id);
    expect(invoice).to.deep.include({ totalMinor: 16_445, taxMinor: 1495, priceMode: 'exclusive' });
    expect(lines[0]).to.deep.include({ amountMinor: 14_950, taxRateBp: 1000, taxMinor: 1495 });
  });

  it('an inclusive seller charges the stated price, as before (net 124.58 + tax 24.92); a seller with tax off charges it with no tax', async () => {
    await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings({ priceMode: 'inclusive' })).expect(200);
    const p = await pack();
    const incl = await buy(p.id);
    expect(incl).to.deep.include({ amountMinor: 14_950, priceMode: 'inclusive', taxMinor: 2492 });
    await settlePurchasePayment(deps, { paymentId: incl.id, approved: true, raw: {} });
    expect((await invoiceOf(incl.id)).invoice).to.deep.include({ totalMinor: 14_950, taxMinor: 2492, priceMode: 'inclusive' });

    await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings({ taxEnabled: false })).expect(200);
    const off = await buy((await pack(10_000)).id);
    expect(off).to.deep.include({ amountMinor: 10_000, priceMode: null, taxRateBp: null, taxMinor: 0 });
    await settlePurchasePayment(deps, { paymentId: off.id, approved: true, raw: {} });
    expect((await invoiceOf(off.id)).invoice).to.deep.include({ totalMinor: 10_000, taxMinor: 0, priceMode: null });
  });

  it('a forged amount is refused: a confirmation of the price without its tax fails the payment, grants and invoices nothing', async () => {
    await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings()).expect(200);
    const payment = await buy((await pack()).id);
    const r = await settlePurchasePayment(deps, { paymentId: payment.id, approved: true, raw: { forged: true }, amountMinor: 14_950, currency: 'TRY' });
    expect(r.outcome).to.equal('failed');
    expect(await deps.db.select().from(invoices).where(eq(invoices.paymentId, payment.id))).to.have.length(0);
    const [purchase] = await deps.db.select().from(purchases).where(eq(purchases.id, payment.referenceId));
    expect(purchase!.status).to.equal('payment_failed');
    // The buy form cannot name an amount: one sent is ignored and the server's is stored.
    const again = await startPurchase(deps, { actor: actor(), input: { packageId: (await pack(100)).id, amountMinor: 1, priceMinor: 1 }, gateway: new SandboxGateway('s', 'http://x') });
    const [p2] = await deps.db.select().from(payments).where(and(eq(payments.purpose, 'package_purchase'), eq(payments.referenceId, again.purchase.id)));
    expect(p2!.amountMinor).to.equal(120);
  });

  it('an installment surcharge on an exclusive checkout: its own line, tax within; the invoice totals what was charged', async () => {
    await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings()).expect(200);
    const payment = await buy((await pack()).id);
    // As chooseInstallments stores 3 installments at 3.00% (src/payments/installments.ts):
    // surcharge = round(179.40 x 3%) = 5.382 -> 5.38, charged 184.78.
    await deps.db.update(payments).set({ installments: 3, installmentSurchargeBp: 300, installmentSurchargeMinor: 538, amountMinor: 18_478 }).where(eq(payments.id, payment.id));
    await settlePurchasePayment(deps, { paymentId: payment.id, approved: true, raw: {}, amountMinor: 18_478 });
    const { invoice, lines } = await invoiceOf(payment.id);
    // 149.50 + 29.90; the surcharge 5.38 with 20% within: net round(538 / 1.2) = 448.33 -> 4.48, tax 0.90.
    expect(lines.map((l) => [l.kind, l.amountMinor, l.taxMinor])).to.deep.equal([['purchase', 14_950, 2990], ['surcharge', 448, 90]]);
    expect(invoice).to.deep.include({ totalMinor: 18_478, taxMinor: 3080, priceMode: 'exclusive' });
  });

  it("an agency's chatbot slots from an exclusive platform: 3 x 1.99 charged 7.16 (tax once for the line); the API quote and checkout answer the same", async () => {
    await api().put('/api/v1/tax-settings').set(bearer(w.platformKey)).send(settings({ legalName: 'Kontor Yazılım A.Ş.' })).expect(200);
    await api().put('/api/v1/chatbot-slot-price').set(bearer(w.platformKey)).send({ priceMinor: 199, currency: 'TRY' }).expect(200);
    const quote = (await api().post('/api/v1/orders/quote').set(bearer(w.a.key)).send({ kind: 'chatbot_slots', quantity: 3 }).expect(200)).body;
    expect(quote).to.deep.equal({ priceMinor: 597, netMinor: 597, taxMinor: 119, totalMinor: 716, taxRateBp: 2000, priceMode: 'exclusive', currency: 'TRY' });
    const started = (await api().post('/api/v1/orders').set(bearer(w.a.key)).send({ kind: 'chatbot_slots', quantity: 3 }).expect(201)).body as { id: string; charge: unknown };
    expect(started.charge).to.deep.equal(quote);
    const order = started;
    const [pay] = await deps.db.select().from(payments).where(eq(payments.referenceId, order.id));
    expect(pay!.amountMinor).to.equal(716);
    const { settleAnyPayment } = await import('../../src/payments/settlement');
    await settleAnyPayment(deps, { paymentId: pay!.id, approved: true, raw: {} });
    const { invoice, lines } = await invoiceOf(pay!.id);
    expect(invoice).to.deep.include({ totalMinor: 716, taxMinor: 119, priceMode: 'exclusive', sellerAgencyId: null });
    expect(lines[0]).to.deep.include({ quantity: 3, unitPriceMinor: 199, amountMinor: 597, taxMinor: 119 });
  });

  it('a purchase recorded as paid offline: one paid invoice by the seller, marked "offline, recorded by the seller", under a double submit', async () => {
    await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings()).expect(200);
    const p = await pack();
    const send = () => api().post(`/api/v1/sub-accounts/${sub().id}/purchases`).set(bearer(w.a.key)).set('Idempotency-Key', 'offline-1').send({ packageId: p.id, payment: 'offline' });
    const answers = await Promise.all([send(), send()]);
    expect(answers.map((a) => a.status).every((s) => s === 201 || s === 409), JSON.stringify(answers.map((a) => a.body))).to.equal(true);
    await send();
    const rows = await deps.db.select().from(purchases).where(eq(purchases.subAccountId, sub().id));
    expect(rows).to.have.length(1);
    const [payment] = await deps.db.select().from(payments).where(eq(payments.referenceId, rows[0]!.id));
    expect(payment).to.deep.include({ gateway: 'offline', status: 'confirmed', amountMinor: 17_940 });
    const { invoice } = await invoiceOf(payment!.id);
    expect(invoice).to.deep.include({ kind: 'purchase', status: 'paid', sellerAgencyId: w.a.id, totalMinor: 17_940, taxMinor: 2990, priceMode: 'exclusive' });
    // The buyer's invoice page says how it was paid.
    const { agent } = await signIn(createApp(deps), sub().owner.email);
    const page = (await agent.get(`/portal/billing/invoices/${invoice.id}`).expect(200)).text;
    expect(page).to.contain('Paid offline, recorded by the seller');
  });

  it('the portal packages page shows the price as net "+ KDV 20%" and the total to pay', async () => {
    await api().put('/api/v1/tax-settings').set(bearer(w.a.key)).send(settings()).expect(200);
    await pack();
    const { agent } = await signIn(createApp(deps), sub().owner.email);
    const page = (await agent.get('/portal/packages').expect(200)).text;
    expect(page).to.contain('TRY 149.50 + KDV 20%').and.contain('Total to pay: TRY 179.40');
    // The agency's store, buying from a platform whose prices exclude tax: each price + KDV and its total.
    await api().put('/api/v1/tax-settings').set(bearer(w.platformKey)).send(settings({ legalName: 'Kontor Yazılım A.Ş.' })).expect(200);
    await api().put('/api/v1/chatbot-slot-price').set(bearer(w.platformKey)).send({ priceMinor: 5000, currency: 'TRY' }).expect(200);
    const agency = await signIn(createApp(deps), w.a.owner.email);
    const store = (await agency.agent.get('/agency/store').expect(200)).text;
    expect(store).to.contain('TRY 50.00 + KDV 20%').and.contain('Total to pay: TRY 60.00');
    expect((await agency.agent.get('/agency/whatsapp').expect(200)).text).to.contain('KDV 20% is added to the amount you top up.');
  });
});

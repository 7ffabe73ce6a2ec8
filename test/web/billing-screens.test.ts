/**
 * The invoice screens: a client starts, changes and cancels packages, keeps a bad address form
 * with its messages, reads the prediction and its past invoices; the seller records a bank
 * transfer. Forms go through the same use cases as the API.
 */
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import type { Express } from 'express';
import request from 'supertest';
import { billingAddresses, billingSubscriptions, invoices } from '../../db/schema';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { csrfFrom, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('web: invoice screens', () => {
  let deps: TestDeps;
  let w: World;
  let app: Express;
  let b: ReturnType<typeof billingApi>;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-03-10T09:00:00Z') });
    w = await createWorld(deps);
    app = createApp(deps);
    b = billingApi(app);
  });
  afterEach(async () => deps.close());

  it('a client starts, changes and cancels a package from the billing page; the prediction and the past invoice follow', async () => {
    const small = await b.createPackage(w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 3100, chatbotSessions: 20_000, representatives: 2 });
    const large = await b.createPackage(w.a.key, { name: 'Chatbot 50k', billing: 'monthly', monthlyPriceMinor: 6200, chatbotSessions: 50_000 });
    await b.createPackage(w.a.key, { name: 'Chatbot yearly', billing: 'term', termMonths: 12, monthlyPriceMinor: 10_000 });
    const { agent, csrf } = await signIn(app, w.a.subs[0].owner.email);
    let page = await agent.get('/portal/billing').expect(200);
    expect(page.text).to.contain('You have no packages yet').and.contain('Start Chatbot 20k').and.contain('TRY 840.00'); // 10,000 x 12 x 70%
    expect(page.text).to.contain('data-testid="payment-method"');
    await agent.post('/portal/billing/subscriptions').type('form').send({ _csrf: csrf, packageId: small.id }).expect(302);
    page = await agent.get('/portal/billing').expect(200);
    expect(page.text).to.contain('Chatbot 20k started today');
    const [sub] = await deps.db.select().from(billingSubscriptions).where(eq(billingSubscriptions.buyerId, w.a.subs[0].id));
    expect(page.text).to.contain(`data-subscription="${sub!.id}"`).and.contain('renews monthly, next invoice 1 Apr 2026');
    // 1 free + 2 representatives, 20,000 sessions.
    expect(page.text).to.match(/<strong>3<\/strong> representatives/);

    moveTo(deps, '2026-03-15');
    await agent.post(`/portal/billing/subscriptions/${sub!.id}/change`).type('form').send({ _csrf: csrf, packageId: large.id }).expect(302);
    // The same change again: refused on the page with the reason, nothing changed.
    const again = await agent.post(`/portal/billing/subscriptions/${sub!.id}/change`).type('form').send({ _csrf: csrf, packageId: large.id }).expect(409);
    expect(again.text).to.contain('already replaced by a package change');
    expect(await deps.db.select().from(billingSubscriptions)).to.have.length(2);

    const prediction = await agent.get('/portal/billing/upcoming').expect(200);
    // 20k 1..15... started on the 10th: 10..15 = 6/31 of 3100 = 600; 50k 16..31 = 16/31 of 6200 = 3200.
    expect(prediction.text).to.contain('data-testid="so-far">TRY 6.00').and.contain('data-testid="estimate">TRY 38.00');
    expect(prediction.text).to.contain('changed from Chatbot 20k, from 2026-03-16');
    expect(prediction.text).to.contain('<script type="application/json" id="invoice-chart-data">').and.contain('/assets/js/invoice-chart.js');
    expect(prediction.text).not.to.match(/<script>(?!<\/script>)/);

    const [next] = await deps.db.select().from(billingSubscriptions).where(eq(billingSubscriptions.changedFromId, sub!.id));
    moveTo(deps, '2026-03-16');
    await agent.post(`/portal/billing/subscriptions/${next!.id}/cancel`).type('form').send({ _csrf: csrf }).expect(302);
    page = await agent.get('/portal/billing').expect(200);
    expect(page.text).to.contain('cancelled, ends 16 Mar 2026').and.contain('Reactivate');

    moveTo(deps, '2026-04-01');
    await tick(deps);
    page = await agent.get('/portal/billing').expect(200);
    const [inv] = await deps.db.select().from(invoices);
    // 600 + 50k for the 16th only: 6200 x 1 / 31 = 200 -> TRY 8.00.
    expect(page.text).to.contain('INV-000001').and.contain('TRY 8.00').and.contain('awaiting payment').and.contain(`/portal/billing/invoices/${inv!.id}`);
    const review = await agent.get(`/portal/billing/invoices/${inv!.id}`).expect(200);
    expect(review.text).to.contain('Chatbot 20k').and.contain('6/31').and.contain('1/31').and.contain('data-testid="invoice-total">TRY 8.00');
    const pdf = await agent.get(`/portal/billing/invoices/${inv!.id}/pdf`).expect(200);
    expect(pdf.headers['content-type']).to.equal('application/pdf');
    // A sibling client cannot open it.
    const sibling = await signIn(app, w.a.subs[1].owner.email);
    await sibling.agent.get(`/portal/billing/invoices/${inv!.id}`).expect(404);
    await sibling.agent.get(`/portal/billing/invoices/${inv!.id}/pdf`).expect(404);

    // The seller records the bank transfer on its issued invoices page.
    const seller = await signIn(app, w.a.owner.email);
    const issued = await seller.agent.get('/agency/invoices').expect(200);
    expect(issued.text).to.contain('INV-000001').and.contain('Bank transfer received');
    await seller.agent.post(`/agency/invoices/${inv!.id}/mark-paid`).type('form').send({ _csrf: seller.csrf }).expect(302);
    const twice = await seller.agent.post(`/agency/invoices/${inv!.id}/mark-paid`).type('form').send({ _csrf: seller.csrf }).expect(409);
    expect(twice.text).to.contain('is already paid');
    expect((await agent.get('/portal/billing').expect(200)).text).to.contain('badge-paid');
  });

  it('the Modules list shows every add-on the client holds for a module, each with its own cancel button', async () => {
    const first = await b.createPackage(w.a.key, { kind: 'addon', name: 'Assistant basic', billing: 'monthly', monthlyPriceMinor: 2500, modules: ['ai_assistant'] });
    const second = await b.createPackage(w.a.key, { kind: 'addon', name: 'Assistant plus', billing: 'monthly', monthlyPriceMinor: 4000, modules: ['ai_assistant'] });
    const one = (await b.start(w.a.subs[0].key, first.id).expect(201)).body.id as string;
    const two = (await b.start(w.a.subs[0].key, second.id).expect(201)).body.id as string;
    const { agent, csrf } = await signIn(app, w.a.subs[0].owner.email);
    const modules = (html: string) => /<section data-testid="modules">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
    const item = (html: string) => /<li data-module="ai_assistant">([\s\S]*?)<\/li>/.exec(modules(html))?.[1] ?? '';
    let assistant = item((await agent.get('/portal/billing').expect(200)).text);
    expect(assistant).to.contain('active').and.contain('Cancel Assistant basic').and.contain('Cancel Assistant plus');
    expect(assistant).to.contain(`/portal/billing/subscriptions/${one}/cancel`).and.contain(`/portal/billing/subscriptions/${two}/cancel`);
    // Cancelling one leaves the other listed.
    await agent.post(`/portal/billing/subscriptions/${two}/cancel`).type('form').send({ _csrf: csrf }).expect(302);
    assistant = item((await agent.get('/portal/billing').expect(200)).text);
    expect(assistant).to.contain('Cancel Assistant basic').and.not.contain('Assistant plus');
  });

  it('an address without required fields keeps the form with its messages; a valid one is printed on the next invoice', async () => {
    const { agent, csrf } = await signIn(app, w.a.subs[0].owner.email);
    const bad = await agent.post('/portal/billing/addresses').type('form').send({ _csrf: csrf, name: 'Acme Ltd', line1: '', city: '', country: '' }).expect(422);
    expect(bad.text).to.contain('Address is required.').and.contain('City is required.').and.contain('Country is required.').and.contain('value="Acme Ltd"');
    expect(await deps.db.select().from(billingAddresses)).to.have.length(0);
    await agent.post('/portal/billing/addresses').type('form').send({ _csrf: csrf, name: 'Acme Ltd', line1: 'Bağdat Cd. 1', city: 'İstanbul', country: 'Türkiye', taxId: '1234567890' }).expect(302);
    const [addr] = await deps.db.select().from(billingAddresses);
    expect(addr).to.include({ isDefault: true, city: 'İstanbul' });
    const page = await agent.get('/portal/billing').expect(200);
    await agent.post(`/portal/billing/addresses/${addr!.id}`).type('form').send({ _csrf: csrfFrom(page.text), name: 'Acme Ltd', line1: 'Bağdat Cd. 2', city: 'İstanbul', country: 'Türkiye', isDefault: 'on' }).expect(302);
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot', billing: 'monthly', monthlyPriceMinor: 3100 });
    await agent.post('/portal/billing/subscriptions').type('form').send({ _csrf: csrf, packageId: pkg.id }).expect(302);
    moveTo(deps, '2026-04-01');
    await tick(deps);
    const [inv] = await deps.db.select().from(invoices);
    expect(inv!.billingAddress).to.include({ line1: 'Bağdat Cd. 2', taxId: null });
    expect((await agent.get(`/portal/billing/invoices/${inv!.id}`).expect(200)).text).to.contain('Bağdat Cd. 2');
  });

  it('billing screens need the billing permission; the agency buys from the platform on its own billing page', async () => {
    const member = await signIn(app, w.a.member.email);
    await member.agent.get('/agency/billing').expect(403);
    await member.agent.get('/agency/invoices').expect(403);
    await request(app).get('/portal/billing').expect(302);
    const plan = await b.createPackage(w.platformKey, { name: 'Agency Pro', billing: 'monthly', monthlyPriceMinor: 31_000, currency: 'USD' });
    const owner = await signIn(app, w.a.owner.email);
    const page = await owner.agent.get('/agency/billing').expect(200);
    expect(page.text).to.contain('Start Agency Pro').and.contain('USD 310.00');
    await owner.agent.post('/agency/billing/subscriptions').type('form').send({ _csrf: owner.csrf, packageId: plan.id }).expect(302);
    moveTo(deps, '2026-04-01');
    await tick(deps);
    const platformAdmin = await signIn(app, w.platformAdmin.email);
    const issued = await platformAdmin.agent.get('/platform/invoices').expect(200);
    // 10..31 = 22 of 31 days of 31,000 = 22,000.
    // The buyer is named, never shown by its id.
    expect(issued.text).to.contain('INV-000001').and.contain('USD 220.00').and.contain(w.a.name);
    expect(issued.text.replace(/(href|action|value|data-invoice)="[^"]*"/g, '')).to.not.contain(w.a.id);
  });

  it('issued invoices are shown 50 at a time, newest first, each page continuing where the previous one ended', async () => {
    // 120 invoices over ten years of months, two clients a month (numbers follow the days).
    const rows = Array.from({ length: 120 }, (_, k) => {
      const month = new Date(Date.UTC(2016, k >> 1, 1)).toISOString().slice(0, 7);
      const sub = w.a.subs[k % 2]!;
      return {
        id: `inv_page_${k}`, agencyId: w.a.id, subAccountId: sub.id, buyerId: sub.id, sellerAgencyId: w.a.id, sellerKey: w.a.id, number: k + 1, kind: 'monthly' as const,
        period: month, periodStart: `${month}-01`, periodEnd: `${month}-28`, issueDay: `${month}-01`, dueDay: `${month}-11`, currency: 'TRY' as const, totalMinor: 1000, status: 'paid' as const,
      };
    });
    await deps.db.insert(invoices).values(rows);
    const seller = await signIn(app, w.a.owner.email);
    const numbersOf = (html: string) => [...html.matchAll(/data-invoice="inv_page_(\d+)"/g)].map((m) => Number(m[1]) + 1);
    const first = (await seller.agent.get('/agency/invoices').expect(200)).text;
    expect(numbersOf(first)).to.deep.equal(Array.from({ length: 50 }, (_, i) => 120 - i));
    expect(first).to.not.contain('data-testid="newest-invoices"');
    const next = /href="([^"]+)" data-testid="older-invoices"/.exec(first)?.[1] ?? '';
    expect(next).to.equal('/agency/invoices?before=inv_page_70');
    const second = (await seller.agent.get(next).expect(200)).text;
    expect(numbersOf(second)).to.deep.equal(Array.from({ length: 50 }, (_, i) => 70 - i));
    expect(second).to.contain('Newest invoices').and.contain('Older invoices');
    const third = (await seller.agent.get('/agency/invoices?before=inv_page_20').expect(200)).text;
    expect(numbersOf(third)).to.deep.equal(Array.from({ length: 20 }, (_, i) => 20 - i));
    expect(third).to.not.contain('data-testid="older-invoices"');
    // Another seller's invoice id starts nothing: the page is empty, never that seller's order.
    const other = await signIn(app, w.b.owner.email);
    expect(numbersOf((await other.agent.get('/agency/invoices?before=inv_page_70').expect(200)).text)).to.deep.equal([]);
  });
});

/**
 * Suspension that holds (issue 16, DESIGN section 6): a suspended account pays invoices and
 * manages cards and billing addresses, nothing else. Every buying action is refused with 403
 * `account_suspended` and a message that says what lifts it, and changes nothing; the billing
 * page hides the buying forms. Invoices past their due day read "Overdue by N days".
 */
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import type { Express } from 'express';
import { billingSubscriptions, payments, purchases, subAccounts } from '../../db/schema';
import type { Actor } from '../../src/auth/actor';
import { startPurchase } from '../../src/purchases/purchases.usecases';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('suspension holds: a suspended account pays, and buys nothing', function () {
  this.timeout(90_000);
  let deps: TestDeps;
  let w: World;
  let app: Express;
  let b: ReturnType<typeof billingApi>;
  const key = () => w.a.subs[0].key;
  const pkgs = {} as Record<'chatbot' | 'support' | 'ticket' | 'reps' | 'extra' | 'credits' | 'sub' | 'repsSub' | 'ticketSub', string>;

  /** A client on a monthly package from March 10 with April's and May's invoices unpaid: suspended on May 12. */
  async function suspendedClient(): Promise<void> {
    pkgs.chatbot = (await b.createPackage(w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 3100, chatbotSessions: 20_000 })).id;
    pkgs.support = (await b.createPackage(w.a.key, { name: 'Support 3', billing: 'monthly', monthlyPriceMinor: 3000, representatives: 3 })).id;
    pkgs.ticket = (await b.createPackage(w.a.key, { name: 'Ticket system', kind: 'addon', billing: 'monthly', monthlyPriceMinor: 500, modules: ['ticket_system'] })).id;
    pkgs.reps = (await b.createPackage(w.a.key, { name: 'Extra representative', kind: 'quantity', unit: 'representative', billing: 'monthly', monthlyPriceMinor: 1000 })).id;
    pkgs.extra = (await b.createPackage(w.a.key, { name: 'Extra 1k', kind: 'extra_sessions', monthlyPriceMinor: 500, chatbotSessions: 1000 })).id;
    pkgs.credits = (await b.api().post('/api/v1/packages').set(bearer(w.a.key)).send({ name: 'Credits 100', type: 'credit', priceMinor: 1000, currency: 'TRY', credits: 100, published: true }).expect(201)).body.id;
    pkgs.sub = (await b.start(key(), pkgs.chatbot).expect(201)).body.id;
    pkgs.repsSub = (await b.start(key(), pkgs.reps, { quantity: 2 }).expect(201)).body.id;
    pkgs.ticketSub = (await b.start(key(), pkgs.ticket).expect(201)).body.id;
    await b.cancel(key(), pkgs.ticketSub).expect(200);
    for (const day of ['2026-04-01', '2026-05-01', '2026-05-12']) {
      moveTo(deps, day);
      await tick(deps);
    }
    const [sub] = await deps.db.select().from(subAccounts).where(eq(subAccounts.id, w.a.subs[0].id));
    expect(sub!.status).to.equal('suspended');
  }

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-03-10T09:00:00Z') });
    w = await createWorld(deps);
    app = createApp(deps);
    b = billingApi(app);
    await deps.db.update(subAccounts).set({ billingEmail: 'client@a1.test' }).where(eq(subAccounts.id, w.a.subs[0].id));
  });
  afterEach(async () => deps.close());

  it('API: new subscriptions, changes, quantities, reactivations, extra sessions, package purchases and top-ups are refused with account_suspended; nothing changes', async () => {
    await suspendedClient();
    const snapshot = async () => JSON.stringify({
      subs: await deps.db.select({ id: billingSubscriptions.id, status: billingSubscriptions.status }).from(billingSubscriptions).orderBy(billingSubscriptions.id),
      purchases: (await deps.db.select().from(purchases)).length,
      payments: (await deps.db.select().from(payments)).length,
    });
    const before = await snapshot();
    const api = b.api();
    const refused = [
      await b.start(key(), pkgs.support),
      await b.change(key(), pkgs.sub, pkgs.support),
      await b.change(key(), pkgs.repsSub, pkgs.reps, { quantity: 5 }),
      await b.reactivate(key(), pkgs.ticketSub),
      await api.post('/api/v1/extra-sessions').set(bearer(key())).send({ quantity: 1 }),
      await api.post('/api/v1/whatsapp-balance/top-ups').set(bearer(key())).send({ amountMinor: 1000, currency: 'TRY' }),
    ];
    for (const r of refused) {
      expect(r.status, JSON.stringify(r.body)).to.equal(403);
      expect(r.body.error).to.equal('account_suspended');
      // The message says exactly what lifts it.
      expect(r.body.message).to.contain('2 invoices are overdue').and.contain('fewer than 2 invoices remain overdue').and.contain('Pay all overdue');
      expect(r.body.reasons).to.deep.equal(['overdue']);
      expect(r.body.overdueInvoices.map((i: { number: string }) => i.number)).to.deep.equal(['INV-000001', 'INV-000002']);
    }
    expect(refused[1]!.body.message).to.contain('changing Chatbot 20k to Support 3 is not possible');
    expect(refused[2]!.body.message).to.contain('changing the quantity of Extra representative');
    // A resold package (the portal's buy button goes through this use case).
    const actor: Actor = { kind: 'api_key', id: w.a.subs[0].keyId, scope: 'sub_account', agencyId: w.a.id, subAccountId: w.a.subs[0].id, role: 'owner', billing: true };
    const started = await startPurchase(deps, { actor, input: { packageId: pkgs.credits }, gateway: { kind: 'sandbox', start: async () => ({ kind: 'redirect', url: '/x' }) } }).catch((e: unknown) => e);
    expect(started).to.have.property('code', 'account_suspended');
    expect(await snapshot()).to.equal(before);

    // What it can do: pay an invoice, save a card, add a billing address, cancel a monthly package.
    const [inv] = (await b.invoices(key())).filter((i) => i.status === 'open');
    const paid = await api.post(`/api/v1/invoices/${inv!.id}/pay`).set(bearer(key())).send({});
    expect(paid.status, JSON.stringify(paid.body)).to.equal(201);
    // Cards: listed, and saving one is not refused for the suspension (here: the seller has no payment system).
    await api.get('/api/v1/payment-methods').set(bearer(key())).expect(200);
    expect((await api.post('/api/v1/payment-methods').set(bearer(key())).send({ testCard: 'visa' })).body.error).to.equal('payments_not_configured');
    expect((await api.post('/api/v1/billing-addresses').set(bearer(key())).send({ name: 'Client', line1: 'Street 1', city: 'Istanbul', country: 'TR' })).status).to.equal(201);
    await b.cancel(key(), pkgs.sub).expect(200);
    // A sibling that is not suspended still buys.
    await b.start(w.a.subs[1].key, pkgs.support).expect(201);
  });

  it('web: the billing page says what lifts it, hides the buying forms and refuses a forged post on the page', async () => {
    await suspendedClient();
    const { agent, csrf } = await signIn(app, w.a.subs[0].owner.email);
    const page = await agent.get('/portal/billing').expect(200);
    expect(page.text).to.contain('data-testid="suspension-lift"').and.contain('fewer than 2 invoices remain overdue');
    expect(page.text).to.contain('Until then you can pay invoices and manage cards and billing addresses, nothing else.');
    expect(page.text).to.contain('data-testid="pay-all-overdue"');
    // No form to start, add, reactivate or buy extra sessions; the buttons are disabled or gone.
    expect(page.text).to.not.contain(`action="/portal/billing/subscriptions"`);
    expect(page.text).to.not.contain('/reactivate"').and.not.contain('action="/portal/billing/extra-sessions"').and.not.contain(`/billing/subscriptions/${pkgs.sub}/change`);
    expect(page.text).to.contain('Unavailable while the account is suspended.');
    // The address form and the cancel button stay.
    expect(page.text).to.contain('data-testid="address-form"').and.contain(`/billing/subscriptions/${pkgs.sub}/cancel`);
    const forged = await agent.post('/portal/billing/subscriptions').type('form').send({ _csrf: csrf, packageId: pkgs.support }).expect(403);
    expect(forged.text).to.contain('This account is suspended, so starting Support 3 is not possible.');
    expect(await deps.db.select().from(billingSubscriptions).where(eq(billingSubscriptions.packageId, pkgs.support))).to.have.length(0);
    // The portal's package page is out of reach (the gate sends it to billing), a buy post too.
    expect((await agent.get('/portal/packages').expect(302)).headers.location).to.equal('/portal/billing');
    await agent.post(`/portal/packages/${pkgs.credits}/buy`).type('form').send({ _csrf: csrf }).expect(302);
    expect(await deps.db.select().from(purchases)).to.have.length(0);
  });

  it('a suspended agency buying from the platform, and a sub-account suspended by hand, are refused with who lifts it', async () => {
    const plan = (await b.createPackage(w.platformKey, { name: 'Agency Pro', billing: 'monthly', monthlyPriceMinor: 31_000, currency: 'USD' })).id;
    await b.api().patch(`/api/v1/agencies/${w.a.id}`).set(bearer(w.platformKey)).send({ suspended: true }).expect(200);
    const r = await b.start(w.a.key, plan).expect(403);
    expect(r.body.error).to.equal('account_suspended');
    expect(r.body.reasons).to.deep.equal(['manual']);
    expect(r.body.message).to.match(/suspended this account by hand; only .+ can lift it/);
    // Its clients' purchases from it wait too.
    const own = (await b.createPackage(w.a.key, { name: 'Chatbot', billing: 'monthly', monthlyPriceMinor: 100 })).id;
    const provider = await b.start(w.b.subs[0].key, own);
    expect(provider.status).to.equal(404); // another agency's package: not found, as before
    const client = await b.start(key(), own).expect(403);
    expect(client.body.reasons).to.deep.equal(['provider']);
    await b.api().patch(`/api/v1/agencies/${w.a.id}`).set(bearer(w.platformKey)).send({ suspended: false }).expect(200);
    await b.start(w.a.key, plan).expect(201);

    // A sub-account suspended by hand (status, no overdue invoices).
    await deps.db.update(subAccounts).set({ status: 'suspended', manualSuspended: true, suspendedAt: deps.clock.now() }).where(eq(subAccounts.id, w.a.subs[1].id));
    const hand = await b.start(w.a.subs[1].key, own).expect(403);
    expect(hand.body.reasons).to.deep.equal(['manual']);
    expect(hand.body.message).to.contain(`${w.a.name} suspended this account by hand; only ${w.a.name} can lift it`);
    await b.start(key(), own).expect(201);
  });

  it('invoices past their due day read "Overdue by N days" in the buyer\'s list, the seller\'s issued list and the invoice page', async () => {
    await suspendedClient();
    // May 12 in Istanbul: INV-000001 was due April 11 (31 days ago), INV-000002 May 11 (1 day).
    const list = (await b.invoices(key())).reverse();
    expect(list.map((i) => [i.number, i.dueDay])).to.deep.equal([['INV-000001', '2026-04-11'], ['INV-000002', '2026-05-11']]);
    const client = await signIn(app, w.a.subs[0].owner.email);
    const billing = (await client.agent.get('/portal/billing').expect(200)).text;
    expect(billing).to.contain('Overdue by 31 days').and.contain('Overdue by 1 day<').and.not.contain('awaiting payment');
    const one = (await client.agent.get(`/portal/billing/invoices/${list[0]!.id}`).expect(200)).text;
    expect(one).to.contain('Overdue by 31 days');
    const seller = await signIn(app, w.a.owner.email);
    const issued = (await seller.agent.get('/agency/invoices').expect(200)).text;
    expect(issued).to.contain('Overdue by 31 days').and.contain('Overdue by 1 day<');
    expect((await seller.agent.get(`/agency/invoices/${list[1]!.id}`).expect(200)).text).to.contain('Overdue by 1 day');
    // Counted in the seller's calendar: at 22:30 UTC on May 12 it is already May 13 in Istanbul.
    moveTo(deps, '2026-05-12', 22);
    expect((await seller.agent.get('/agency/invoices').expect(200)).text).to.contain('Overdue by 32 days').and.contain('Overdue by 2 days');
    // Not yet due: still "awaiting payment" (an issued invoice's due day never changes: the clock goes back to its due day).
    moveTo(deps, '2026-05-11');
    expect((await seller.agent.get(`/agency/invoices/${list[1]!.id}`).expect(200)).text).to.contain('awaiting payment').and.not.contain('Overdue by');
  });
});

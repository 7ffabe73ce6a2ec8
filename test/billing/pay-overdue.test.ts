/**
 * "Pay all overdue" (issue 16): one payment at the seller's gateway for every overdue invoice.
 * Pressed twice at once it is one payment; declined, it pays nothing; confirmed, it pays them all
 * in one transaction and the suspension lifts at once.
 */
import { expect } from 'chai';
import { and, eq } from 'drizzle-orm';
import type { Express } from 'express';
import { auditLog, invoices, payments, subAccounts } from '../../db/schema';
import { recordBankTransfer } from '../../src/billing/invoices.usecases';
import { settleAnyPayment } from '../../src/payments/settlement';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('pay all overdue: one payment for every overdue invoice', function () {
  this.timeout(90_000);
  let deps: TestDeps;
  let w: World;
  let app: Express;
  let b: ReturnType<typeof billingApi>;
  const key = () => w.a.subs[0].key;
  const subRow = async () => (await deps.db.select().from(subAccounts).where(eq(subAccounts.id, w.a.subs[0].id)))[0]!;
  const payOverdue = () => b.api().post('/api/v1/invoices/pay-overdue').set(bearer(key())).send({});

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-03-10T09:00:00Z') });
    w = await createWorld(deps);
    app = createApp(deps);
    b = billingApi(app);
    await deps.db.update(subAccounts).set({ billingEmail: 'client@a1.test' }).where(eq(subAccounts.id, w.a.subs[0].id));
    // March 10..31 (22/31 of 3100 = 2200) and April (3100), both unpaid: suspended on May 12.
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 3100, chatbotSessions: 20_000 });
    await b.start(key(), pkg.id).expect(201);
    for (const day of ['2026-04-01', '2026-05-01', '2026-05-12']) {
      moveTo(deps, day);
      await tick(deps);
    }
    expect((await subRow()).status).to.equal('suspended');
  });
  afterEach(async () => deps.close());

  it('pressed six times at once: one payment of the exact total; declined it pays nothing; confirmed it pays both and lifts the suspension', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => payOverdue()));
    expect(answers.map((a) => a.status)).to.deep.equal(answers.map(() => 201));
    expect(new Set(answers.map((a) => a.body.paymentId)).size).to.equal(1);
    expect(answers[0]!.body).to.include({ amountMinor: 2200 + 3100, currency: 'TRY' });
    expect(answers[0]!.body.invoices.map((i: { number: string }) => i.number)).to.deep.equal(['INV-000001', 'INV-000002']);
    const rows = await deps.db.select().from(payments).where(eq(payments.purpose, 'invoice_batch'));
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ status: 'pending', amountMinor: 5300, buyerSubAccountId: w.a.subs[0].id, sellerAgencyId: w.a.id });

    // Declined: no invoice paid, still suspended.
    await settleAnyPayment(deps, { paymentId: rows[0]!.id, approved: false, reason: 'declined', raw: {} });
    const open = async () => (await deps.db.select().from(invoices).where(eq(invoices.buyerId, w.a.subs[0].id))).filter((i) => i.status === 'open');
    expect(await open()).to.have.length(2);
    expect((await subRow()).status).to.equal('suspended');

    // Another try is a new payment; a gateway confirming another amount is refused (nothing paid).
    const retry = (await payOverdue().expect(201)).body;
    expect(retry.paymentId).to.not.equal(rows[0]!.id);
    await settleAnyPayment(deps, { paymentId: retry.paymentId, approved: true, raw: {}, amountMinor: 2200, currency: 'TRY' });
    expect(await open()).to.have.length(2);
    const third = (await payOverdue().expect(201)).body;
    await settleAnyPayment(deps, { paymentId: third.paymentId, approved: true, raw: {}, amountMinor: 5300, currency: 'TRY' });
    // A replayed callback changes nothing.
    await settleAnyPayment(deps, { paymentId: third.paymentId, approved: true, raw: {}, amountMinor: 5300, currency: 'TRY' });

    const after = await deps.db.select().from(invoices).where(eq(invoices.buyerId, w.a.subs[0].id));
    expect(after.map((i) => [i.status, i.paymentId])).to.deep.equal([['paid', third.paymentId], ['paid', third.paymentId]]);
    expect(await deps.db.select().from(auditLog).where(eq(auditLog.action, 'invoice.paid'))).to.have.length(2);
    const sub = await subRow();
    expect(sub).to.include({ status: 'active', overdueSuspendedAt: null });
    expect(await deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'account.reactivated'), eq(auditLog.targetId, sub.id)))).to.have.length(1);
    // Nothing is left to pay; the client buys again.
    expect((await payOverdue().expect(409)).body.error).to.equal('nothing_overdue');
    expect(await deps.db.select().from(payments).where(and(eq(payments.purpose, 'invoice_batch'), eq(payments.status, 'confirmed')))).to.have.length(1);
  });

  it('through the billing page and the gateway page: suspended, pays all overdue, back at once', async () => {
    const client = await signIn(app, w.a.subs[0].owner.email);
    const before = (await client.agent.get('/portal/billing').expect(200)).text;
    expect(before).to.contain('data-testid="suspension"').and.contain('Pay all overdue (TRY 53.00)');
    const res = await client.agent.post('/portal/billing/pay-overdue').type('form').send({ _csrf: client.csrf }).expect(302);
    const url = new URL(res.headers.location as string);
    expect(url.pathname).to.match(/^\/sandbox\/checkout\/pay_\w+$/);
    const paymentId = url.pathname.split('/').pop()!;
    const checkout = await client.agent.get(url.pathname + url.search).expect(200);
    expect(checkout.text).to.contain('2 overdue invoices (INV-000001, INV-000002)');
    const paid = await client.agent.post(`/sandbox/checkout/${paymentId}`).type('form').send({ _csrf: client.csrf, sig: url.searchParams.get('sig'), decision: 'pay' }).expect(302);
    expect(paid.headers.location).to.equal('/portal/billing');
    const page = (await client.agent.get('/portal/billing').expect(200)).text;
    expect(page).to.not.contain('data-testid="suspension"').and.not.contain('data-testid="pay-all-overdue"');
    expect((await subRow()).status).to.equal('active');
    // The rest of the portal is reachable again.
    await client.agent.get('/portal/packages').expect(200);
  });

  it('an invoice paid another way while the payment was open: the rest is paid, the surplus recorded for a refund, nothing paid twice', async () => {
    const started = (await payOverdue().expect(201)).body;
    const [first] = (await b.invoices(key())).reverse();
    const sellerAdmin = { kind: 'api_key' as const, id: w.a.keyId, scope: 'agency' as const, agencyId: w.a.id, subAccountId: null, role: 'owner' as const, billing: true };
    await recordBankTransfer(deps, { actor: sellerAdmin, invoiceId: first!.id });
    await settleAnyPayment(deps, { paymentId: started.paymentId, approved: true, raw: {}, amountMinor: 5300, currency: 'TRY' });
    const after = await deps.db.select().from(invoices).where(eq(invoices.buyerId, w.a.subs[0].id));
    const byId = new Map(after.map((i) => [i.id, i]));
    expect(byId.get(first!.id)).to.include({ status: 'paid', paymentId: null });
    expect(after.filter((i) => i.paymentId === started.paymentId)).to.have.length(1);
    const [surplus] = await deps.db.select().from(auditLog).where(eq(auditLog.action, 'payment.surplus'));
    expect(surplus!.data).to.include({ amountMinor: 2200, currency: 'TRY' });
  });
});

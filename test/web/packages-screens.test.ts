import { expect } from 'chai';
import { and, eq, sql } from 'drizzle-orm';
import request from 'supertest';
import {
  creditLedger, memberships, offers as packages, offerVersions as packageVersions, paymentEvents, payments, purchases, subAccountDepartments, subscriptions, users,
} from '../../db/schema';
import { newId } from '../../src/lib/ids';
import { hashPassword } from '../../src/lib/password';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { createWorld, PASSWORD, type World } from '../support/world';

type Agent = Awaited<ReturnType<typeof signIn>>;

describe('package, purchase and sandbox checkout screens', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  let support: string; // a department of agency A
  let sales: string;
  const api = () => request(app);
  const count = async (t: typeof packages | typeof purchases | typeof packageVersions | typeof creditLedger) =>
    (await deps.db.select({ n: sql<number>`count(*)::int` }).from(t))[0]!.n;
  const balanceOf = async (key: string) => (await api().get('/api/v1/balance').set(bearer(key)).expect(200)).body.balance as number;

  /** An agency-A package through the API (the form is tested on its own below). */
  const newPackage = async (input: Record<string, unknown>) =>
    (await api().post('/api/v1/packages').set(bearer(w.a.key)).send({ currency: 'TRY', published: true, ...input }).expect(201)).body as { id: string; version: number };

  /** Buy: the portal form answers a redirect to the sandbox checkout; returns its local path. */
  const buy = async (client: Agent, packageId: string, extra: Record<string, string> = {}) => {
    const res = await client.agent.post(`/portal/packages/${packageId}/buy`).type('form').send({ _csrf: client.csrf, ...extra }).expect(302);
    const location = res.headers.location as string;
    expect(location).to.match(/^http:\/\/kontor\.test\/sandbox\/checkout\/pay_\w+\?sig=[\w-]+$/);
    const url = new URL(location);
    return { path: url.pathname + url.search, paymentId: url.pathname.split('/').pop()!, sig: url.searchParams.get('sig')! };
  };
  /** The buyer opens the sandbox page and presses Pay or Decline; returns the flash shown next. */
  const settle = async (client: Agent, checkout: { path: string; paymentId: string; sig: string }, decision: 'pay' | 'decline') => {
    const res = await client.agent.post(`/sandbox/checkout/${checkout.paymentId}`).type('form').send({ _csrf: client.csrf, sig: checkout.sig, decision }).expect(302);
    expect(res.headers.location).to.equal('/portal/purchases');
    return (await client.agent.get('/portal/purchases').expect(200)).text;
  };
  const purchaseOf = async (paymentId: string) => {
    const [pay] = await deps.db.select().from(payments).where(eq(payments.id, paymentId));
    const [p] = await deps.db.select().from(purchases).where(eq(purchases.id, pay!.referenceId));
    return p!;
  };

  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 100_000, reason: 'seed' }).expect(201);
    support = (await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Support', creditsPerRequest: 2 }).expect(201)).body.id;
    sales = (await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Sales', creditsPerRequest: 1 }).expect(201)).body.id;
  });
  after(async () => {
    await assertLedgerInvariant(deps.db);
    await deps.close();
  });

  it('the agency creates a package from the form; bad prices keep the form and write nothing', async () => {
    const owner = await signIn(app, w.a.owner.email);
    const form = { _csrf: owner.csrf, name: 'Kept name', type: 'credit', currency: 'USD', credits: '500', termMonths: '', chatbots: '0', departmentIds: [support, sales], published: 'on' };
    const cases: [string, string][] = [
      ['0', 'The price must be more than zero.'],
      ['-5', 'The price cannot be negative.'],
      ['1.999', 'Use at most 2 decimals, for example 199.90.'],
      ['abc', 'Enter the price as a number, for example 199.90.'],
      ['99999999999999', 'The price must be at most 1,000,000,000.00.'],
      ['', 'Enter a price, for example 199.90.'],
    ];
    for (const [price, message] of cases) {
      const res = await owner.agent.post('/agency/packages').type('form').send({ ...form, price }).expect(422);
      expect(res.text, price).to.contain(message).and.contain('value="Kept name"').and.contain(`name="price" inputmode="decimal" placeholder="199.90" value="${price}"`);
      expect(res.text).to.match(/<option value="USD" selected>/);
      expect(res.text).to.match(new RegExp(`value="${sales}" checked`));
    }
    // Several problems at once are all reported; a subscription needs a term.
    const many = await owner.agent.post('/agency/packages').type('form').send({ ...form, name: ' ', type: 'subscription', price: '10', credits: 'lots' }).expect(422);
    expect(many.text).to.contain('Name is required.').and.contain('Enter a whole number of credits (0 or more).').and.contain('A subscription needs a term in months (1 to 36).');
    expect(await count(packages)).to.equal(0);
    expect(await count(packageVersions)).to.equal(0);

    await owner.agent.post('/agency/packages').type('form').send({ ...form, price: '199.9' }).expect(302);
    const [v] = await deps.db.select().from(packageVersions);
    expect(v).to.include({ name: 'Kept name', billing: 'one_off', priceMinor: 19990, currency: 'USD', credits: 500, termMonths: null, chatbots: 0, version: 1 });
    expect([...v!.departmentIds].sort()).to.deep.equal([support, sales].sort());
    const list = await owner.agent.get('/agency/packages').expect(200);
    expect(list.text).to.contain('Package Kept name created and published.').and.contain('USD 199.90').and.contain('Sales, Support').and.contain('v1');
    // A decimal comma and a one-cent price are exact (no float rounding).
    await owner.agent.post('/agency/packages').type('form').send({ ...form, name: 'Cheap', price: '0,01', published: undefined }).expect(302);
    await owner.agent.post('/agency/packages').type('form').send({ ...form, name: 'Odd', price: '1234567.89', type: 'subscription', termMonths: '3' }).expect(302);
    const prices = (await deps.db.select({ name: packageVersions.name, p: packageVersions.priceMinor, t: packageVersions.termMonths }).from(packageVersions)).map((r) => [r.name, r.p, r.t]);
    expect(prices).to.deep.include.members([['Cheap', 1, null], ['Odd', 123456789, 3]]);
  });

  it('the package screens: members without billing get the error page, agencies without the module the upgrade page', async () => {
    const member = await signIn(app, w.a.member.email);
    for (const path of ['/agency/packages', '/agency/purchases']) {
      const res = await member.agent.get(path).expect(403);
      expect(res.text).to.contain('This needs the billing permission.');
    }
    await member.agent.post('/agency/packages').type('form').send({ _csrf: member.csrf, name: 'x', type: 'credit', price: '1', currency: 'TRY', credits: '1' }).expect(403);
    const bOwner = await signIn(app, w.b.owner.email);
    // Payment systems too: its nav link leads to what the module does, not to an error page.
    for (const [path, title] of [['/agency/packages', 'Packages'], ['/agency/purchases', 'Purchases'], ['/agency/payment-systems', 'Payment systems']]) {
      const res = await bOwner.agent.get(path!).expect(403);
      expect(res.text).to.contain('reselling module').and.contain('Ask the platform').and.contain(`<h1>${title}</h1>`);
    }
    const owner = await signIn(app, w.a.owner.email);
    const nav = await owner.agent.get('/agency/purchases').expect(200);
    expect(nav.text).to.contain('href="/agency/packages"').and.contain('href="/agency/purchases" aria-current=page');
  });

  it('a client buys a credit package end to end: buy -> sandbox -> pay -> granted, from the pool, departments enabled', async () => {
    const pkg = await newPackage({ name: 'Starter', type: 'credit', priceMinor: 9990, credits: 500, departmentIds: [support] });
    const client = await signIn(app, w.a.subs[0].owner.email);
    const list = await client.agent.get('/portal/packages').expect(200);
    expect(list.text).to.contain('Starter').and.contain('TRY 99.90').and.contain('<strong>500</strong> message credits').and.contain('Departments: Support');
    expect(list.text).to.contain(`action="/portal/packages/${pkg.id}/buy"`);
    const poolBefore = await balanceOf(w.a.key);

    const checkout = await buy(client, pkg.id);
    const pageRes = await client.agent.get(checkout.path).expect(200);
    expect(pageRes.text).to.contain('Sandbox payment — no real money').and.contain('Starter').and.contain('TRY 99.90').and.contain(w.a.subs[0].name);
    expect(pageRes.text).to.contain('data-testid="pay"').and.contain('data-testid="decline"');
    // Nothing is granted before the payment is confirmed.
    expect((await purchaseOf(checkout.paymentId)).status).to.equal('pending_payment');
    expect(await balanceOf(w.a.subs[0].key)).to.equal(0);

    const after = await settle(client, checkout, 'pay');
    expect(after).to.contain('Payment confirmed: package applied').and.contain('Starter').and.match(/data-testid="status">granted</);
    expect(after).to.match(/data-testid="balance">500 credits/);
    const purchase = await purchaseOf(checkout.paymentId);
    expect(purchase).to.include({ status: 'granted', priceMinor: 9990, currency: 'TRY', paymentMethod: 'sandbox', buyerUserId: w.a.subs[0].owner.id });
    expect(await balanceOf(w.a.subs[0].key)).to.equal(500);
    expect(await balanceOf(w.a.key)).to.equal(poolBefore - 500);
    const enabled = await deps.db.select().from(subAccountDepartments).where(eq(subAccountDepartments.subAccountId, w.a.subs[0].id));
    expect(enabled.map((d) => d.departmentId)).to.deep.equal([support]);
    const [pay] = await deps.db.select().from(payments).where(eq(payments.id, checkout.paymentId));
    expect(pay).to.include({ status: 'confirmed', amountMinor: 9990 });
    const events = await deps.db.select().from(paymentEvents).where(eq(paymentEvents.paymentId, checkout.paymentId));
    expect(events.map((e) => e.raw)).to.deep.include({ decision: 'pay', via: 'sandbox' });

    // The sandbox page of a settled payment offers no buttons any more.
    const again = await client.agent.get(checkout.path).expect(200);
    expect(again.text).to.contain('This payment was already settled').and.not.contain('data-testid="pay"');

    // The agency sees it, and its filters work.
    const owner = await signIn(app, w.a.owner.email);
    const all = await owner.agent.get('/agency/purchases').expect(200);
    expect(all.text).to.contain(`data-purchase="${purchase.id}"`).and.contain(w.a.subs[0].name).and.contain('Starter').and.contain('TRY 99.90').and.contain('badge-granted');
    expect((await owner.agent.get('/agency/purchases?status=granted').expect(200)).text).to.contain(`data-purchase="${purchase.id}"`);
    expect((await owner.agent.get('/agency/purchases?status=payment_failed').expect(200)).text).not.to.contain(`data-purchase="${purchase.id}"`);
    expect((await owner.agent.get(`/agency/purchases?subAccountId=${w.a.subs[0].id}`).expect(200)).text).to.contain(`data-purchase="${purchase.id}"`);
    expect((await owner.agent.get(`/agency/purchases?subAccountId=${w.a.subs[1].id}`).expect(200)).text).not.to.contain(`data-purchase="${purchase.id}"`);
    await owner.agent.get(`/agency/purchases?subAccountId=${w.b.subs[0].id}`).expect(404);
    await owner.agent.get('/agency/purchases?status=bogus').expect(422);
    await assertLedgerInvariant(deps.db);
  });

  it('a declined payment grants nothing; paying it afterwards is refused as already settled', async () => {
    const pkg = await newPackage({ name: 'Decline me', type: 'credit', priceMinor: 500, credits: 50, departmentIds: [sales] });
    const client = await signIn(app, w.a.subs[1].owner.email);
    const poolBefore = await balanceOf(w.a.key);
    const ledgerBefore = await count(creditLedger);
    const checkout = await buy(client, pkg.id);
    const after = await settle(client, checkout, 'decline');
    expect(after).to.contain('Payment declined: nothing was charged').and.match(/data-testid="status">payment failed</);
    expect((await purchaseOf(checkout.paymentId)).status).to.equal('payment_failed');
    const replay = await settle(client, checkout, 'pay');
    expect(replay).to.contain('This payment was already settled');
    expect((await purchaseOf(checkout.paymentId)).status).to.equal('payment_failed');
    expect(await balanceOf(w.a.subs[1].key)).to.equal(0);
    expect(await balanceOf(w.a.key)).to.equal(poolBefore);
    expect(await count(creditLedger)).to.equal(ledgerBefore);
    expect(await deps.db.select().from(subAccountDepartments).where(eq(subAccountDepartments.subAccountId, w.a.subs[1].id))).to.have.length(0);
    const owner = await signIn(app, w.a.owner.email);
    const failed = await owner.agent.get('/agency/purchases?status=payment_failed').expect(200);
    expect(failed.text).to.contain('Decline me').and.contain('payment failed');
    await assertLedgerInvariant(deps.db);
  });

  it('a double POST of pay grants once (one after the other, and at the same time)', async () => {
    const pkg = await newPackage({ name: 'Stack', type: 'credit', priceMinor: 1000, credits: 100 });
    const client = await signIn(app, w.a.subs[0].owner.email);
    const start = await balanceOf(w.a.subs[0].key);

    const first = await buy(client, pkg.id);
    expect(await settle(client, first, 'pay')).to.contain('Payment confirmed: package applied');
    expect(await settle(client, first, 'pay')).to.contain('This payment was already settled');
    expect(await balanceOf(w.a.subs[0].key)).to.equal(start + 100);

    const second = await buy(client, pkg.id); // credit packages stack: a second purchase adds again
    expect(second.paymentId).not.to.equal(first.paymentId);
    const post = () => client.agent.post(`/sandbox/checkout/${second.paymentId}`).type('form').send({ _csrf: client.csrf, sig: second.sig, decision: 'pay' });
    const results = await Promise.all([post(), post(), post()]);
    expect(results.map((r) => r.status)).to.deep.equal([302, 302, 302]);
    expect(await balanceOf(w.a.subs[0].key)).to.equal(start + 200);
    const p = await purchaseOf(second.paymentId);
    expect(p.status).to.equal('granted');
    const grants = await deps.db.select().from(creditLedger).where(and(eq(creditLedger.reference, `purchase:${p.id}`), eq(creditLedger.subAccountId, w.a.subs[0].id)));
    expect(grants).to.have.length(1);
    await assertLedgerInvariant(deps.db);
  });

  it('a double click on Buy reuses the pending checkout instead of opening a second one', async () => {
    const pkg = await newPackage({ name: 'Twice', type: 'credit', priceMinor: 700, credits: 10 });
    const client = await signIn(app, w.a.subs[1].owner.email);
    const before = await count(purchases);
    const [a, b] = [await buy(client, pkg.id), await buy(client, pkg.id)];
    expect(a.paymentId).to.equal(b.paymentId);
    expect(await count(purchases)).to.equal(before + 1);
  });

  it('switching type shows what is forfeited first; nothing happens until confirmed; then renewals wait for the window', async () => {
    const sub = await newPackage({ name: 'Monthly', type: 'subscription', priceMinor: 30000, credits: 1000, termMonths: 3, departmentIds: [sales] });
    const credit = await newPackage({ name: 'Back to credits', type: 'credit', priceMinor: 2000, credits: 50 });
    const client = await signIn(app, w.a.subs[0].owner.email);
    const held = await balanceOf(w.a.subs[0].key);
    expect(held).to.be.greaterThan(0); // credits from the packages bought above
    const purchasesBefore = await count(purchases);
    const ledgerBefore = await count(creditLedger);

    const warn = await client.agent.post(`/portal/packages/${sub.id}/buy`).type('form').send({ _csrf: client.csrf }).expect(409);
    expect(warn.text).to.contain(`Buying a subscription forfeits the ${held.toLocaleString('en-US')} credits left from your credit packages.`);
    expect(warn.text).to.contain('name="confirmForfeit" value="on"').and.contain(`action="/portal/packages/${sub.id}/buy"`).and.contain('Monthly');
    expect(await count(purchases)).to.equal(purchasesBefore);
    expect(await count(creditLedger)).to.equal(ledgerBefore);
    expect(await balanceOf(w.a.subs[0].key)).to.equal(held);

    // Confirmed: to the checkout; still nothing moves until the payment is confirmed.
    const checkout = await buy(client, sub.id, { confirmForfeit: 'on' });
    expect(await count(creditLedger)).to.equal(ledgerBefore);
    expect(await settle(client, checkout, 'pay')).to.contain('Payment confirmed: package applied');
    expect(await balanceOf(w.a.subs[0].key)).to.equal(1000); // purchased credits forfeited, first month granted
    const forfeits = await deps.db.select().from(creditLedger).where(and(eq(creditLedger.subAccountId, w.a.subs[0].id), eq(creditLedger.reason, 'forfeit')));
    expect(forfeits.map((f) => f.delta)).to.deep.equal([-held]);
    const [s] = await deps.db.select().from(subscriptions).where(eq(subscriptions.subAccountId, w.a.subs[0].id));
    expect(s).to.include({ status: 'active', monthlyCredits: 1000 });

    const list = await client.agent.get('/portal/packages').expect(200);
    expect(list.text).to.contain('You have a subscription until');
    // Renewing 3 months early is refused with the date it becomes possible.
    const early = await client.agent.post(`/portal/packages/${sub.id}/buy`).type('form').send({ _csrf: client.csrf }).expect(409);
    expect(early.text).to.contain('Your subscription can be renewed when 30 days or less remain, from').and.contain('Monthly');
    // Back to credits: warned that the subscription ends.
    const back = await client.agent.post(`/portal/packages/${credit.id}/buy`).type('form').send({ _csrf: client.csrf }).expect(409);
    expect(back.text).to.contain('Buying a credit package ends your subscription now; its remaining monthly credits are forfeited.');
    expect(await count(purchases)).to.equal(purchasesBefore + 1);
    await assertLedgerInvariant(deps.db);
  });

  it('edits create version 2 while an earlier purchase keeps version 1; publishing alone creates no version', async () => {
    const pkg = await newPackage({ name: 'Versioned', type: 'credit', priceMinor: 1500, credits: 30 });
    const client = await signIn(app, w.a.subs[1].owner.email);
    const checkout = await buy(client, pkg.id);
    await settle(client, checkout, 'pay');
    const bought = await purchaseOf(checkout.paymentId);

    const owner = await signIn(app, w.a.owner.email);
    const edit = await owner.agent.get(`/agency/packages/${pkg.id}/edit`).expect(200);
    expect(edit.text).to.contain('Existing buyers keep the version they bought').and.contain('value="Versioned"').and.contain('value="15.00"').and.contain('value="30"');
    const form = { _csrf: owner.csrf, name: 'Versioned', type: 'credit', price: '15.00', currency: 'TRY', credits: '30', termMonths: '', chatbots: '0', published: 'on' };
    const bad = await owner.agent.post(`/agency/packages/${pkg.id}`).type('form').send({ ...form, price: '12.345', name: 'Renamed' }).expect(422);
    expect(bad.text).to.contain('Use at most 2 decimals').and.contain('value="Renamed"').and.contain('value="12.345"');
    const saved = await owner.agent.post(`/agency/packages/${pkg.id}`).type('form').send({ ...form, price: '19.50', credits: '40' }).expect(302);
    expect(saved.headers.location).to.equal('/agency/packages');
    const list = await owner.agent.get('/agency/packages').expect(200);
    expect(list.text).to.contain('saved as version 2. Existing buyers keep the version they bought.').and.contain('TRY 19.50').and.contain('v2');

    const versions = await deps.db.select().from(packageVersions).where(eq(packageVersions.offerId, pkg.id));
    expect(versions.map((v) => [v.version, v.priceMinor, v.credits]).sort()).to.deep.equal([[1, 1500, 30], [2, 1950, 40]]);
    const [kept] = await deps.db.select().from(purchases).where(eq(purchases.id, bought.id));
    expect(kept!.packageVersionId).to.equal(versions.find((v) => v.version === 1)!.id);
    expect(kept!.priceMinor).to.equal(1500);
    const history = await client.agent.get('/portal/purchases').expect(200);
    expect(history.text).to.contain('TRY 15.00');
    expect((await client.agent.get('/portal/packages').expect(200)).text).to.contain('TRY 19.50');

    // Unpublishing alone: no version 3, and the portal no longer lists it.
    await owner.agent.post(`/agency/packages/${pkg.id}`).type('form').send({ ...form, price: '19.50', credits: '40', published: undefined }).expect(302);
    expect(await deps.db.select().from(packageVersions).where(eq(packageVersions.offerId, pkg.id))).to.have.length(2);
    expect((await client.agent.get('/portal/packages').expect(200)).text).not.to.contain(`data-package="${pkg.id}"`);
    await assertLedgerInvariant(deps.db);
  });

  it('another agency cannot open or edit A\'s package (404), nor can its clients buy it', async () => {
    const pkg = await newPackage({ name: 'Private to A', type: 'credit', priceMinor: 100, credits: 1 });
    await api().patch(`/api/v1/agencies/${w.b.id}`).set(bearer(w.platformKey)).send({ resellingModule: true }).expect(200);
    const bOwner = await signIn(app, w.b.owner.email);
    await bOwner.agent.get('/agency/packages').expect(200);
    const edit = await bOwner.agent.get(`/agency/packages/${pkg.id}/edit`).expect(404);
    expect(edit.text).to.contain('Package not found.');
    await bOwner.agent.post(`/agency/packages/${pkg.id}`).type('form').send({ _csrf: bOwner.csrf, name: 'Stolen', type: 'credit', price: '1', currency: 'TRY', credits: '1' }).expect(404);
    const [v] = await deps.db.select().from(packageVersions).where(eq(packageVersions.offerId, pkg.id));
    expect(v!.name).to.equal('Private to A');
    expect((await bOwner.agent.get('/agency/packages').expect(200)).text).not.to.contain('Private to A');
    const bClient = await signIn(app, w.b.subs[0].owner.email);
    expect((await bClient.agent.get('/portal/packages').expect(200)).text).not.to.contain('Private to A');
    const before = await count(purchases);
    await bClient.agent.post(`/portal/packages/${pkg.id}/buy`).type('form').send({ _csrf: bClient.csrf }).expect(404);
    expect(await count(purchases)).to.equal(before);
  });

  it('a client user without the billing permission can neither see the packages nor buy (403)', async () => {
    const now = deps.clock.now();
    const id = newId('usr');
    const email = `nobilling-${id.slice(-6)}@example.test`;
    await deps.db.insert(users).values({ id, email, name: 'No billing', passwordHash: await hashPassword(PASSWORD, deps.config.passwordHashCost), createdAt: now, updatedAt: now });
    await deps.db.insert(memberships).values({ id: newId('mem'), userId: id, scope: 'sub_account', agencyId: w.a.id, subAccountId: w.a.subs[1].id, role: 'admin', billing: false, createdAt: now });
    const pkg = await newPackage({ name: 'Not for you', type: 'credit', priceMinor: 100, credits: 1 });
    const user = await signIn(app, email);
    const list = await user.agent.get('/portal/packages').expect(403);
    expect(list.text).to.contain('This needs the billing permission.').and.not.contain('Not for you');
    expect((await user.agent.get('/portal').expect(200)).text).not.to.contain('href="/portal/purchases"').and.not.contain('href="/portal/packages"');
    const before = await count(purchases);
    const res = await user.agent.post(`/portal/packages/${pkg.id}/buy`).type('form').send({ _csrf: user.csrf }).expect(403);
    expect(res.text).to.contain('This needs the billing permission.');
    expect(await count(purchases)).to.equal(before);
    await user.agent.get('/portal/purchases').expect(403);
  });

  it('an unpublished package is not listed in the portal and buying it is 404', async () => {
    const pkg = await newPackage({ name: 'Draft only', type: 'credit', priceMinor: 100, credits: 1, published: false });
    const client = await signIn(app, w.a.subs[0].owner.email);
    expect((await client.agent.get('/portal/packages').expect(200)).text).not.to.contain('Draft only');
    const before = await count(purchases);
    await client.agent.post(`/portal/packages/${pkg.id}/buy`).type('form').send({ _csrf: client.csrf }).expect(404);
    await client.agent.post('/portal/packages/pkg_does_not_exist/buy').type('form').send({ _csrf: client.csrf }).expect(404);
    expect(await count(purchases)).to.equal(before);
    const owner = await signIn(app, w.a.owner.email);
    expect((await owner.agent.get('/agency/packages').expect(200)).text).to.contain('Draft only').and.contain('draft');
  });

  it('the sandbox checkout refuses a missing or wrong signature (404) and settles nothing', async () => {
    const pkg = await newPackage({ name: 'Signed', type: 'credit', priceMinor: 100, credits: 1 });
    const client = await signIn(app, w.a.subs[1].owner.email);
    const checkout = await buy(client, pkg.id);
    await client.agent.get(`/sandbox/checkout/${checkout.paymentId}`).expect(404);
    await client.agent.get(`/sandbox/checkout/${checkout.paymentId}?sig=forged`).expect(404);
    await client.agent.get(`/sandbox/checkout/pay_other?sig=${checkout.sig}`).expect(404);
    await client.agent.post(`/sandbox/checkout/${checkout.paymentId}`).type('form').send({ _csrf: client.csrf, sig: 'forged', decision: 'pay' }).expect(404);
    await client.agent.post(`/sandbox/checkout/${checkout.paymentId}`).type('form').send({ _csrf: client.csrf, sig: checkout.sig, decision: 'maybe' }).expect(400);
    // Without the session's CSRF token the form is refused too.
    await request(app).post(`/sandbox/checkout/${checkout.paymentId}`).type('form').send({ sig: checkout.sig, decision: 'pay' }).expect(403);
    expect((await purchaseOf(checkout.paymentId)).status).to.equal('pending_payment');
    // The signed link is the capability (as a gateway's hosted page): any browser holding it sees what is paid for.
    const other = await signIn(app, w.a.subs[0].owner.email);
    const page = await other.agent.get(checkout.path).expect(200);
    expect(page.text).to.contain('Sandbox payment — no real money').and.contain('Signed');
  });

  it('the purchases page shows 50 at a time, newest first; "older" continues in the same filter', async () => {
    const pkg = await newPackage({ name: 'Paged credits', type: 'credit', priceMinor: 1000, credits: 10 });
    const [version] = await deps.db.select().from(packageVersions).where(eq(packageVersions.offerId, pkg.id));
    // 130 granted purchases of two clients, two per day, some at the same instant (ties go by id).
    await deps.db.insert(purchases).values(Array.from({ length: 130 }, (_, k) => ({
      id: `pur_page_${String(k).padStart(3, '0')}`, agencyId: w.a.id, subAccountId: w.a.subs[k % 2]!.id, packageId: pkg.id, packageVersionId: version!.id, type: 'credit' as const,
      priceMinor: 1000, currency: 'TRY' as const, status: 'granted' as const, paymentMethod: 'offline', createdAt: new Date(Date.UTC(2001, 0, 1 + (k >> 1))),
    })));
    const owner = await signIn(app, w.a.owner.email);
    const shown = (html: string) => [...html.matchAll(/data-purchase="([^"]+)"/g)].map((m) => m[1]!);
    const olderOf = (html: string) => (/href="([^"]+)" data-testid="older-purchases"/.exec(html)?.[1] ?? '').replace(/&amp;/g, '&');
    for (const filter of [{}, { status: 'granted', subAccountId: w.a.subs[1].id }] as Record<string, string>[]) {
      const all = (await deps.db.select({ id: purchases.id }).from(purchases)
        .where(and(eq(purchases.agencyId, w.a.id), sql`${purchases.status} <> 'pending_payment'`, filter.status ? sql`${purchases.status} = ${filter.status}` : undefined, filter.subAccountId ? eq(purchases.subAccountId, filter.subAccountId) : undefined))
        .orderBy(sql`${purchases.createdAt} desc, ${purchases.id} desc`)).map((r) => r.id);
      const seen: string[] = [];
      let path = `/agency/purchases${Object.keys(filter).length ? `?${new URLSearchParams(filter)}` : ''}`;
      for (let n = 0; path; n++) {
        const html = (await owner.agent.get(path).expect(200)).text;
        expect(shown(html)).to.have.length(Math.min(50, all.length - seen.length));
        expect(html.includes('data-testid="newest-purchases"')).to.equal(n > 0);
        seen.push(...shown(html));
        path = olderOf(html);
        if (path && filter.subAccountId) expect(path).to.contain(`subAccountId=${filter.subAccountId}`).and.contain('status=granted');
      }
      expect(seen).to.deep.equal(all);
    }
  });
});

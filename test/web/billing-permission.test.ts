/**
 * DESIGN section 1: without the billing permission a user can neither see nor change any billing
 * screen (packages, invoices, payment settings, cards). Users without it, but with the admin role
 * (so nothing else refuses them), crawl every billing page and action of the portal, the agency
 * console and the platform console: each answers 403 and the database is left as it was.
 * API keys are machines and keep acting with the billing permission inside their scope.
 */
import { expect } from 'chai';
import { sql } from 'drizzle-orm';
import type { Express } from 'express';
import { memberships, users, type Scope } from '../../db/schema';
import { newId } from '../../src/lib/ids';
import { hashPassword } from '../../src/lib/password';
import { createApp } from '../../src/web/app';
import { billingApi } from '../support/billing';
import { resetData, rowsOf, testDatabase } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, PASSWORD, type World } from '../support/world';

type Agent = Awaited<ReturnType<typeof signIn>>;
interface Step { method: 'get' | 'post'; path: string; body?: Record<string, unknown> }

const DENIED = 'This needs the billing permission.';
// Ids for actions whose target does not matter: the permission is checked before any lookup.
const UNKNOWN = 'zzz_0000000000000000';

/** One digest per table (sessions excepted: reading a page renews the session). */
async function snapshot(): Promise<Record<string, string>> {
  const { db } = await testDatabase();
  const tables = rowsOf<{ tablename: string }>(await db.execute(sql`select tablename from pg_tables where schemaname = 'public' and tablename <> 'sessions' order by tablename`));
  const out: Record<string, string> = {};
  for (const { tablename } of tables) {
    const [row] = rowsOf<{ d: string | null }>(await db.execute(sql.raw(`select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as d from "${tablename}" t`)));
    out[tablename] = row!.d ?? '';
  }
  return out;
}

describe('web: the billing permission guards every billing screen and action', function () {
  this.timeout(120_000);
  let deps: TestDeps;
  let w: World;
  let app: Express;
  let b: ReturnType<typeof billingApi>;
  const ids = { subInvoice: '', agencyInvoice: '', subSubscription: '', agencySubscription: '', subBillingPackage: '', agencyBillingPackage: '', resoldPackage: '' };

  /** A user with the admin role and no billing permission in the given tenant. */
  const adminWithoutBilling = async (scope: Scope, agencyId: string | null, subAccountId: string | null) => {
    const now = deps.clock.now();
    const id = newId('usr');
    const email = `nobilling-${scope}-${id.slice(-6)}@example.test`;
    await deps.db.insert(users).values({ id, email, name: 'No billing', passwordHash: await hashPassword(PASSWORD, deps.config.passwordHashCost), createdAt: now, updatedAt: now });
    await deps.db.insert(memberships).values({ id: newId('mem'), userId: id, scope, agencyId, subAccountId, role: 'admin', billing: false, createdAt: now });
    return email;
  };

  before(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-03-10T09:00:00Z') });
    w = await createWorld(deps);
    app = createApp(deps);
    b = billingApi(app);
    // Real targets: open invoices of a client and of the agency (term purchases are invoiced at
    // once), their subscriptions, and a resold credit package the client could buy.
    ids.subBillingPackage = (await b.createPackage(w.a.key, { name: 'Client yearly', billing: 'term', termMonths: 12, monthlyPriceMinor: 10_000 })).id;
    ids.subSubscription = (await b.start(w.a.subs[0].key, ids.subBillingPackage).expect(201)).body.id;
    ids.subInvoice = (await b.invoices(w.a.subs[0].key))[0]!.id;
    ids.agencyBillingPackage = (await b.createPackage(w.platformKey, { name: 'Agency yearly', billing: 'term', termMonths: 12, monthlyPriceMinor: 20_000 })).id;
    ids.agencySubscription = (await b.start(w.a.key, ids.agencyBillingPackage).expect(201)).body.id;
    ids.agencyInvoice = (await b.invoices(w.a.key))[0]!.id;
    ids.resoldPackage = (await b.api().post('/api/v1/packages').set(bearer(w.a.key)).send({ name: 'Credits 100', type: 'credit', priceMinor: 1000, currency: 'TRY', credits: 100, published: true }).expect(201)).body.id;
    expect(ids.subInvoice).to.match(/\w/);
    expect(ids.agencyInvoice).to.match(/\w/);
  });
  after(async () => deps.close());

  /** The billing page's own actions, the same on /portal and /agency. */
  const buyerBilling = (base: string, invoice: string, subscription: string, pkg: string): Step[] => [
    { method: 'get', path: `${base}/billing` },
    { method: 'get', path: `${base}/billing/upcoming` },
    { method: 'get', path: `${base}/billing/invoices/${invoice}` },
    { method: 'get', path: `${base}/billing/invoices/${invoice}/pdf` },
    { method: 'get', path: `${base}/whatsapp` },
    { method: 'get', path: `${base}/auto-billing` },
    { method: 'post', path: `${base}/billing/invoices/${invoice}/pay` },
    { method: 'post', path: `${base}/billing/subscriptions`, body: { packageId: pkg } },
    { method: 'post', path: `${base}/billing/subscriptions/${subscription}/cancel` },
    { method: 'post', path: `${base}/billing/subscriptions/${subscription}/reactivate` },
    { method: 'post', path: `${base}/billing/subscriptions/${subscription}/change`, body: { packageId: pkg } },
    { method: 'post', path: `${base}/billing/extra-sessions`, body: { quantity: '1' } },
    { method: 'post', path: `${base}/billing/representatives`, body: { name: 'Rep', email: 'rep@example.test' } },
    { method: 'post', path: `${base}/billing/representatives/${UNKNOWN}/delete` },
    { method: 'post', path: `${base}/billing/channels`, body: { type: 'whatsapp', name: 'Line' } },
    { method: 'post', path: `${base}/billing/channels/${UNKNOWN}/delete` },
    { method: 'post', path: `${base}/billing/addresses`, body: { name: 'HQ', line1: 'Street 1', city: 'Istanbul', country: 'TR' } },
    { method: 'post', path: `${base}/billing/addresses/${UNKNOWN}`, body: { name: 'HQ' } },
    { method: 'post', path: `${base}/payment-methods`, body: { testCard: 'visa' } },
    { method: 'post', path: `${base}/payment-methods/${UNKNOWN}/default` },
    { method: 'post', path: `${base}/payment-methods/${UNKNOWN}/delete` },
    { method: 'post', path: `${base}/auto-billing`, body: { enabled: 'on', monthlyCap: '100' } },
    { method: 'post', path: `${base}/auto-billing/methods`, body: { testCard: 'visa' } },
    { method: 'post', path: `${base}/auto-billing/methods/${UNKNOWN}/default` },
    { method: 'post', path: `${base}/auto-billing/methods/${UNKNOWN}/delete` },
    { method: 'post', path: `${base}/whatsapp/top-ups`, body: { amount: '10', currency: 'TRY' } },
  ];

  /** A seller's screens: payment systems, payments received and refunds, issued invoices. */
  const seller = (base: string, issued: string): Step[] => [
    { method: 'get', path: `${base}/payment-systems` },
    { method: 'get', path: `${base}/payments` },
    { method: 'get', path: `${base}/invoices` },
    { method: 'get', path: `${base}/invoices/${issued}` },
    { method: 'get', path: `${base}/invoices/${issued}/pdf` },
    { method: 'post', path: `${base}/payment-systems`, body: { kind: 'iyzico', mode: 'test', apiKey: 'sandbox-key', secretKey: 'sandbox-secret' } },
    { method: 'post', path: `${base}/payments/${UNKNOWN}/refund`, body: { reason: 'test' } },
    { method: 'post', path: `${base}/invoices/${issued}/mark-paid` },
    { method: 'post', path: `${base}/invoices/refund-term`, body: { reason: 'test' } },
  ];

  const portalSteps = (): Step[] => [
    ...buyerBilling('/portal', ids.subInvoice, ids.subSubscription, ids.subBillingPackage),
    { method: 'get', path: '/portal/packages' },
    { method: 'get', path: '/portal/purchases' },
    { method: 'post', path: `/portal/packages/${ids.resoldPackage}/buy` },
    { method: 'post', path: `/portal/packages/${ids.resoldPackage}/buy`, body: { confirmForfeit: 'on' } },
  ];
  const agencySteps = (): Step[] => [
    ...buyerBilling('/agency', ids.agencyInvoice, ids.agencySubscription, ids.agencyBillingPackage),
    ...seller('/agency', ids.subInvoice),
    { method: 'get', path: '/agency/packages' },
    { method: 'get', path: `/agency/packages/${ids.resoldPackage}/edit` },
    { method: 'get', path: '/agency/purchases' },
    { method: 'get', path: '/agency/store' },
    { method: 'post', path: '/agency/packages', body: { name: 'Sneaky', type: 'credit', price: '1', currency: 'TRY', credits: '1', published: 'on' } },
    { method: 'post', path: `/agency/packages/${ids.resoldPackage}`, body: { name: 'Renamed', type: 'credit', price: '1', currency: 'TRY', credits: '1' } },
    { method: 'post', path: '/agency/store/orders', body: { kind: 'chatbot_slots', quantity: '1' } },
  ];
  const platformSteps = (): Step[] => [
    ...seller('/platform', ids.agencyInvoice),
    { method: 'get', path: '/platform/catalog' },
    { method: 'post', path: '/platform/catalog/topups', body: { credits: '1000', price: '10', currency: 'TRY' } },
    { method: 'post', path: '/platform/catalog/plans', body: { code: 'sneaky', name: 'Sneaky', currency: 'TRY', price: '1', includedChatbots: '1', monthlyCredits: '1' } },
    { method: 'post', path: '/platform/catalog/chatbot-slot-price', body: { slotPrice: '1', currency: 'TRY' } },
  ];

  /**
   * Every step answers 403 with the billing-permission message (or, for a suspended account, the
   * suspension notice its account gate shows first); returns the steps that did not.
   */
  const crawl = async (user: Agent, steps: Step[], notices: string[] = [DENIED]) => {
    const leaks: string[] = [];
    for (const s of steps) {
      const res = s.method === 'get'
        ? await user.agent.get(s.path)
        : await user.agent.post(s.path).type('form').send({ _csrf: user.csrf, ...s.body });
      if (res.status !== 403 || !notices.some((n) => res.text.includes(n))) leaks.push(`${s.method.toUpperCase()} ${s.path} -> ${res.status}`);
    }
    return leaks;
  };

  /** The same pages exist for users with the permission (the crawl does not test 404s). */
  /** The tables once the jobs the setup caused (invoice emails...) are done: only the crawl may change them. */
  const settled = async () => {
    await deps.queue.drain();
    return snapshot();
  };

  const reachable = async (user: Agent, steps: Step[], exceptions: string[] = []) => {
    const missing: string[] = [];
    for (const s of steps.filter((x) => x.method === 'get' && !exceptions.includes(x.path))) {
      const res = await user.agent.get(s.path);
      if (res.status !== 200) missing.push(`${s.path} -> ${res.status}`);
    }
    expect(missing, 'pages the owner cannot open').to.deep.equal([]);
  };

  it('a sub-account admin without billing: every billing page and action of the portal is 403, nothing changes', async () => {
    const user = await signIn(app, await adminWithoutBilling('sub_account', w.a.id, w.a.subs[0].id));
    const before = await settled();
    expect(await crawl(user, portalSteps())).to.deep.equal([]);
    expect(await settled()).to.deep.equal(before);
    // The portal offers no way there.
    const home = await user.agent.get('/portal').expect(200);
    for (const href of ['/portal/packages', '/portal/purchases', '/portal/billing', '/portal/auto-billing']) expect(home.text).not.to.contain(`href="${href}"`);
    // The client's owner (billing permission) reaches the same pages; its agency offers no auto-billing.
    await reachable(await signIn(app, w.a.subs[0].owner.email), portalSteps(), ['/portal/auto-billing']);
  });

  it('an agency admin without billing: every billing page and action of the agency console is 403, nothing changes', async () => {
    const user = await signIn(app, await adminWithoutBilling('agency', w.a.id, null));
    const member = await signIn(app, w.a.member.email); // the world's member: role member, no billing
    const before = await settled();
    expect(await crawl(user, agencySteps())).to.deep.equal([]);
    expect(await crawl(member, agencySteps())).to.deep.equal([]);
    expect(await settled()).to.deep.equal(before);
    const home = await user.agent.get('/agency/sub-accounts').expect(200);
    for (const href of ['/agency/packages', '/agency/billing', '/agency/store', '/agency/invoices', '/agency/payments', '/agency/payment-systems', '/agency/auto-billing']) {
      expect(home.text).not.to.contain(`href="${href}"`);
    }
    await reachable(await signIn(app, w.a.owner.email), agencySteps());
  });

  it('a platform admin without billing: the catalog, payment systems, payments and invoices are 403, nothing changes', async () => {
    const user = await signIn(app, await adminWithoutBilling('platform', null, null));
    const before = await settled();
    expect(await crawl(user, platformSteps())).to.deep.equal([]);
    expect(await settled()).to.deep.equal(before);
    const home = await user.agent.get('/platform/agencies').expect(200);
    for (const href of ['/platform/catalog', '/platform/payments', '/platform/payment-systems', '/platform/invoices']) expect(home.text).not.to.contain(`href="${href}"`);
    await reachable(await signIn(app, w.platformAdmin.email), platformSteps());
  });

  it('a suspended account: members without billing see the suspension notice on other pages, 403 on billing pages', async () => {
    const portal = await signIn(app, await adminWithoutBilling('sub_account', w.a.id, w.a.subs[0].id));
    const agency = await signIn(app, await adminWithoutBilling('agency', w.a.id, null));
    await b.api().patch(`/api/v1/agencies/${w.a.id}`).set(bearer(w.platformKey)).send({ suspended: true }).expect(200);
    try {
      const before = await settled();
      expect((await portal.agent.get('/portal/credits').expect(403)).text).to.contain('This account is suspended for unpaid invoices');
      expect((await agency.agent.get('/agency/sub-accounts').expect(403)).text).to.contain('This account is suspended for unpaid invoices');
      const notices = [DENIED, 'This account is suspended for unpaid invoices'];
      expect(await crawl(portal, portalSteps(), notices)).to.deep.equal([]);
      expect(await crawl(agency, agencySteps(), notices)).to.deep.equal([]);
      expect(await settled()).to.deep.equal(before);
      // Someone with the permission is sent to the billing page and can pay.
      const owner = await signIn(app, w.a.owner.email);
      expect((await owner.agent.get('/agency/sub-accounts').expect(302)).headers.location).to.equal('/agency/billing');
      await owner.agent.get('/agency/billing').expect(200);
    } finally {
      await b.api().patch(`/api/v1/agencies/${w.a.id}`).set(bearer(w.platformKey)).send({ suspended: false }).expect(200);
    }
  });

  it('API keys are machines: a sub-account key still reads and pays its invoices', async () => {
    const key = w.a.subs[0].key;
    await b.api().get('/api/v1/invoices').set(bearer(key)).expect(200);
    await b.api().get('/api/v1/packages').set(bearer(key)).expect(200);
    const pay = await b.api().post(`/api/v1/invoices/${ids.subInvoice}/pay`).set(bearer(key)).send({}).expect(201);
    expect(pay.body.paymentId).to.match(/^pay_/);
  });
});

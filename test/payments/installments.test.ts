import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import Iyzipay from 'iyzipay';
import request from 'supertest';
import { auditLog, gatewayAccounts, paymentEvents, payments, purchases } from '../../db/schema';
import { nestpaySandboxCards, NESTPAY_SANDBOX_3D_PASSWORD } from '../../sandboxes';
import { NestpayGateway } from '../../src/gateways/nestpay';
import { nestpayHashV3 } from '../../src/gateways/nestpay/hash';
import { ValidationError } from '../../src/lib/errors';
import { gatewayOf, saveGatewayAccount } from '../../src/payments/gateway-accounts';
import { parseInstallmentPlan, parseSurcharge, quoteInstallments, splitInstallments, surchargeOf } from '../../src/payments/installments';
import { resetData } from '../support/db';
import { IYZICO, NESTPAY, ownerActor, STRIPE } from '../support/gateways';
import { formIn, type HtmlForm } from '../support/html-form';
import { bearer, signIn } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { startLiveApp, type LiveApp } from '../support/live-app';
import { paymentRow } from '../support/payment-row';
import { createWorld, type World } from '../support/world';

const approvedPan = nestpaySandboxCards.find((c) => c.behaviour === 'approve')!.pan;
const VISA_CREDIT = '4543590000000006';
const VISA_DEBIT = '4766620000000001';

async function postForm(url: string, fields: Record<string, string>): Promise<{ status: number; html: string; location: string | null }> {
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
  return { status: res.status, html: await res.text(), location: res.headers.get('location') };
}

describe('installments: arithmetic and parsing (hand-computed)', () => {
  it('surcharge = round-half-up(amount x rate): 99.90 at 2.50% is 2.4975 -> 2.50; at 2.49% 2.48751 -> 2.49; half a kuruş rounds up', () => {
    expect(surchargeOf(9990, 250)).to.equal(250); // 9990 x 250 / 10000 = 249.75 -> 250
    expect(surchargeOf(9990, 249)).to.equal(249); // 248.751 -> 249
    expect(surchargeOf(9990, 401)).to.equal(401); // 400.599 -> 401
    expect(surchargeOf(200, 25)).to.equal(1); // 0.5 -> 1 (half up)
    expect(surchargeOf(199, 25)).to.equal(0); // 0.4975 -> 0
    expect(surchargeOf(12_345, 0)).to.equal(0);
    expect(surchargeOf(12_345, 10_000)).to.equal(12_345);
    // No float ever holds the product: 10^11 kuruş at 99.99% stays exact.
    expect(surchargeOf(100_000_000_000, 9999)).to.equal(99_990_000_000);
  });

  it('the bank splits the total into equal installments, the last absorbing the remainder', () => {
    expect(splitInstallments(10_240, 3)).to.deep.equal([3413, 3413, 3414]);
    expect(splitInstallments(10_000, 6)).to.deep.equal([1666, 1666, 1666, 1666, 1666, 1670]);
    expect(splitInstallments(1200, 12)).to.deep.equal(Array(12).fill(100));
    expect(splitInstallments(11, 12)).to.deep.equal([...Array(11).fill(0), 11]);
    expect(quoteInstallments(9990, 3, 250)).to.deep.equal({ count: 3, surchargeBp: 250, surchargeMinor: 250, totalMinor: 10_240, eachMinor: 3413, lastMinor: 3414 });
    expect(quoteInstallments(9990, 1, 0)).to.deep.equal({ count: 1, surchargeBp: 0, surchargeMinor: 0, totalMinor: 9990, eachMinor: 9990, lastMinor: 9990 });
  });

  it('surcharges are read from their digits: "2.5", "2,50", "%3", "" (0); more than two decimals, over 100, negatives and words are refused', () => {
    expect(parseSurcharge('2.5')).to.equal(250);
    expect(parseSurcharge('2,50')).to.equal(250);
    expect(parseSurcharge('%3')).to.equal(300);
    expect(parseSurcharge('0.01')).to.equal(1);
    expect(parseSurcharge('100')).to.equal(10_000);
    expect(parseSurcharge('')).to.equal(0);
    expect(parseSurcharge('2.555')).to.equal('installments:surcharge.tooManyDecimals');
    expect(parseSurcharge('100.01')).to.equal('installments:surcharge.outOfRange');
    expect(parseSurcharge('-1')).to.equal('installments:surcharge.outOfRange');
    expect(parseSurcharge('abc')).to.equal('installments:surcharge.notANumber');
    expect(parseSurcharge('1e2')).to.equal('installments:surcharge.notANumber');
  });

  it('a plan form reports every bad field at once and returns nothing half-read', () => {
    expect(parseInstallmentPlan({ offer_3: 'on', surcharge_3: '2.5', offer_6: 'on', surcharge_6: '4', surcharge_9: '7', minAmount: '500' })).to.deep.equal({
      offers: [{ count: 3, surchargeBp: 250 }, { count: 6, surchargeBp: 400 }],
      minAmountMinor: 50_000,
    });
    expect(parseInstallmentPlan({ surcharge_3: '2.5' })).to.equal(null);
    let err: unknown;
    try {
      parseInstallmentPlan({ offer_3: 'on', surcharge_3: '2.555', offer_6: 'on', surcharge_6: '150', minAmount: '5 lira' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ValidationError);
    expect(Object.keys((err as ValidationError).fields).sort()).to.deep.equal(['minAmount', 'surcharge_3', 'surcharge_6']);
  });
});

describe('installments: the NestPay 3D_PAY form carries taksit inside the hash', () => {
  it('hashes taksit=3 with the other fields in strnatcasecmp order (hand-computed plaintext)', async () => {
    const gateway = new NestpayGateway({ bank: 'isbank', clientId: '100200300', storeKey: 'StoreKey123', apiUser: 'API', apiPassword: 'pw' }, { mode: 'test', sandboxUrl: 'http://127.0.0.1:9', timeoutMs: 1000 });
    const payment = paymentRow({ id: 'pay_taksit3', amountMinor: 10_240, installments: 3, installmentSurchargeBp: 250, installmentSurchargeMinor: 250, gateway: 'nestpay' });
    const cb = 'http://127.0.0.1:9/payments/callback/pay_taksit3';
    const start = await gateway.start(payment, { callbackUrl: cb, lang: 'tr', description: 'x', buyer: { id: 'b', name: 'B', email: 'b@example.com', ip: '127.0.0.1' } });
    if (start.kind !== 'form') throw new Error('expected a form');
    const f = start.fields;
    expect(f.taksit).to.equal('3');
    expect(f.amount).to.equal('102.40');
    // amount, clientid, currency, failUrl, hashAlgorithm, lang, oid, okUrl, rnd, storetype, taksit, TranType
    const plain = `102.40|100200300|949|${cb}|ver3|tr|pay_taksit3|${cb}|${f.rnd}|3d_pay|3|Auth|StoreKey123`;
    expect(f.hash).to.equal(createHash('sha512').update(plain, 'utf8').digest('base64'));
    // A single payment posts taksit empty, still hashed (an empty value between two bars).
    const single = await gateway.start(paymentRow({ id: 'pay_single', amountMinor: 9990 }), { callbackUrl: cb, lang: 'en', description: 'x', buyer: { id: 'b', name: 'B', email: 'b@example.com', ip: '127.0.0.1' } });
    if (single.kind !== 'form') throw new Error('expected a form');
    expect(single.fields.taksit).to.equal('');
    expect(single.fields.hash).to.equal(createHash('sha512').update(`99.90|100200300|949|${cb}|ver3|en|pay_single|${cb}|${single.fields.rnd}|3d_pay||Auth|StoreKey123`, 'utf8').digest('base64'));
  });
});

/**
 * Through the whole app on a real port: the seller offers installments on its Payment systems
 * page, the buyer picks a count on the pay link's page, the gateway sandboxes charge in it.
 */
describe('installments through the app and the gateway sandboxes', function () {
  this.timeout(60_000);
  let live: LiveApp;
  let w: World;
  let departmentId: string;
  let owner: Awaited<ReturnType<typeof signIn>>;
  let client: Awaited<ReturnType<typeof signIn>>;
  let packages = 0;
  const api = () => request(live.app);
  const db = () => live.deps.db;
  const paymentOf = async (id: string) => (await db().select().from(payments).where(eq(payments.id, id)))[0]!;
  const accountOf = async () => (await db().select().from(gatewayAccounts).where(eq(gatewayAccounts.sellerAgencyId, w.a.id)))[0]!;

  before(async () => {
    await resetData();
    live = await startLiveApp({ config: { GATEWAY_TIMEOUT_MS: '4000' } });
    w = await createWorld(live.deps);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 100_000, reason: 'seed' }).expect(201);
    departmentId = (await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Support', creditsPerRequest: 2 }).expect(201)).body.id as string;
    await saveGatewayAccount(live.deps, ownerActor(w.a.id, w.a.owner.id), w.a.id, { kind: 'nestpay', mode: 'test', ...NESTPAY });
    owner = await signIn(live.app, w.a.owner.email);
    client = await signIn(live.app, w.a.subs[0].owner.email);
  });
  afterEach(async () => {
    if (live) await assertLedgerInvariant(db());
  });
  after(async () => {
    await live?.close();
  });

  async function portalBuy(priceMinor = 9990): Promise<{ paymentId: string; goUrl: string }> {
    packages += 1;
    const packageId = (await api().post('/api/v1/packages').set(bearer(w.a.key))
      .send({ name: `Pack ${packages}`, type: 'credit', priceMinor, currency: 'TRY', credits: 500, departmentIds: [departmentId], published: true }).expect(201)).body.id;
    const res = await client.agent.post(`/portal/packages/${packageId}/buy`).type('form').send({ _csrf: client.csrf }).expect(302);
    const goUrl = res.headers.location as string;
    return { paymentId: /go\/(pay_\w+)/.exec(goUrl)![1]!, goUrl };
  }

  const savePlan = (fields: Record<string, string>) =>
    owner.agent.post('/agency/payment-systems/installments').type('form').send({ _csrf: owner.csrf, section: 'installments', ...fields });

  describe('the seller\'s settings', () => {
    it('bad surcharges and a bad minimum are refused with a clear message per field; nothing is written', async () => {
      const res = await savePlan({ offer_3: 'on', surcharge_3: '2.555', offer_6: 'on', surcharge_6: '101', surcharge_9: 'two', minAmount: '-5' }).expect(422);
      expect(res.text).to.contain('Use at most two decimals for the surcharge for 3 installments');
      expect(res.text).to.contain('The surcharge for 6 installments must be between 0 and 100.');
      expect(res.text).to.contain('Enter the surcharge for 9 installments as a number');
      expect(res.text).to.contain('Enter the minimum amount in lira');
      // The form keeps what was typed.
      expect(res.text).to.match(/name="surcharge_3" value="2.555"/);
      expect((await accountOf()).installmentPlan).to.equal(null);
    });

    it('saves the offered counts with their surcharges (in hundredths of a percent) and shows them back, audited', async () => {
      await savePlan({ offer_3: 'on', surcharge_3: '2,5', offer_6: 'on', surcharge_6: '4', surcharge_12: '9' }).expect(302);
      expect((await accountOf()).installmentPlan).to.deep.equal({ offers: [{ count: 3, surchargeBp: 250 }, { count: 6, surchargeBp: 400 }], minAmountMinor: 0 });
      const page = await owner.agent.get('/agency/payment-systems').expect(200);
      expect(page.text).to.contain('Installments saved: 3, 6.');
      expect(page.text).to.match(/name="surcharge_3" value="2.50"/);
      expect(page.text).to.match(/name="offer_3" checked/);
      expect(page.text).to.not.match(/name="offer_12" checked/);
      const audits = await db().select().from(auditLog).where(eq(auditLog.action, 'gateway.installments'));
      expect(audits).to.have.length(1);
    });
  });

  describe('NestPay: a purchase in 3 installments', () => {
    let paymentId: string;
    let goUrl: string;
    let postBack: HtmlForm;

    it('the pay link first shows the choice: per count the total and each installment, computed by the server', async () => {
      ({ paymentId, goUrl } = await portalBuy(9990));
      const page = await fetch(goUrl);
      expect(page.status).to.equal(200);
      const html = await page.text();
      expect(html).to.contain('data-testid="installment-form"');
      // 99.90 + round(99.90 x 2.50%) = 99.90 + 2.50 = 102.40 = 2 x 34.13 + 34.14
      expect(html).to.match(/data-testid="split-3">2 × TRY 34.13 \+ TRY 34.14</);
      expect(html).to.contain('Total TRY 102.40 · includes a 2.5% installment surcharge (TRY 2.50)');
      // 99.90 + round(3.996) = 103.90 = 5 x 17.31 + 17.35
      expect(html).to.match(/data-testid="split-6">5 × TRY 17.31 \+ TRY 17.35</);
      expect(html).to.not.contain('data-testid="option-9"');
      expect(await paymentOf(paymentId)).to.include({ amountMinor: 9990, installments: null });
    });

    it('a forged count (one the seller does not offer) is refused: the choice is shown again, nothing written', async () => {
      const form = formIn(await (await fetch(goUrl)).text(), 'installment-form');
      for (const count of ['9', '4', '0', 'x', '']) {
        const res = await postForm(new URL(form.action, live.base).toString(), { ...form.fields, count });
        expect(res.status, count).to.equal(422);
        expect(res.html).to.contain('Choose one of the offered ways to pay.');
      }
      // A wrong signature is no pay link at all.
      expect((await postForm(`${live.base}/payments/go/${paymentId}/installments?sig=forged`, { count: '3' })).status).to.equal(404);
      expect(await paymentOf(paymentId)).to.include({ amountMinor: 9990, installments: null, installmentSurchargeMinor: 0 });
    });

    it('the choice of 3 is kept on the payment (amount with the surcharge) and the bank form carries taksit=3 in its hash', async () => {
      const form = formIn(await (await fetch(goUrl)).text(), 'installment-form');
      // The client cannot send a surcharge of its own: only the count is read.
      const res = await postForm(new URL(form.action, live.base).toString(), { ...form.fields, count: '3', surchargeMinor: '0', amount: '99.90' });
      expect(res.status).to.equal(303);
      expect(await paymentOf(paymentId)).to.include({ amountMinor: 10_240, installments: 3, installmentSurchargeBp: 250, installmentSurchargeMinor: 250, status: 'pending' });
      // The same pick again (a double click) goes on; another count is refused: the choice is final.
      expect((await postForm(new URL(form.action, live.base).toString(), { count: '3' })).status).to.equal(303);
      expect((await postForm(new URL(form.action, live.base).toString(), { count: '6' })).status).to.equal(409);
      expect((await paymentOf(paymentId)).installments).to.equal(3);

      const go = await fetch(goUrl);
      const start = formIn(await go.text(), 'gateway-form');
      expect(start.fields).to.include({ taksit: '3', amount: '102.40' });
      expect(start.fields.hash).to.equal(nestpayHashV3(start.fields, NESTPAY.storeKey));
      const gate = await postForm(start.action, start.fields);
      expect(gate.status, gate.html).to.equal(200);
      expect(gate.html).to.contain('3 installments');
      const cardForm = formIn(gate.html, 'card-form');
      const pwd = await postForm(new URL(cardForm.action, live.base).toString(), { pan: approvedPan, expMonth: '12', expYear: '30', cvv: '000' });
      const password = formIn(pwd.html, 'password-form');
      const back = await postForm(new URL(password.action, live.base).toString(), { password: NESTPAY_SANDBOX_3D_PASSWORD });
      postBack = formIn(back.html, 'post-back-form');
      // The bank echoes taksit, inside its HASH.
      expect(postBack.fields.taksit).to.equal('3');
      expect(postBack.fields.amount).to.equal('102.40');
    });

    it('a post-back with a tampered taksit is refused (hash broken, or re-signed): nothing granted, the payment still pending', async () => {
      const tampered = await postForm(`${live.base}/payments/callback/${paymentId}`, { ...postBack.fields, taksit: '6' });
      expect(tampered.status).to.equal(400);
      // Even correctly signed (a leaked store key), another count than the payment's is refused.
      const resigned: Record<string, string> = { ...postBack.fields, taksit: '6' };
      delete resigned.HASH;
      resigned.HASH = nestpayHashV3(resigned, NESTPAY.storeKey);
      const forged = await postForm(`${live.base}/payments/callback/${paymentId}`, resigned);
      expect(forged.status).to.equal(400);
      expect(forged.html).to.contain('taksit');
      expect(await paymentOf(paymentId)).to.include({ status: 'pending' });
      const rejected = await db().select().from(paymentEvents).where(eq(paymentEvents.paymentId, paymentId));
      expect(rejected.filter((e) => (e.raw as { rejected?: string } | null)?.rejected === 'invalid_callback')).to.have.length(2);
    });

    it('the genuine post-back confirms the payment with installments 3 and the total charged', async () => {
      const res = await postForm(`${live.base}/payments/callback/${paymentId}`, postBack.fields);
      expect(res.status, res.html).to.equal(200);
      expect(res.html).to.contain('Payment confirmed');
      expect(await paymentOf(paymentId)).to.include({ status: 'confirmed', amountMinor: 10_240, installments: 3, installmentSurchargeMinor: 250 });
      const [purchase] = await db().select().from(purchases).where(eq(purchases.id, (await paymentOf(paymentId)).referenceId));
      expect(purchase!.status).to.equal('granted');
    });

    it('a single payment: taksit empty, no surcharge; under the seller\'s minimum no choice is shown', async () => {
      const { paymentId: single, goUrl: link } = await portalBuy(5000);
      const form = formIn(await (await fetch(link)).text(), 'installment-form');
      expect((await postForm(new URL(form.action, live.base).toString(), { ...form.fields, count: '1' })).status).to.equal(303);
      expect(await paymentOf(single)).to.include({ amountMinor: 5000, installments: 1, installmentSurchargeMinor: 0 });
      const start = formIn(await (await fetch(link)).text(), 'gateway-form');
      expect(start.fields).to.include({ taksit: '', amount: '50.00' });

      await savePlan({ offer_3: 'on', surcharge_3: '2.5', minAmount: '100' }).expect(302);
      const { goUrl: small } = await portalBuy(9990);
      const html = await (await fetch(small)).text();
      expect(html).to.not.contain('installment-form');
      expect(html).to.contain('data-testid="gateway-form"');
    });
  });

  describe('iyzico: the installment query for the card\'s BIN, then a payment in 3', () => {
    before(async () => {
      await saveGatewayAccount(live.deps, ownerActor(w.a.id, w.a.owner.id), w.a.id, { kind: 'iyzico', mode: 'test', ...IYZICO });
      await savePlan({ offer_3: 'on', surcharge_3: '2.5', offer_6: 'on', surcharge_6: '4' }).expect(302);
    });

    it('installmentInfo through the real iyzipay client: a credit card allows 2-12, a debit card none', async () => {
      const gateway = gatewayOf(live.deps, await accountOf());
      expect(await gateway.installmentInfo!({ bin: '454359', amountMinor: 9990, currency: 'TRY', conversationId: 'pay_q1' })).to.deep.equal({ counts: [2, 3, 6, 9, 12], bankName: 'Is Bankasi', cardType: 'CREDIT_CARD' });
      expect(await gateway.installmentInfo!({ bin: '47666200', amountMinor: 9990, currency: 'TRY', conversationId: 'pay_q2' })).to.deep.equal({ counts: [], bankName: 'Denizbank', cardType: 'DEBIT_CARD' });
    });

    it('payment/auth through the real iyzipay client: installment 3 on a credit card is charged in 3, a debit card is refused', async () => {
      const sdk = new Iyzipay({ ...IYZICO, uri: `${live.base}/sandbox/iyzico` });
      const order = (conversationId: string, cardNumber: string) => ({
        locale: 'en', conversationId, price: '99.90', paidPrice: '102.40', currency: 'TRY', installment: 3, basketId: conversationId, paymentChannel: 'WEB', paymentGroup: 'PRODUCT',
        paymentCard: { cardHolderName: 'Ayşe Yılmaz', cardNumber, expireMonth: '12', expireYear: '2030', cvc: '123' },
        buyer: { id: 'b1', name: 'Ayşe', surname: 'Yılmaz', identityNumber: '11111111111', email: 'ayse@example.com', registrationAddress: 'Not collected', city: 'Istanbul', country: 'Turkey', ip: '203.0.113.7' },
        billingAddress: { contactName: 'Ayşe Yılmaz', city: 'Istanbul', country: 'Turkey', address: 'Not collected' },
        basketItems: [{ id: 'i1', name: 'Pack', category1: 'package_purchase', itemType: 'VIRTUAL', price: '99.90' }],
      });
      const call = (req: Record<string, unknown>) => new Promise<Record<string, unknown>>((resolve, reject) => sdk.payment.create(req, (err, r) => (err ? reject(err) : resolve(r as Record<string, unknown>))));
      const credit = await call(order('conv_inst_credit', VISA_CREDIT));
      expect(credit).to.include({ status: 'success', installment: 3, paidPrice: 102.4, price: 99.9 });
      const debit = await call(order('conv_inst_debit', '4766620000000001'));
      expect(debit).to.include({ status: 'failure', errorCode: '5086' });
    });

    it('the choice page asks for the BIN; a debit card cannot pick installments (refused, nothing written); a credit card pays in 3', async () => {
      const { paymentId, goUrl } = await portalBuy(9990);
      const first = await (await fetch(goUrl)).text();
      expect(first).to.contain('data-testid="bin-form"');
      expect(first).to.match(/<input type="radio" name="count" value="3"\s+disabled>/);

      const debit = await (await fetch(`${goUrl}&bin=${VISA_DEBIT.slice(0, 6)}`)).text();
      expect(debit).to.contain('This card can only pay in one go');
      const form = formIn(debit, 'installment-form');
      const refused = await postForm(new URL(form.action, live.base).toString(), { ...form.fields, count: '3' });
      expect(refused.status).to.equal(422);
      expect(refused.html).to.contain('Your card does not allow 3 installments');
      expect(await paymentOf(paymentId)).to.include({ installments: null, amountMinor: 9990 });

      const credit = await (await fetch(`${goUrl}&bin=${VISA_CREDIT.slice(0, 8)}`)).text();
      expect(credit).to.contain('Your Is Bankasi card allows: 3, 6 installments.');
      const creditForm = formIn(credit, 'installment-form');
      expect(creditForm.fields.bin).to.equal('45435900');
      expect((await postForm(new URL(creditForm.action, live.base).toString(), { ...creditForm.fields, count: '3' })).status).to.equal(303);
      expect(await paymentOf(paymentId)).to.include({ installments: 3, amountMinor: 10_240, installmentSurchargeMinor: 250 });

      const go = await fetch(goUrl, { redirect: 'manual' });
      expect(go.status).to.equal(302);
      const pageUrl = go.headers.get('location')!;
      const checkoutPage = await (await fetch(pageUrl)).text();
      // iyzico is asked for the basket's price and the surcharged paidPrice, in the one count chosen.
      expect(checkoutPage).to.match(/data-testid="iyzico-amount"><strong>[^<]*102[.,]40/);
      expect(checkoutPage).to.contain('data-testid="iyzico-installments">3 (');
      // The debit card is refused on iyzico's form too: it has no installments.
      const debitPaid = await postForm(pageUrl, { cardHolderName: 'Ayşe Yılmaz', cardNumber: VISA_DEBIT, expireMonth: '12', expireYear: '2030', cvc: '123' });
      expect(debitPaid.status).to.equal(422);
      const paid = await postForm(pageUrl, { cardHolderName: 'Ayşe Yılmaz', cardNumber: VISA_CREDIT, expireMonth: '12', expireYear: '2030', cvc: '123' });
      expect(paid.status, paid.html).to.equal(200);
      const back = formIn(paid.html, 'iyzico-return-form');
      const res = await postForm(back.action, back.fields);
      expect(res.status, res.html).to.equal(200);
      expect(await paymentOf(paymentId)).to.include({ status: 'confirmed', installments: 3, amountMinor: 10_240 });
      const confirmed = await db().select().from(paymentEvents).where(and(eq(paymentEvents.paymentId, paymentId), eq(paymentEvents.fromStatus, 'pending'), eq(paymentEvents.toStatus, 'confirmed')));
      expect(confirmed).to.have.length(1);
    });
  });

  describe('another gateway', () => {
    it('a seller moving to Stripe loses its installments; the section is absent and a post is refused, nothing written', async () => {
      await saveGatewayAccount(live.deps, ownerActor(w.a.id, w.a.owner.id), w.a.id, { kind: 'stripe', mode: 'test', ...STRIPE });
      expect((await accountOf()).installmentPlan).to.equal(null);
      const page = await owner.agent.get('/agency/payment-systems').expect(200);
      expect(page.text).to.not.contain('data-testid="installments-settings"');
      expect(page.text).to.contain('Installments can be offered with NestPay and iyzico.');
      const res = await savePlan({ offer_3: 'on' }).expect(409);
      expect(res.text).to.contain('Installments are offered with NestPay and iyzico, not with stripe.');
      expect((await accountOf()).installmentPlan).to.equal(null);
    });
  });
});

import { decode, formIn, type HtmlForm } from '../support/html-form';
import { paymentRow } from '../support/payment-row';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import ejs from 'ejs';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Browser } from 'playwright-core';
import {
  GatewayError,
  GatewayTimeoutError,
  type GatewayOptions,
  type Payment,
  type PaymentGateway,
  type PaymentStart,
  type StartContext,
  type VerifiedOutcome,
} from '../../src/payments/gateway';
import { ValidationError } from '../../src/lib/errors';
import { nestpayRegistration } from '../../src/gateways/nestpay';
import { createNestpaySandbox, nestpaySandboxCards, NESTPAY_SANDBOX_3D_PASSWORD, type NestpaySandboxMerchant } from '../../sandboxes';
import { nestpayHashV3 } from '../../src/gateways/nestpay/hash';
import type { NestpaySandboxRouter } from '../../sandboxes';
import { buildCc5, decodeXmlBytes, parseCc5 } from '../../src/gateways/nestpay/xml';
import { chromiumAvailable, CHROMIUM_MISSING, launchChromium } from '../support/browser';
import { requireOrSkip } from '../support/env';
import { listen } from '../support/server';
import { localize, tFor } from '../../src/i18n/i18n';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// A store key with the characters the hash escapes, so every flow below exercises the escaping.
const CLIENT_ID = '100200300';
const MERCHANT: NestpaySandboxMerchant = { storeKey: 'Kontor|Store\\Key_1', apiUser: 'KONTORAPI', apiPassword: 'p<a>ss&1', name: 'Kontor Test Mağazası' };
const credentials = { bank: 'isbank', clientId: CLIENT_ID, storeKey: MERCHANT.storeKey, apiUser: MERCHANT.apiUser, apiPassword: MERCHANT.apiPassword };

const CARD = {
  approve: nestpaySandboxCards.find((c) => c.behaviour === 'approve')!.pan,
  decline: nestpaySandboxCards.find((c) => c.behaviour === 'decline')!.pan,
  fail3d: nestpaySandboxCards.find((c) => c.behaviour === '3d_fail')!.pan,
  slow: nestpaySandboxCards.find((c) => c.behaviour === 'slow_api')!.pan,
};

let seq = 0;
function payment(over: Partial<Payment> = {}): Payment {
  seq += 1;
  return paymentRow({ id: `pay_test${Date.now().toString(36)}${seq}`, referenceId: `ord_${seq}`, amountMinor: 1250, gateway: 'nestpay', ...over });
}

const ctx = (base: string, p: Payment, over: Partial<StartContext> = {}): StartContext => ({
  callbackUrl: `${base}/payments/callback/${p.id}`,
  lang: 'tr',
  description: '1,000 credits',
  buyer: { id: 'agy_buyer', name: 'Şule Öztürk', email: 'sule@example.com', ip: '127.0.0.1' },
  ...over,
});

// --- a browser's view of HTML forms, for driving the bank's pages with fetch ------------------

async function postForm(url: string, fields: Record<string, string>): Promise<{ status: number; html: string }> {
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
  return { status: res.status, html: await res.text() };
}
const absolute = (base: string, action: string) => new URL(action, base).toString();

interface BuyerChoices { pan: string; password?: string; tamper?: boolean }
/** Posts the start form to the gate, fills the card and the 3D password, returns the bank's post-back form. */
async function payAtBank(base: string, start: PaymentStart, buyer: BuyerChoices): Promise<HtmlForm> {
  if (start.kind !== 'form') throw new Error('expected a form start');
  const gate = await postForm(start.action, start.fields);
  expect(gate.status, gate.html).to.equal(200);
  expect(gate.html).to.contain('SANDBOX - no real money');
  const card = formIn(gate.html, 'card-form');
  const pwd = await postForm(absolute(base, card.action), { pan: buyer.pan, expMonth: '12', expYear: '30', cvv: '000', ...(buyer.tamper ? { tamper: 'on' } : {}) });
  expect(pwd.status, pwd.html).to.equal(200);
  const password = formIn(pwd.html, 'password-form');
  const back = await postForm(absolute(base, password.action), { password: buyer.password ?? NESTPAY_SANDBOX_3D_PASSWORD });
  expect(back.status, back.html).to.equal(200);
  return formIn(back.html, 'post-back-form');
}

function sandboxApp(sandbox: NestpaySandboxRouter): Express {
  const app = express();
  app.use('/sandbox/nestpay', sandbox);
  return app;
}

describe('nestpay gateway against the sandbox bank', function () {
  this.timeout(30_000);
  let base: string;
  let close: () => Promise<void>;
  let sandbox: NestpaySandboxRouter;
  let gateway: PaymentGateway;
  const opts = (): GatewayOptions => ({ mode: 'test', sandboxUrl: base, timeoutMs: 3000 });

  before(async () => {
    sandbox = createNestpaySandbox({ resolveMerchant: async (id) => (id === CLIENT_ID ? MERCHANT : null), slowApiMs: 1500 });
    ({ base, close } = await listen(sandboxApp(sandbox)));
    gateway = nestpayRegistration.create(credentials, opts());
  });
  after(() => close());

  describe('start', () => {
    it('returns the hashed 3D_PAY form for the sandbox gate', async () => {
      const p = payment({ amountMinor: 123405, currency: 'USD' });
      const start = await gateway.start(p, ctx(base, p, { lang: 'en' }));
      expect(start.kind).to.equal('form');
      if (start.kind !== 'form') return;
      expect(start.action).to.equal(`${base}/sandbox/nestpay/fim/est3Dgate`);
      const { hash, rnd, ...rest } = start.fields;
      expect(rest).to.deep.equal({
        clientid: CLIENT_ID,
        storetype: '3d_pay',
        amount: '1234.05',
        oid: p.id,
        okUrl: `${base}/payments/callback/${p.id}`,
        failUrl: `${base}/payments/callback/${p.id}`,
        lang: 'en',
        currency: '840',
        taksit: '',
        TranType: 'Auth',
        hashAlgorithm: 'ver3',
      });
      expect(rnd).to.match(/^[\w-]{20}$/);
      expect(hash).to.equal(nestpayHashV3({ ...rest, rnd }, MERCHANT.storeKey));
      const again = await gateway.start(p, ctx(base, p));
      if (again.kind === 'form') expect(again.fields.rnd).to.not.equal(rnd);
    });

    it('formats amounts with a dot and two decimals and maps currencies to ISO numbers', async () => {
      for (const [minor, currency, amount, numeric] of [[1, 'TRY', '0.01', '949'], [100, 'EUR', '1.00', '978'], [99_999_999_999, 'TRY', '999999999.99', '949']] as const) {
        const p = payment({ amountMinor: minor, currency });
        const start = await gateway.start(p, ctx(base, p));
        if (start.kind !== 'form') throw new Error('form expected');
        expect([start.fields.amount, start.fields.currency]).to.deep.equal([amount, numeric]);
      }
    });

    it('uses each bank\'s production gate in production, the override when given, and the Asseco test gate without a sandbox', async () => {
      const p = payment();
      const action = async (creds: Record<string, string>, o: GatewayOptions) => {
        const s = await nestpayRegistration.create(creds, o).start(p, { ...ctx('https://kontor.example', p) });
        return s.kind === 'form' ? s.action : '';
      };
      const prod = { mode: 'production', sandboxUrl: base, timeoutMs: 1000 } as const;
      const real = { ...credentials, clientId: '700100200', storeKey: 'RealKey42' };
      expect(await action({ ...real, bank: 'isbank' }, prod)).to.equal('https://sanalpos.isbank.com.tr/fim/est3Dgate');
      expect(await action({ ...real, bank: 'akbank' }, prod)).to.equal('https://www.sanalakpos.com/fim/est3Dgate');
      expect(await action({ ...real, bank: 'halkbank' }, prod)).to.equal('https://sanalpos.halkbank.com.tr/fim/est3dgate');
      expect(await action({ ...real, bank: 'ziraat' }, prod)).to.equal('https://sanalpos2.ziraatbank.com.tr/fim/est3Dgate');
      expect(await action({ ...real, gateUrlProduction: 'https://pos.bank.example/fim/est3Dgate' }, prod)).to.equal('https://pos.bank.example/fim/est3Dgate');
      expect(await action(credentials, { mode: 'test', sandboxUrl: null, timeoutMs: 1000 })).to.equal('https://entegrasyon.asseco-see.com.tr/fim/est3Dgate');
      expect(await action({ ...credentials, gateUrlTest: 'http://bank-sim.local/fim/est3Dgate' }, { mode: 'test', sandboxUrl: null, timeoutMs: 1000 })).to.equal('http://bank-sim.local/fim/est3Dgate');
    });

    it('refuses a non-HTTPS callback URL in production', async () => {
      const g = nestpayRegistration.create({ ...credentials, clientId: '700100200', storeKey: 'RealKey42' }, { mode: 'production', sandboxUrl: null, timeoutMs: 1000 });
      const p = payment();
      const err = await g.start(p, ctx('http://kontor.example', p)).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(GatewayError).and.have.property('code', 'insecure_callback_url');
    });
  });

  describe('a payment through the sandbox gate', () => {
    it('approved: card, 3D password, hashed post-back to okUrl, verified approved with amount and currency', async () => {
      const p = payment({ amountMinor: 9990, currency: 'TRY' });
      const start = await gateway.start(p, ctx(base, p));
      const back = await payAtBank(base, start, { pan: CARD.approve });
      expect(back.action).to.equal(`${base}/payments/callback/${p.id}`);
      // Everything Kontor sent comes back, with the bank's results and an empty field or two.
      expect(back.fields).to.include({ oid: p.id, amount: '99.90', currency: '949', mdStatus: '1', ProcReturnCode: '00', Response: 'Approved', ErrMsg: '', taksit: '' });
      expect(back.fields.HASH).to.match(/^[A-Za-z0-9+/]{86}==$/);
      const outcome = await gateway.verifyCallback(p, { body: back.fields, query: {} });
      expect(outcome).to.deep.equal({ paymentId: p.id, approved: true, amountMinor: 9990, currency: 'TRY', gatewayReference: back.fields.TransId });
      expect(sandbox.bank.order(CLIENT_ID, p.id)).to.include({ approved: true, amountMinor: 9990 });
    });

    it('is replay-safe: the same post-back verifies to the same outcome, and the bank charged once', async () => {
      const p = payment();
      const back = await payAtBank(base, await gateway.start(p, ctx(base, p)), { pan: CARD.approve });
      const first = await gateway.verifyCallback(p, { body: back.fields, query: {} });
      const second = await gateway.verifyCallback(p, { body: { ...back.fields }, query: {} });
      expect(second).to.deep.equal(first);
      expect([...sandbox.bank.orders.values()].filter((o) => o.oid === p.id)).to.have.length(1);
    });

    it('declined by the bank: a failure keeping the bank\'s ErrMsg (Turkish text inside the hash)', async () => {
      const p = payment();
      const back = await payAtBank(base, await gateway.start(p, ctx(base, p)), { pan: CARD.decline });
      expect(back.fields).to.include({ mdStatus: '1', ProcReturnCode: '05', Response: 'Declined' });
      const outcome = await gateway.verifyCallback(p, { body: back.fields, query: {} });
      expect(outcome).to.include({ approved: false, reason: 'İşlem onaylanmadı (Do not honour)', amountMinor: 1250, currency: 'TRY' });
    });

    it('3D Secure failed (test card): a failure keeping mdErrorMsg, and no sale at the bank', async () => {
      const p = payment();
      const back = await payAtBank(base, await gateway.start(p, ctx(base, p)), { pan: CARD.fail3d });
      expect(back.fields).to.include({ mdStatus: '0', ProcReturnCode: '' });
      const outcome = await gateway.verifyCallback(p, { body: back.fields, query: {} });
      expect(outcome.approved).to.equal(false);
      expect(outcome.reason).to.equal('N-status/Kart sahibi doğrulanamadı (cardholder not authenticated)');
      expect(sandbox.bank.order(CLIENT_ID, p.id)).to.equal(undefined);
    });

    it('3D Secure failed (wrong password): a failure, never approved', async () => {
      const p = payment();
      const back = await payAtBank(base, await gateway.start(p, ctx(base, p)), { pan: CARD.approve, password: 'wrong' });
      const outcome = await gateway.verifyCallback(p, { body: back.fields, query: {} });
      expect(outcome).to.include({ approved: false, reason: 'N-status/3D şifresi hatalı (wrong 3D password)' });
    });

    it('a tampered hash on request is refused with invalid_callback', async () => {
      const p = payment();
      const back = await payAtBank(base, await gateway.start(p, ctx(base, p)), { pan: CARD.approve, tamper: true });
      expect(back.fields.ProcReturnCode).to.equal('00'); // it looks approved...
      const err = await gateway.verifyCallback(p, { body: back.fields, query: {} }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(GatewayError).and.include({ code: 'invalid_callback' });
      expect((err as Error).message).to.contain('HASH does not match');
    });

    it('refuses a callback whose fields were altered after the bank signed them', async () => {
      const p = payment();
      const back = await payAtBank(base, await gateway.start(p, ctx(base, p)), { pan: CARD.decline });
      for (const edit of [{ ProcReturnCode: '00' }, { amount: '0.01' }, { mdStatus: '1', ErrMsg: '' }] as Record<string, string>[]) {
        const err = await gateway.verifyCallback(p, { body: { ...back.fields, ...edit }, query: {} }).catch((e: unknown) => e);
        expect(err, JSON.stringify(edit)).to.be.instanceOf(GatewayError).and.include({ code: 'invalid_callback' });
      }
      // Dropping an empty field the bank hashed also breaks it: empty fields are never dropped.
      const { TRANID: _dropped, ...withoutEmpty } = back.fields;
      expect(back.fields.TRANID).to.equal('');
      expect(await gateway.verifyCallback(p, { body: withoutEmpty, query: {} }).catch((e: GatewayError) => e.code)).to.equal('invalid_callback');
    });

    it('refuses missing or malformed fields: no oid, another order, no HASH, a repeated field, another store', async () => {
      const p = payment();
      const back = await payAtBank(base, await gateway.start(p, ctx(base, p)), { pan: CARD.approve });
      const code = (body: Record<string, unknown>, pay = p) => gateway.verifyCallback(pay, { body: body as Record<string, string>, query: {} }).then(() => 'accepted', (e: GatewayError) => `${e.code}: ${e.message}`);
      const { oid: _o, ...noOid } = back.fields;
      const { HASH: _h, ...noHash } = back.fields;
      expect(await code(noOid)).to.equal('invalid_callback: The callback has no oid (order id).');
      expect(await code(back.fields, payment())).to.match(/^invalid_callback: The callback is for order "pay_\w+", not for payment/);
      expect(await code(noHash)).to.equal('invalid_callback: The callback has no HASH.');
      expect(await code({ ...back.fields, amount: ['1.00', '99.00'] })).to.match(/^invalid_callback: The callback field "amount" is not a single text value/);
      expect(await code({ ...back.fields, clientid: '999' })).to.equal('invalid_callback: The callback is for another store (clientid 999).');
      expect(await code({})).to.equal('invalid_callback: The callback has no oid (order id).');
    });

    it('reports the amount and currency the bank signed, so the core can refuse a mismatch with the order', async () => {
      // A merchant-side bug or an attacker's own store could get the bank to sign another amount:
      // the gateway reports what was signed, never the order's amount.
      const p = payment({ amountMinor: 5000, currency: 'EUR' });
      const start = await gateway.start(p, ctx(base, p));
      if (start.kind !== 'form') throw new Error('form expected');
      const cheaper: Record<string, string> = { ...start.fields, amount: '0.50', currency: '949' };
      cheaper.hash = nestpayHashV3(cheaper, MERCHANT.storeKey);
      const back = await payAtBank(base, { ...start, fields: cheaper }, { pan: CARD.approve });
      const outcome = await gateway.verifyCallback(p, { body: back.fields, query: {} });
      expect(outcome).to.include({ approved: true, amountMinor: 50, currency: 'TRY' });
      expect(outcome.amountMinor).to.not.equal(p.amountMinor);
    });

    it('verifies callbacks with keys holding "_" and digits, values with "|" and "\\", and Turkish characters', async () => {
      const p = payment();
      const back = await payAtBank(base, await gateway.start(p, ctx(base, p)), { pan: CARD.approve });
      const extraFields = { item_10: 'a|b', Item2: 'c\\d', item1: 'x\\|y', itemA: '', 'EXTRA_ŞEHİR': 'İstanbul Ğ ş ı ç ö ü' };
      const body: Record<string, string> = { ...back.fields, ...extraFields };
      // The hashed string written out by hand from PHP's strnatcasecmp order of these keys.
      const keys = Object.keys(body).filter((k) => !['hash', 'encoding'].includes(k.toLowerCase()));
      const sorted = [...keys].sort((a, b) => (a === b ? 0 : naturalUpper(a) < naturalUpper(b) ? -1 : 1));
      expect(sorted.indexOf('item1')).to.be.lessThan(sorted.indexOf('Item2'));
      expect(sorted.indexOf('Item2')).to.be.lessThan(sorted.indexOf('item_10'));
      expect(sorted.indexOf('itemA')).to.be.lessThan(sorted.indexOf('item_10'));
      const escaped = (v: string) => v.replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
      const plain = [...sorted.map((k) => escaped(body[k]!)), escaped(MERCHANT.storeKey)].join('|');
      const { createHash } = await import('node:crypto');
      body.HASH = createHash('sha512').update(plain, 'utf8').digest('base64');
      const outcome = await gateway.verifyCallback(p, { body, query: {} });
      expect(outcome.approved).to.equal(true);
      // The same fields hashed in a plain JavaScript sort order are refused.
      const jsOrder = [...keys].sort();
      const wrong = createHash('sha512').update([...jsOrder.map((k) => escaped(body[k]!)), escaped(MERCHANT.storeKey)].join('|'), 'utf8').digest('base64');
      expect(wrong).to.not.equal(body.HASH);
      expect(await gateway.verifyCallback(p, { body: { ...body, HASH: wrong }, query: {} }).catch((e: GatewayError) => e.code)).to.equal('invalid_callback');
    });
  });

  describe('the sandbox gate checks what it is sent', () => {
    const gateProblems = async (fields: Record<string, string>) => {
      const res = await postForm(`${base}/sandbox/nestpay/fim/est3Dgate`, fields);
      return { status: res.status, text: decode(res.html) };
    };
    let fields: Record<string, string>;
    beforeEach(async () => {
      const p = payment();
      const start = await gateway.start(p, ctx(base, p));
      if (start.kind !== 'form') throw new Error('form expected');
      fields = start.fields;
    });

    it('refuses a hash made with another store key, explaining the hash rule', async () => {
      const r = await gateProblems({ ...fields, hash: nestpayHashV3(fields, 'another key') });
      expect(r.status).to.equal(400);
      expect(r.text).to.contain('The hash does not match').and.contain('strnatcasecmp').and.contain('SANDBOX - no real money');
      expect(r.text).to.not.contain(MERCHANT.storeKey);
    });

    it('refuses a field changed after hashing', async () => {
      const r = await gateProblems({ ...fields, amount: '0.01' });
      expect(r.status).to.equal(400);
      expect(r.text).to.contain('The hash does not match');
    });

    it('lists missing and malformed fields', async () => {
      const { oid: _o, rnd: _r, ...rest } = fields;
      const r = await gateProblems({ ...rest, amount: '12,50', currency: 'TRY', storetype: '3d' });
      expect(r.status).to.equal(400);
      for (const msg of ['oid is missing.', 'rnd is missing.', 'amount "12,50" must be positive, with a dot and two decimals', 'currency "TRY" must be an ISO 4217 number', 'storetype is "3d"']) {
        expect(r.text).to.contain(msg);
      }
    });

    it('refuses an unknown store', async () => {
      const r = await gateProblems({ ...fields, clientid: '555' });
      expect(r.status).to.equal(400);
      expect(r.text).to.contain('No sandbox store has clientid 555');
    });

    it('refuses cards that are not test cards and keeps the buyer on the card form', async () => {
      const gate = await postForm(`${base}/sandbox/nestpay/fim/est3Dgate`, fields);
      const card = formIn(gate.html, 'card-form');
      const res = await postForm(absolute(base, card.action), { pan: '4111111111111111', expMonth: '01', expYear: '20', cvv: '1' });
      expect(res.status).to.equal(422);
      const t = decode(res.html);
      expect(t).to.contain('This sandbox takes only its test cards').and.contain('Enter a future expiry').and.contain('3-digit security code');
    });

    it('answers one post-back per session: the 3D step cannot be replayed', async () => {
      const gate = await postForm(`${base}/sandbox/nestpay/fim/est3Dgate`, fields);
      const card = formIn(gate.html, 'card-form');
      const pwd = formIn((await postForm(absolute(base, card.action), { pan: CARD.approve, expMonth: '12', expYear: '30', cvv: '000' })).html, 'password-form');
      expect((await postForm(absolute(base, pwd.action), { password: 'a' })).status).to.equal(200);
      const again = await postForm(absolute(base, pwd.action), { password: 'a' });
      expect(again.status).to.equal(410);
    });
  });

  describe('XML API: retrieve (ORDERSTATUS) and refund (Credit)', () => {
    async function paid(card = CARD.approve, over: Partial<Payment> = {}, g = gateway) {
      const p = payment(over);
      const back = await payAtBank(base, await g.start(p, ctx(base, p)), { pan: card });
      return { p, outcome: await g.verifyCallback(p, { body: back.fields, query: {} }) };
    }

    it('retrieve reports an approved sale with its amount, a declined one with the bank\'s message, an unknown one as pending', async () => {
      const { p, outcome } = await paid(CARD.approve, { amountMinor: 101 });
      expect(await gateway.retrieve(p)).to.deep.equal({ paymentId: p.id, approved: true, amountMinor: 101, gatewayReference: outcome.gatewayReference });
      const declined = await paid(CARD.decline);
      expect(await gateway.retrieve(declined.p)).to.include({ approved: false, reason: 'İşlem onaylanmadı (Do not honour)' });
      const never = payment();
      const r = await gateway.retrieve(never);
      expect(r).to.include({ approved: false, pending: true });
      expect(r.reason).to.equal(`No record found for ${never.id}`);
    });

    it('refunds in part and in full; the bank refuses to refund more than the sale', async () => {
      const { p } = await paid(CARD.approve, { amountMinor: 10_000 });
      const part = await gateway.refund(p, 2_550, 'rf-1');
      expect(part.status).to.equal('succeeded');
      const rest = await gateway.refund(p, 7_450, 'rf-2');
      expect(rest.status).to.equal('succeeded');
      const more = await gateway.refund(p, 1, 'rf-3');
      expect(more).to.include({ status: 'failed' });
      if (more.status === 'failed') expect(more.reason).to.contain('refund exceeds the 0.00 left on the sale');
      expect(sandbox.bank.order(CLIENT_ID, p.id)!.refunds.map((r) => r.amountMinor)).to.deep.equal([2_550, 7_450]);
      // The API password never lands in what the core stores.
      expect(JSON.stringify(part.raw)).to.not.contain(MERCHANT.apiPassword);
      expect(await gateway.refund(p, 0, 'rf-4').catch((e: GatewayError) => e.code)).to.equal('invalid_amount');
      expect(await gateway.refund(p, 10_001, 'rf-5').catch((e: GatewayError) => e.code)).to.equal('invalid_amount');
    });

    it('a refund of a declined or unknown order fails with the bank\'s message', async () => {
      const { p } = await paid(CARD.decline);
      const r = await gateway.refund(p, 100, 'rf');
      expect(r).to.include({ status: 'failed', reason: `No approved sale found for order ${p.id}.` });
    });

    it('wrong API credentials: refund fails and retrieve stays pending, with the bank\'s message', async () => {
      const { p } = await paid();
      const wrong = nestpayRegistration.create({ ...credentials, apiPassword: 'nope' }, opts());
      const r = await wrong.refund(p, 100, 'rf');
      expect(r).to.include({ status: 'failed', reason: 'Kullanıcı adı veya şifre hatalı (wrong API user name or password).' });
      expect(await wrong.retrieve(p)).to.include({ approved: false, pending: true, reason: 'Kullanıcı adı veya şifre hatalı (wrong API user name or password).' });
      expect(sandbox.bank.order(CLIENT_ID, p.id)!.refunds).to.have.length(0);
    });

    it('times out on a slow bank (GatewayTimeoutError); a retried full refund is refused, so the sale is refunded once', async () => {
      const quick = nestpayRegistration.create(credentials, { ...opts(), timeoutMs: 300 });
      const { p } = await paid(CARD.slow, { amountMinor: 4_200 }, quick);
      const t0 = Date.now();
      const err = await quick.retrieve(p).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(GatewayTimeoutError).and.include({ code: 'gateway_timeout' });
      expect(Date.now() - t0).to.be.lessThan(1_400);
      expect(await quick.refund(p, 4_200, 'rf-slow').catch((e: unknown) => e)).to.be.instanceOf(GatewayTimeoutError);
      // The bank did refund (it only answered late); a patient retry is refused, not doubled.
      const patient = nestpayRegistration.create(credentials, { ...opts(), timeoutMs: 5_000 });
      const retry = await patient.refund(p, 4_200, 'rf-slow');
      expect(retry.status).to.equal('failed');
      expect(sandbox.bank.order(CLIENT_ID, p.id)!.refunds.map((r) => r.amountMinor)).to.deep.equal([4_200]);
      expect(await patient.retrieve(p)).to.include({ approved: true, amountMinor: 4_200 });
    });

    it('an unreachable bank is a GatewayError, not a failure', async () => {
      const { base: deadBase, close: closeDead } = await listen(express());
      await closeDead();
      const g = nestpayRegistration.create(credentials, { mode: 'test', sandboxUrl: deadBase, timeoutMs: 1000 });
      expect(await g.retrieve(payment()).catch((e: GatewayError) => e.code)).to.equal('gateway_unreachable');
    });
  });

  describe('what NestPay 3D_PAY cannot do', () => {
    it('has no off-session charges, test cards to save, or webhooks', async () => {
      expect(gateway.canChargeOffSession).to.equal(false);
      const p = payment();
      const refused = (promise: Promise<unknown>) => promise.then(() => new GatewayError('none', 'it succeeded'), (e: GatewayError) => e);
      const codes = await Promise.all([
        refused(gateway.saveTestCard({ id: 'c', name: 'n', email: 'e@example.com' }, 'visa')),
        refused(gateway.chargeOffSession({ payment: p, method: { customerRef: 'c', methodRef: 'm' }, idempotencyKey: 'k', description: 'd' })),
        refused(gateway.verifyWebhook(Buffer.from('{}'), {})),
      ]);
      expect(codes.map((e) => e.code)).to.deep.equal(['off_session_unsupported', 'off_session_unsupported', 'webhooks_unsupported']);
      expect(codes[0]!.message).to.contain('open invoice');
    });
  });
});

// PHP's strnatcasecmp for the simple keys of the test above (letters, "_", one digit run at the end).
function naturalUpper(k: string): string {
  return k.toUpperCase().replace(/\d+$/, (d) => d.padStart(6, '0'));
}

describe('nestpay credentials', () => {
  const parse = (input: Record<string, string | undefined>, mode: 'test' | 'production' = 'test') => {
    try {
      return nestpayRegistration.parseCredentials(input, mode);
    } catch (e) {
      // Field messages are read as an English reader reads them.
      if (e instanceof ValidationError) return Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k, localize(tFor('en'), v)]));
      throw e;
    }
  };

  it('offers the four banks and marks the secrets', () => {
    const fields = nestpayRegistration.credentialFields;
    expect(fields.find((f) => f.name === 'bank')!.options!.map((o) => o.value)).to.deep.equal(['isbank', 'akbank', 'halkbank', 'ziraat']);
    expect(fields.filter((f) => f.secret).map((f) => f.name)).to.deep.equal(['storeKey', 'apiPassword']);
  });

  it('accepts complete credentials, trimmed, dropping empty optional URLs', () => {
    expect(parse({ ...credentials, clientId: ' 100200300 ', gateUrlTest: '', gateUrlProduction: '  ' })).to.deep.equal(credentials);
    expect(parse({ ...credentials, gateUrlTest: 'http://localhost:9000/fim/est3Dgate' })).to.include({ gateUrlTest: 'http://localhost:9000/fim/est3Dgate' });
  });

  it('names every missing or malformed field', () => {
    expect(parse({})).to.deep.equal({
      bank: 'Choose the bank: isbank, akbank, halkbank or ziraat.',
      clientId: 'Client id is required.',
      storeKey: 'Store key is required.',
      apiUser: 'API user name is required.',
      apiPassword: 'API password is required.',
    });
    expect(parse({ ...credentials, bank: 'garanti', clientId: '12ab', gateUrlTest: 'ftp://x' })).to.deep.equal({
      bank: 'Choose the bank: isbank, akbank, halkbank or ziraat.',
      clientId: 'Client id is the store number your bank gave you: digits only.',
      gateUrlTest: 'Test 3D gate URL must be a full http(s) URL such as https://bank.example/fim/est3Dgate.',
    });
  });

  it('refuses a non-HTTPS production gate URL in any mode, and any non-HTTPS URL in production', () => {
    expect(parse({ ...credentials, gateUrlProduction: 'http://sanalpos.isbank.com.tr/fim/est3Dgate' })).to.have.property('gateUrlProduction').that.contains('https://');
    const prod = { ...credentials, clientId: '700100200', storeKey: 'RealKey42' };
    expect(parse({ ...prod, gateUrlTest: 'http://localhost/fim/est3Dgate' }, 'production')).to.deep.equal({ gateUrlTest: 'In production mode every URL must start with https://.' });
    expect(parse(prod, 'production')).to.deep.equal({ ...prod });
  });

  it('refuses the public test stores and test gates in production', () => {
    expect(parse({ ...credentials, clientId: '700655000200', storeKey: 'TRPS0200', gateUrlProduction: 'https://entegrasyon.asseco-see.com.tr/fim/est3Dgate' }, 'production')).to.have.all.keys('clientId', 'storeKey', 'gateUrlProduction');
    expect(parse({ ...credentials, clientId: '700655000200', storeKey: 'TRPS0200' }, 'test')).to.include({ clientId: '700655000200' });
  });

  it('create() refuses stored credentials with a missing key', () => {
    expect(() => nestpayRegistration.create({ bank: 'isbank', clientId: '1' }, { mode: 'test', sandboxUrl: null, timeoutMs: 1 })).to.throw(ValidationError);
  });
});

describe('nestpay XML messages', () => {
  it('escapes values and reads ISO-8859-9 answers with Turkish letters', () => {
    const xml = buildCc5('CC5Request', { Name: 'a<b&c', Password: ']]>"\'', Extra: { ORDERSTATUS: 'QUERY' } });
    expect(parseCc5(xml, 'CC5Request')).to.deep.equal({ Name: 'a<b&c', Password: ']]>"\'', Extra: { ORDERSTATUS: 'QUERY' } });
    const iso = Buffer.from('<?xml version="1.0" encoding="ISO-8859-9"?><CC5Response><ErrMsg>', 'latin1');
    const body = Buffer.from([0xdd, 0x73, 0x6c, 0x65, 0x6d, 0x20, 0xfd, 0xfe, 0xf0]); // "İslem ışğ"
    const tail = Buffer.from('</ErrMsg><ProcReturnCode>05</ProcReturnCode></CC5Response>', 'latin1');
    expect(parseCc5(decodeXmlBytes(Buffer.concat([iso, body, tail]), 'text/xml'), 'CC5Response')).to.deep.equal({ ErrMsg: 'İslem ışğ', ProcReturnCode: '05' });
    expect(parseCc5('not xml <', 'CC5Response')).to.equal(null);
    expect(parseCc5('<Other/>', 'CC5Response')).to.equal(null);
  });
});

/** Real headless Chromium: Kontor's auto-submitting page -> bank card form -> 3D password -> callback. */
describe('nestpay in a real browser', function () {
  this.timeout(60_000);
  let browser: Browser;
  let base: string;
  let close: () => Promise<void>;
  let gateway: PaymentGateway;
  const payments = new Map<string, Payment>();
  const outcomes = new Map<string, VerifiedOutcome | string>();

  before(async function () {
    requireOrSkip(this, chromiumAvailable(), CHROMIUM_MISSING);
    const sandbox = createNestpaySandbox({ resolveMerchant: async (id) => (id === CLIENT_ID ? MERCHANT : null) });
    const app = express();
    app.use('/assets', express.static(path.join(root, 'public')));
    app.use('/assets/vendor/pico', express.static(path.join(root, 'node_modules/@picocss/pico/css')));
    // Mounted before helmet, as the core mounts it.
    app.use('/sandbox/nestpay', sandbox);
    app.use(
      helmet({
        contentSecurityPolicy: {
          useDefaults: false,
          // As the core's CSP, with form-action widened to the gate's origin (here the same one).
          directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], formAction: ["'self'"], objectSrc: ["'none'"], frameAncestors: ["'none'"] },
        },
      }),
    );
    app.get('/checkout/:id', async (req, res) => {
      const p = payments.get(req.params.id)!;
      const start = await gateway.start(p, ctx(base, p, { lang: 'en' }));
      res.type('html').send(await ejs.renderFile(path.join(root, 'views/payments/post-to-gateway.ejs'), { start, lang: 'en', t: tFor('en') }));
    });
    // The bank's post-back is a cross-site POST: no session, no CSRF token, only the hash.
    app.post('/payments/callback/:id', express.urlencoded({ extended: false }), async (req, res) => {
      const p = payments.get(req.params.id)!;
      try {
        const outcome = await gateway.verifyCallback(p, { body: req.body as Record<string, string>, query: {} });
        outcomes.set(p.id, outcome);
        res.type('html').send(`<!doctype html><title>done</title><link rel="icon" href="/assets/favicon.svg"><p data-testid="result">${outcome.approved ? 'approved' : 'failed'}</p>`);
      } catch (e) {
        outcomes.set(p.id, (e as GatewayError).code);
        res.status(400).type('html').send('<!doctype html><title>refused</title><link rel="icon" href="/assets/favicon.svg"><p data-testid="result">refused</p>');
      }
    });
    ({ base, close } = await listen(app));
    gateway = nestpayRegistration.create(credentials, { mode: 'test', sandboxUrl: base, timeoutMs: 3000 });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await close?.();
  });

  async function buyInBrowser(pan: string, opts: { tamper?: boolean } = {}) {
    const p = payment({ amountMinor: 9990 });
    payments.set(p.id, p);
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('response', (r) => { if (r.status() === 404) problems.push(`404 ${r.url()}`); });
    await page.goto(`${base}/checkout/${p.id}`);
    // autosubmit.js posts the hashed form to the gate without a click.
    await page.getByTestId('card-form').waitFor();
    expect(page.url()).to.equal(`${base}/sandbox/nestpay/fim/est3Dgate`);
    expect(await page.getByTestId('sandbox-banner').textContent()).to.contain('SANDBOX - no real money');
    expect(await page.getByTestId('gate-amount').textContent()).to.equal('99.90 TRY');
    await page.locator(`[data-fill-pan="${pan}"]`).click(); // sandbox-nestpay.js fills the number
    expect(await page.inputValue('input[name=pan]')).to.equal(pan);
    await page.fill('input[name=expMonth]', '12');
    await page.fill('input[name=expYear]', '30');
    await page.fill('input[name=cvv]', '000');
    if (opts.tamper) await page.check('input[name=tamper]');
    await page.getByTestId('card-submit').click();
    await page.fill('input[name=password]', NESTPAY_SANDBOX_3D_PASSWORD);
    await page.getByTestId('password-submit').click();
    // The post-back page submits itself to okUrl / failUrl.
    await page.waitForURL(`${base}/payments/callback/${p.id}`);
    const result = await page.getByTestId('result').textContent();
    await page.close();
    return { p, result, problems };
  }

  it('approved: start page -> bank card form -> 3D password -> posted back and verified', async () => {
    const { p, result, problems } = await buyInBrowser(CARD.approve);
    expect(result).to.equal('approved');
    expect(outcomes.get(p.id)).to.include({ approved: true, amountMinor: 9990, currency: 'TRY' });
    expect(problems).to.deep.equal([]);
  });

  it('declined: posted back to failUrl and kept as a failure with the bank\'s message', async () => {
    const { p, result } = await buyInBrowser(CARD.decline);
    expect(result).to.equal('failed');
    expect(outcomes.get(p.id)).to.include({ approved: false, reason: 'İşlem onaylanmadı (Do not honour)' });
  });

  it('a tampered hash is refused by the callback', async () => {
    const { p, result } = await buyInBrowser(CARD.approve, { tamper: true });
    expect(result).to.equal('refused');
    expect(outcomes.get(p.id)).to.equal('invalid_callback');
  });

  it('without JavaScript the buyer continues with the visible button', async () => {
    const p = payment();
    payments.set(p.id, p);
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${base}/checkout/${p.id}`);
    await page.getByRole('button', { name: 'Continue to your bank' }).click();
    await page.getByTestId('card-form').waitFor();
    await context.close();
  });
});

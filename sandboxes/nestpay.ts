// Kontor's offline NestPay bank: the 3D gate (hash check, card form, 3D password, hashed
// post-back to okUrl/failUrl) and the XML API (ORDERSTATUS, Credit). It speaks the protocol the
// real gate speaks, so NestpayGateway talks to it unchanged. State lives in memory.
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';
import express, { Router, type Request, type Response } from 'express';
import { formatAmount, parseAmount } from '../src/gateways/nestpay/amounts';
import { nestpayHashV3, strnatcasecmp } from '../src/gateways/nestpay/hash';
import { buildCc5Iso88599, extra, parseCc5, text, type Cc5Message } from '../src/gateways/nestpay/xml';

const viewsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../views/sandbox/nestpay');

/** What the sandbox bank knows about a store (the core resolves it from the seller's credentials). */
export interface NestpaySandboxMerchant {
  storeKey: string;
  apiUser: string;
  apiPassword: string;
  /** Shown on the bank's pages. */
  name?: string;
}

export interface NestpaySandboxOptions {
  resolveMerchant: (clientId: string) => Promise<NestpaySandboxMerchant | null>;
  /** How late the XML API answers about an order paid with the "slow bank" card. Default 20 s. */
  slowApiMs?: number;
  /** How long a buyer may stay on the bank's pages. Default 15 minutes. */
  sessionTtlMs?: number;
}

export type SandboxCardBehaviour = 'approve' | 'decline' | '3d_fail' | 'slow_api';

/** The documented test cards (any future expiry, any 3-digit CVV). */
export const nestpaySandboxCards: readonly { pan: string; brand: 'VISA' | 'MASTERCARD'; behaviour: SandboxCardBehaviour; description: string }[] = [
  { pan: '4355084355084358', brand: 'VISA', behaviour: 'approve', description: 'Approved (the public Asseco test Visa).' },
  { pan: '5406675406675403', brand: 'MASTERCARD', behaviour: 'approve', description: 'Approved (Mastercard).' },
  { pan: '4000000000000002', brand: 'VISA', behaviour: 'decline', description: 'Declined by the bank after 3D: ProcReturnCode 05, ErrMsg "İşlem onaylanmadı (Do not honour)".' },
  { pan: '4000000000003220', brand: 'VISA', behaviour: '3d_fail', description: '3D Secure fails: mdStatus 0 whatever the password.' },
  { pan: '4000000000000119', brand: 'VISA', behaviour: 'slow_api', description: 'Approved, but the XML API (status, refund) answers about this order only after a long delay.' },
];

/** The 3D Secure password of every test card; any other password fails 3D (mdStatus 0). */
export const NESTPAY_SANDBOX_3D_PASSWORD = 'a';

export interface SandboxOrder {
  clientId: string;
  oid: string;
  amountMinor: number;
  currency: string;
  approved: boolean;
  procReturnCode: string;
  errMsg: string;
  transId: string;
  authCode: string;
  hostRefNum: string;
  maskedPan: string;
  at: Date;
  slow: boolean;
  refunds: { transId: string; amountMinor: number; at: Date }[];
}

interface GateSession {
  clientId: string;
  merchant: NestpaySandboxMerchant;
  /** Exactly what the merchant posted, minus its hash. */
  fields: Record<string, string>;
  card?: { behaviour: SandboxCardBehaviour; pan: string; brand: string; month: string; year: string; tamper: boolean };
  expiresAt: number;
}

/** The bank's in-memory books, exposed for tests and the demo. */
export class NestpaySandboxBank {
  readonly orders = new Map<string, SandboxOrder>();
  readonly sessions = new Map<string, GateSession>();
  order(clientId: string, oid: string): SandboxOrder | undefined {
    return this.orders.get(`${clientId}\n${oid}`);
  }
  record(o: SandboxOrder): void {
    this.orders.set(`${o.clientId}\n${o.oid}`, o);
  }
}

export type NestpaySandboxRouter = Router & { bank: NestpaySandboxBank };

const MAX_SESSIONS = 10_000;

export function createNestpaySandbox(opts: NestpaySandboxOptions): NestpaySandboxRouter {
  const bank = new NestpaySandboxBank();
  const slowApiMs = opts.slowApiMs ?? 20_000;
  const ttl = opts.sessionTtlMs ?? 15 * 60_000;
  const router = Router() as NestpaySandboxRouter;
  router.bank = bank;
  const form = express.urlencoded({ extended: false, limit: '64kb' });

  const render = async (res: Response, view: string, locals: Record<string, unknown>, status = 200) => {
    const html = await ejs.renderFile(path.join(viewsDir, `${view}.ejs`), { title: 'NestPay sandbox', ...locals });
    res.status(status).set('Cache-Control', 'no-store').type('html').send(html);
  };
  const gateError = (res: Response, problems: string[], status = 400) => render(res, 'gate-error', { title: 'Payment request refused', problems }, status);

  const session = (req: Request): [string, GateSession] | null => {
    const token = String(req.params.token ?? '');
    const s = bank.sessions.get(token);
    if (!s || s.expiresAt < Date.now()) {
      bank.sessions.delete(token);
      return null;
    }
    return [token, s];
  };

  router.get('/fim/est3Dgate', (_req, res) => gateError(res, ['The 3D gate takes a POST of the hashed payment form from the merchant\'s site, not a link.'], 405));

  // 1. The merchant's form arrives: check it like the bank does, then show the card form.
  router.post('/fim/est3Dgate', form, async (req, res) => {
    const posted = flatten(req.body);
    if (!posted) return gateError(res, ['Every field must be posted once, as text.']);
    const clientId = posted.clientid ?? '';
    const merchant = clientId ? await opts.resolveMerchant(clientId) : null;
    const problems = checkGateRequest(posted, clientId, merchant);
    if (problems.length > 0 || !merchant) return gateError(res, problems);
    for (const [t, s] of bank.sessions) if (s.expiresAt < Date.now() || bank.sessions.size >= MAX_SESSIONS) bank.sessions.delete(t);
    const token = randomBytes(18).toString('base64url');
    const fields = Object.fromEntries(Object.entries(posted).filter(([k]) => k.toLowerCase() !== 'hash'));
    bank.sessions.set(token, { clientId, merchant, fields, expiresAt: Date.now() + ttl });
    await render(res, 'card', cardLocals(req, token, fields, merchant, clientId, {}));
  });

  // 2. Card details: one of the documented test cards, then the 3D password step.
  router.post('/fim/est3Dgate/:token/card', form, async (req, res) => {
    const found = session(req);
    if (!found) return gateError(res, ['This payment session is over or unknown: start again from the merchant\'s site.'], 410);
    const [token, s] = found;
    const body = flatten(req.body) ?? {};
    const pan = (body.pan ?? '').replace(/[\s-]/g, '');
    const month = (body.expMonth ?? '').trim().padStart(2, '0');
    const year = (body.expYear ?? '').trim().slice(-2);
    const errors: Record<string, string> = {};
    const card = nestpaySandboxCards.find((c) => c.pan === pan);
    if (!/^\d{12,19}$/.test(pan) || !luhn(pan)) errors.pan = 'Enter a valid card number.';
    else if (!card) errors.pan = 'This sandbox takes only its test cards (listed below).';
    if (!/^(0[1-9]|1[0-2])$/.test(month) || !/^\d{2}$/.test(year) || expired(month, year)) errors.exp = 'Enter a future expiry month and year.';
    if (!/^\d{3}$/.test((body.cvv ?? '').trim())) errors.cvv = 'Enter the 3-digit security code.';
    if (Object.keys(errors).length > 0 || !card) {
      return render(res, 'card', cardLocals(req, token, s.fields, s.merchant, s.clientId, { errors, form: { pan: body.pan ?? '', expMonth: body.expMonth ?? '', expYear: body.expYear ?? '' } }), 422);
    }
    s.card = { behaviour: card.behaviour, pan, brand: card.brand, month, year, tamper: body.tamper === 'on' || body.tamper === '1' };
    await render(res, 'password', { action: `${req.baseUrl}/fim/est3Dgate/${token}/3d`, maskedPan: maskSpaced(pan), amount: s.fields.amount, currency: currencyCode(s.fields.currency), merchantName: s.merchant.name ?? s.clientId, error: null });
  });

  // 3. The 3D password; then the bank authorises and posts the hashed result back.
  router.post('/fim/est3Dgate/:token/3d', form, async (req, res) => {
    const found = session(req);
    if (!found || !found[1].card) return gateError(res, ['This payment session is over or unknown: start again from the merchant\'s site.'], 410);
    const [token, s] = found;
    bank.sessions.delete(token); // one answer per session, like the bank's
    const card = s.card!;
    const password = flatten(req.body)?.password ?? '';
    const authenticated = card.behaviour !== '3d_fail' && password === NESTPAY_SANDBOX_3D_PASSWORD;
    const reply = authorise(bank, s, card, authenticated, req.ip ?? '');
    const target = reply.approved ? s.fields.okUrl! : s.fields.failUrl!;
    await render(res, 'post-back', { action: target, fields: reply.fields, approved: reply.approved });
  });

  // The XML API: ORDERSTATUS and Credit, with the store's API user and password.
  router.post('/fim/api', express.text({ type: () => true, limit: '64kb' }), async (req, res) => {
    let raw = typeof req.body === 'string' ? req.body : '';
    if (/^DATA=/i.test(raw)) raw = new URLSearchParams(raw).get('DATA') ?? '';
    const reply = async (msg: Cc5Message, delay = false) => {
      if (delay) await new Promise((r) => setTimeout(r, slowApiMs));
      res.status(200).type('text/xml; charset=ISO-8859-9').send(buildCc5Iso88599('CC5Response', msg));
    };
    const request = parseCc5(raw, 'CC5Request');
    if (!request) return reply(apiError('XML could not be parsed as a CC5Request.'));
    const clientId = text(request, 'ClientId');
    const merchant = clientId ? await opts.resolveMerchant(clientId) : null;
    if (!merchant || !same(text(request, 'Name'), merchant.apiUser) || !same(text(request, 'Password'), merchant.apiPassword)) {
      return reply(apiError('Kullanıcı adı veya şifre hatalı (wrong API user name or password).'));
    }
    const oid = text(request, 'OrderId');
    const order = oid ? bank.order(clientId, oid) : undefined;
    if (extra(request, 'ORDERSTATUS').toUpperCase() === 'QUERY') {
      if (!order) return reply({ ...apiError(`No record found for ${oid}`), OrderId: oid });
      return reply(orderStatus(order), order.slow);
    }
    if (text(request, 'Type') === 'Credit') {
      if (!order || !order.approved) return reply({ ...apiError(`No approved sale found for order ${oid}.`), OrderId: oid });
      const currency = text(request, 'Currency');
      if (currency && currency !== order.currency) return reply({ ...apiError('Para birimi satış ile uyuşmuyor (currency differs from the sale).'), OrderId: oid }, order.slow);
      const remaining = order.amountMinor - order.refunds.reduce((sum, r) => sum + r.amountMinor, 0);
      const total = text(request, 'Total');
      const amountMinor = total === '' ? remaining : parseAmount(total);
      if (amountMinor === null || amountMinor <= 0) return reply({ ...apiError(`Total "${total}" is not an amount such as 12.50.`), OrderId: oid }, order.slow);
      if (amountMinor > remaining) {
        return reply({ ...apiError(`İade tutarı kalan tutarı aşıyor (refund exceeds the ${formatAmount(remaining)} left on the sale).`), OrderId: oid }, order.slow);
      }
      const refund = { transId: newTransId(), amountMinor, at: new Date() };
      order.refunds.push(refund); // processed first: a slow answer does not undo it
      return reply(
        {
          OrderId: oid,
          GroupId: oid,
          Response: 'Approved',
          AuthCode: String(randomInt(100000, 999999)),
          HostRefNum: digits(12),
          ProcReturnCode: '00',
          TransId: refund.transId,
          ErrMsg: '',
          Extra: { SETTLEID: '', TRXDATE: trxDate(refund.at), ERRORCODE: '', NUMCODE: '00' },
        },
        order.slow,
      );
    }
    return reply(apiError(`Desteklenmeyen işlem (unsupported request: Type "${text(request, 'Type')}").`));
  });

  return router;
}

// ---------------------------------------------------------------------------

function checkGateRequest(f: Record<string, string>, clientId: string, merchant: NestpaySandboxMerchant | null): string[] {
  const problems: string[] = [];
  const need = (name: string) => {
    if (!f[name]) problems.push(`${name} is missing.`);
    return f[name] ?? '';
  };
  if (!clientId) problems.push('clientid is missing.');
  else if (!merchant) problems.push(`No sandbox store has clientid ${clientId}: check the client id in the payment settings.`);
  const storetype = need('storetype');
  if (storetype && storetype.toLowerCase() !== '3d_pay') problems.push(`storetype is "${storetype}"; this sandbox simulates the 3D_PAY model (storetype=3d_pay).`);
  const amount = need('amount');
  if (amount && (!/^\d+\.\d{2}$/.test(amount) || parseAmount(amount) === 0)) problems.push(`amount "${amount}" must be positive, with a dot and two decimals (e.g. 12.50).`);
  const oid = need('oid');
  if (oid && !/^[A-Za-z0-9_-]{1,64}$/.test(oid)) problems.push('oid must be 1 to 64 letters, digits, "_" or "-".');
  for (const name of ['okUrl', 'failUrl']) {
    const url = need(name);
    if (url && !/^https?:\/\/[^\s]+$/i.test(url)) problems.push(`${name} must be an absolute http(s) URL.`);
  }
  need('rnd');
  const currency = need('currency');
  if (currency && !currencyCode(currency)) problems.push(`currency "${currency}" must be an ISO 4217 number: 949 (TRY), 840 (USD) or 978 (EUR).`);
  const tranType = f.TranType ?? f.islemtipi ?? '';
  if (tranType !== 'Auth') problems.push(`TranType is "${tranType}"; this sandbox takes sales (TranType=Auth).`);
  if (f.lang && !['tr', 'en'].includes(f.lang)) problems.push('lang must be tr or en.');
  if (f.taksit && !/^([2-9]|1[0-2])$/.test(f.taksit)) problems.push('taksit must be empty (single payment) or 2 to 12.');
  if ((f.hashAlgorithm ?? '') !== 'ver3') problems.push('hashAlgorithm must be ver3.');
  const hashKey = Object.keys(f).find((k) => k.toLowerCase() === 'hash');
  if (!hashKey || !f[hashKey]) problems.push('hash is missing.');
  else if (merchant && problems.length === 0) {
    const expected = Buffer.from(nestpayHashV3(f, merchant.storeKey));
    const given = Buffer.from(f[hashKey]!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      const order = Object.keys(f).filter((k) => !['hash', 'encoding'].includes(k.toLowerCase())).sort(strnatcasecmp);
      problems.push(
        `The hash does not match. Hash version 3 is SHA-512 (base64) of the values of every posted field except hash and encoding, ordered by name with PHP's strnatcasecmp (here: ${order.join(', ')}), with "\\" escaped as "\\\\" and "|" as "\\|", then the store key, joined with "|".`,
      );
    }
  }
  return problems;
}

interface Reply {
  approved: boolean;
  fields: Record<string, string>;
}

/** Builds the bank's post-back: every field the merchant sent, the 3D and authorisation results, and HASH. */
function authorise(bank: NestpaySandboxBank, s: GateSession, card: NonNullable<GateSession['card']>, authenticated: boolean, clientIp: string): Reply {
  const f = s.fields;
  const now = new Date();
  const amountMinor = parseAmount(f.amount)!;
  const duplicate = bank.order(s.clientId, f.oid!)?.approved === true;
  let md: Record<string, string>;
  let auth: Record<string, string>;
  let approved = false;
  if (!authenticated) {
    md = { mdStatus: '0', mdErrorMsg: card.behaviour === '3d_fail' ? 'N-status/Kart sahibi doğrulanamadı (cardholder not authenticated)' : 'N-status/3D şifresi hatalı (wrong 3D password)', txstatus: 'N', eci: '', cavv: '' };
    // 3D_PAY stops before authorisation when 3D fails: no result code from the bank's host.
    auth = { ProcReturnCode: '', Response: '', AuthCode: '', TransId: '', HostRefNum: '', ErrMsg: '' };
  } else {
    md = { mdStatus: '1', mdErrorMsg: 'Authenticated', txstatus: 'Y', eci: card.brand === 'VISA' ? '05' : '02', cavv: randomBytes(20).toString('base64') };
    const transId = newTransId();
    if (duplicate) {
      auth = { ProcReturnCode: '99', Response: 'Error', AuthCode: '', TransId: transId, HostRefNum: '', ErrMsg: 'Mükerrer sipariş numarası (this oid was already paid).' };
    } else if (card.behaviour === 'decline') {
      auth = { ProcReturnCode: '05', Response: 'Declined', AuthCode: '', TransId: transId, HostRefNum: digits(12), ErrMsg: 'İşlem onaylanmadı (Do not honour)' };
    } else {
      auth = { ProcReturnCode: '00', Response: 'Approved', AuthCode: String(randomInt(100000, 999999)), TransId: transId, HostRefNum: digits(12), ErrMsg: '' };
      approved = true;
    }
    if (!duplicate) {
      bank.record({
        clientId: s.clientId,
        oid: f.oid!,
        amountMinor,
        currency: f.currency!,
        approved,
        procReturnCode: auth.ProcReturnCode!,
        errMsg: auth.ErrMsg!,
        transId,
        authCode: auth.AuthCode!,
        hostRefNum: auth.HostRefNum!,
        maskedPan: maskSpaced(card.pan),
        at: now,
        slow: card.behaviour === 'slow_api',
        refunds: [],
      });
    }
  }
  const fields: Record<string, string> = {
    ...f,
    clientIp,
    merchantID: s.clientId,
    merchantName: s.merchant.name ?? '',
    ReturnOid: f.oid!,
    maskedCreditCard: maskSpaced(card.pan),
    MaskedPan: `${card.pan.slice(0, 6)}***${card.pan.slice(-4)}`,
    Ecom_Payment_Card_ExpDate_Month: card.month,
    Ecom_Payment_Card_ExpDate_Year: card.year,
    EXTRA_CARDBRAND: card.brand,
    EXTRA_TRXDATE: trxDate(now),
    xid: randomBytes(20).toString('base64'),
    md: `${card.pan.slice(0, 6)}:${randomBytes(32).toString('hex').toUpperCase()}:${randomInt(1000, 9999)}:##${s.clientId}`,
    PAResSyntaxOK: 'true',
    PAResVerified: authenticated ? 'true' : 'false',
    version: '2.0',
    sID: '1',
    TRANID: '',
    callbackCall: 'true',
    ...md,
    ...auth,
    encoding: 'UTF-8', // not hashed, like on the real gate
  };
  fields.HASH = nestpayHashV3(fields, s.merchant.storeKey);
  if (card.tamper) fields.HASH = (fields.HASH[0] === 'A' ? 'B' : 'A') + fields.HASH.slice(1);
  return { approved, fields };
}

function orderStatus(o: SandboxOrder): Cc5Message {
  const dttm = o.at.toISOString().replace('T', ' ').replace('Z', '');
  const stat = o.approved ? 'S' : 'D';
  const amt = String(o.amountMinor); // minor units, as the bank reports them
  const e: Record<string, string> = {
    AUTH_CODE: o.authCode,
    AUTH_DTTM: dttm,
    CAPTURE_AMT: o.approved ? amt : '',
    CAPTURE_DTTM: o.approved ? dttm : '',
    CAVV_3D: '',
    CHARGE_TYPE_CD: 'S',
    ECI_3D: '',
    HOSTDATE: '',
    HOST_REF_NUM: o.hostRefNum,
    MDSTATUS: '1',
    NUMCODE: '0',
    ORD_ID: o.oid,
    ORIG_TRANS_AMT: amt,
    PAN: o.maskedPan,
    PROC_RET_CD: o.procReturnCode,
    SETTLEID: '',
    TRANS_ID: o.transId,
    TRANS_STAT: stat,
    XID_3D: '',
  };
  if (!o.approved) e.HOSTMSG = o.errMsg;
  e.ORDERSTATUS = ['ORD_ID', 'CHARGE_TYPE_CD', 'ORIG_TRANS_AMT', 'CAPTURE_AMT', 'TRANS_STAT', 'AUTH_DTTM', 'CAPTURE_DTTM', 'AUTH_CODE', 'TRANS_ID'].map((k) => `${k}:${e[k]}`).join('\t');
  return { ErrMsg: `Record(s) found for ${o.oid}`, ProcReturnCode: '00', Response: 'Approved', OrderId: o.oid, TransId: o.transId, Extra: e };
}

const apiError = (msg: string): Cc5Message => ({ ErrMsg: msg, ProcReturnCode: '99', Response: 'Error', Extra: { ERRORCODE: 'CORE-2008', NUMCODE: '99' } });

function cardLocals(req: Request, token: string, f: Record<string, string>, m: NestpaySandboxMerchant, clientId: string, extraLocals: Record<string, unknown>) {
  return {
    action: `${req.baseUrl}/fim/est3Dgate/${token}/card`,
    merchantName: m.name ?? clientId,
    amount: f.amount,
    currency: currencyCode(f.currency),
    oid: f.oid,
    taksit: f.taksit ?? '',
    lang: f.lang === 'tr' ? 'tr' : 'en',
    cards: nestpaySandboxCards,
    password: NESTPAY_SANDBOX_3D_PASSWORD,
    errors: {},
    form: {},
    ...extraLocals,
  };
}

/** Form bodies as single strings; null when a field came as an array or object. */
function flatten(body: unknown): Record<string, string> | null {
  if (!body || typeof body !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (typeof v !== 'string') return null;
    out[k] = v;
  }
  return out;
}

const currencyCode = (n: string | undefined): string | null => ({ '949': 'TRY', '840': 'USD', '978': 'EUR' })[n ?? ''] ?? null;
const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};
const digits = (n: number) => Array.from({ length: n }, () => randomInt(0, 10)).join('');
const newTransId = () => `${new Date().toISOString().slice(2, 10).replace(/-/g, '')}${randomBytes(5).toString('hex').toUpperCase()}`;
const trxDate = (d: Date) => d.toISOString().replace(/[-]/g, '').replace('T', ' ').slice(0, 17);
const maskSpaced = (pan: string) => `${pan.slice(0, 4)} ${pan.slice(4, 6)}** **** ${pan.slice(-4)}`;

function luhn(pan: string): boolean {
  let sum = 0;
  for (let i = 0; i < pan.length; i++) {
    let d = Number(pan[pan.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

function expired(month: string, year: string): boolean {
  const now = new Date();
  const y = 2000 + Number(year);
  return y < now.getUTCFullYear() || (y === now.getUTCFullYear() && Number(month) < now.getUTCMonth() + 1);
}

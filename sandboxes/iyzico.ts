// An offline iyzico: the JSON API iyzipay talks to (checkout form, payment auth/detail, card
// storage, refund v2) and the hosted checkout page the buyer's browser sees. It checks every
// request's IYZWSv2 Authorization header against the merchant's secret key, signs its answers as
// iyzico does, honours conversationId as the idempotency key of charges and refunds, and posts
// signed webhooks (X-IYZ-SIGNATURE-V3) to the merchant's registered URL.
//
// State (forms, payments, recorded answers) lives in memory; saved-card tokens are stateless:
// "ct_<behaviour>_<nonce>_<mac>", the mac keyed by the merchant's secret key, so a saved card
// keeps working after a restart and cannot be used by another merchant.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';
import express, { type Request, type Response, type Router } from 'express';
import { formatMoney } from '../src/lib/money';
import { parseIyzicoPrice, toIyzicoPrice } from '../src/gateways/iyzico/price';
import { iyzicoRequestSignatureV2, iyzicoResponseSignature, iyzicoWebhookSignatureV3, type IyzicoResponseType } from '../src/gateways/iyzico/signature';
import {
  findTestCard,
  IYZICO_SANDBOX_3DS_PASSWORD,
  IYZICO_TEST_CARDS,
  iyzicoCardBehaviours,
  type IyzicoCardBehaviour,
  type IyzicoTestCard,
} from '../src/gateways/iyzico/test-cards';

const viewsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../views/sandbox/iyzico');

export interface IyzicoSandboxMerchant {
  secretKey: string;
  /** Where this merchant's webhooks go (iyzico panel: Settings > Merchant notifications). */
  webhookUrl?: string | null;
  merchantId?: number;
  /** The merchant's name as iyzico shows it to the buyer. */
  name?: string;
}

export interface IyzicoSandboxOptions {
  /** The merchant behind an API key, or null when the key is unknown (errorCode 1001). */
  resolveMerchant: (apiKey: string) => Promise<IyzicoSandboxMerchant | null>;
  /** In-memory state; pass one to inspect it (tests) or share it. */
  store?: IyzicoSandboxStore;
  /**
   * Browser-facing URL of this router's mount point, e.g. `${publicUrl}/sandbox/iyzico`, used in
   * paymentPageUrl. Default: derived from the API request (protocol, Host and mount path).
   */
  publicUrl?: string;
  /** Delay of the first answer about a "slow" test card payment. Default 125 s: more than any client timeout Kontor allows. */
  slowAnswerMs?: number;
  /** Told about webhook deliveries that failed. */
  onWebhookError?: (url: string, error: string) => void;
}

type Status = 'SUCCESS' | 'FAILURE';

interface CardOnFile {
  card: IyzicoTestCard;
  cardUserKey?: string;
  cardToken?: string;
}

/** A payment iyzico recorded (approved or failed). */
export interface SandboxPayment {
  paymentId: string;
  apiKey: string;
  conversationId: string;
  basketId: string;
  priceMinor: number;
  paidPriceMinor: number;
  currency: string;
  status: Status;
  error?: ApiError;
  mdStatus: number;
  behaviour: IyzicoCardBehaviour;
  card: CardOnFile;
  items: { itemId: string; paymentTransactionId: string; priceMinor: number }[];
  refundedMinor: number;
  /** The installments charged (1: single payment). */
  installment: number;
  /** The first answer about a "slow" card's payment has not been given yet. */
  slowPending: boolean;
  token?: string;
  createdAt: number;
}

/** A checkout form session, from initialize to the buyer's submission. */
export interface SandboxForm {
  token: string;
  apiKey: string;
  locale: string;
  conversationId: string;
  basketId: string;
  priceMinor: number;
  paidPriceMinor: number;
  currency: string;
  callbackUrl: string;
  buyer: { id: string; name: string; surname: string; email: string };
  itemName: string;
  /** Who is paid, shown on the checkout form. */
  merchantName?: string;
  items: { itemId: string; priceMinor: number }[];
  cardUserKey?: string;
  /** The installment counts the merchant let the form offer (enabledInstallments; default [1]). */
  enabledInstallments: number[];
  createdAt: number;
  /** Waiting for the 3-D Secure password. */
  threeds?: { card: IyzicoTestCard; register: boolean; installment: number };
  /** Set once the buyer has paid (or failed); "fail" cards leave only `failed`. */
  paymentId?: string;
  failed?: boolean;
}

export interface SandboxWebhook {
  url: string;
  payload: Record<string, unknown>;
  signature: string;
  delivered: boolean;
}

export interface IyzicoSandboxStore {
  forms: Map<string, SandboxForm>;
  payments: Map<string, SandboxPayment>;
  /** First answer per `${apiKey}|${conversationId}`: charges (auth) and refunds. */
  answers: Map<string, Record<string, unknown>>;
  webhooks: SandboxWebhook[];
}

export function createIyzicoSandboxStore(): IyzicoSandboxStore {
  return { forms: new Map(), payments: new Map(), answers: new Map(), webhooks: [] };
}

// ---------------------------------------------------------------------------
// Errors. Codes iyzico publishes keep iyzico's code; the SBX_ ones are this sandbox's own.

interface ApiError {
  errorCode: string;
  errorMessage: string;
  errorGroup?: string;
}
const E = {
  systemError: { errorCode: '1', errorMessage: 'System error (sandbox "fail" card).' },
  invalidRequest: (why: string) => ({ errorCode: '11', errorMessage: `Invalid request: ${why}` }),
  invalidSignature: { errorCode: '1000', errorMessage: 'Invalid signature' },
  apiKeyNotFound: { errorCode: '1001', errorMessage: 'API key not found' },
  notSufficientFunds: { errorCode: '10051', errorMessage: 'Insufficient card limit, insufficient balance', errorGroup: 'NOT_SUFFICIENT_FUNDS' },
  requires3ds: { errorCode: '10217', errorMessage: 'Debit cards can only be used with 3-D Secure', errorGroup: 'REQUIRES_3DS' },
  threedsFailed: { errorCode: 'SBX_3DS_FAILED', errorMessage: '3-D Secure authentication failed (mdStatus 0).' },
  notATestCard: { errorCode: 'SBX_NOT_A_TEST_CARD', errorMessage: 'Use one of the sandbox test cards.' },
  cardNotFound: { errorCode: 'SBX_CARD_NOT_FOUND', errorMessage: 'Stored card not found for this merchant and card user.' },
  tokenNotFound: { errorCode: 'SBX_TOKEN_NOT_FOUND', errorMessage: 'Checkout form token not found.' },
  formNotCompleted: { errorCode: 'SBX_FORM_NOT_COMPLETED', errorMessage: 'The buyer has not completed the checkout form yet.' },
  paymentNotFound: { errorCode: 'SBX_PAYMENT_NOT_FOUND', errorMessage: 'Payment not found.' },
  refundTooLarge: { errorCode: 'SBX_REFUND_TOO_LARGE', errorMessage: 'The refund is larger than what is left of the payment.' },
  notRefundable: { errorCode: 'SBX_NOT_REFUNDABLE', errorMessage: 'Only approved payments can be refunded.' },
  noInstallments: { errorCode: '5086', errorMessage: 'Bu kart ile taksitli işlem yapılamaz (this card cannot pay in installments).' },
  installmentNotEnabled: { errorCode: 'SBX_INSTALLMENT_NOT_ENABLED', errorMessage: 'This installment count is not offered for this card.' },
} satisfies Record<string, ApiError | ((why: string) => ApiError)>;

const CURRENCIES = ['TRY', 'USD', 'EUR', 'GBP', 'NOK', 'CHF', 'RUB', 'IRR'];

// ---------------------------------------------------------------------------
// Small helpers

const s = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : '');
/** Wire price as iyzico answers it: a JSON number (1250 -> 12.5). */
const wirePrice = (minor: number): number => Number(toIyzicoPrice(minor));
const hmacHex = (key: string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest('hex');
const safeEqual = (a: string, b: string) => {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
};
const flipHex = (h: string) => (h[0] === '0' ? '1' : '0') + h.slice(1);

let lastId = Math.floor(Date.now() / 1000) * 10;
/** iyzico ids are numeric strings; time-based so they do not repeat across restarts. */
const nextId = () => String(++lastId);

function cardUserKeyFor(secretKey: string, email: string): string {
  return `cuk_${hmacHex(secretKey, `card-user|${email.toLowerCase()}`).slice(0, 24)}`;
}

function mintCardToken(secretKey: string, cardUserKey: string, behaviour: IyzicoCardBehaviour, number: string): string {
  // The last four digits ride along so the same behaviour's cards stay distinguishable.
  const body = `${behaviour}_${number.slice(-4)}${randomBytes(4).toString('hex')}`;
  return `ct_${body}_${hmacHex(secretKey, `card-token|${cardUserKey}|${body}`).slice(0, 20)}`;
}

/** The test card behind a stored-card token, when the token is this merchant's and this user's. */
function readCardToken(secretKey: string, cardUserKey: string, token: string): IyzicoTestCard | null {
  const m = /^ct_([a-z]+)_(\d{4})([0-9a-f]{8})_([0-9a-f]{20})$/.exec(token);
  if (!m) return null;
  const behaviour = m[1] as IyzicoCardBehaviour;
  if (!iyzicoCardBehaviours.includes(behaviour)) return null;
  const body = `${behaviour}_${m[2]}${m[3]}`;
  if (!safeEqual(hmacHex(secretKey, `card-token|${cardUserKey}|${body}`).slice(0, 20), m[4]!)) return null;
  return IYZICO_TEST_CARDS.find((c) => c.behaviour === behaviour && c.number.endsWith(m[2]!)) ?? IYZICO_TEST_CARDS.find((c) => c.behaviour === behaviour) ?? null;
}

const CARD_FAMILY: Record<string, string> = { 'Is Bankasi': 'Maximum', Halkbank: 'Paraf', Denizbank: 'Bonus' };

/** The counts iyzico's installment query answers for credit cards; debit cards pay at once only. */
export const IYZICO_SANDBOX_INSTALLMENTS = [1, 2, 3, 6, 9, 12] as const;
export const installmentsOfCard = (card: IyzicoTestCard): number[] => (card.cardType === 'CREDIT_CARD' ? [...IYZICO_SANDBOX_INSTALLMENTS] : [1]);

/** enabledInstallments as sent ([] or absent: every count); null when it holds something else. */
function readEnabledInstallments(v: unknown): number[] | null {
  if (v === undefined || v === null) return [...IYZICO_SANDBOX_INSTALLMENTS];
  if (!Array.isArray(v)) return null;
  const out = v.map((x) => Number(s(x)));
  if (out.some((n) => !(IYZICO_SANDBOX_INSTALLMENTS as readonly number[]).includes(n))) return null;
  return out.length === 0 ? [...IYZICO_SANDBOX_INSTALLMENTS] : [...new Set(out)].sort((a, b) => a - b);
}

function cardFields(card: CardOnFile) {
  return {
    cardType: card.card.cardType,
    cardAssociation: card.card.association,
    cardFamily: CARD_FAMILY[card.card.bank] ?? 'Sandbox',
    binNumber: card.card.number.slice(0, 8),
    lastFourDigits: card.card.number.slice(-4),
    ...(card.cardUserKey && card.cardToken ? { cardUserKey: card.cardUserKey, cardToken: card.cardToken } : {}),
  };
}

interface Authed {
  apiKey: string;
  merchant: IyzicoSandboxMerchant;
  body: Record<string, unknown>;
  locale: string;
}

/** Basket checks shared by checkout form initialize and payment auth. */
function readOrder(body: Record<string, unknown>): { error: ApiError } | { priceMinor: number; paidPriceMinor: number; currency: string; itemName: string; items: { itemId: string; priceMinor: number }[]; buyer: SandboxForm['buyer'] } {
  const priceMinor = parseIyzicoPrice(body.price);
  const paidPriceMinor = parseIyzicoPrice(body.paidPrice);
  if (priceMinor === null || priceMinor <= 0) return { error: E.invalidRequest('price must be a positive decimal.') };
  if (paidPriceMinor === null || paidPriceMinor < priceMinor) return { error: E.invalidRequest('paidPrice must be a decimal, at least price.') };
  const currency = s(body.currency) || 'TRY';
  if (!CURRENCIES.includes(currency)) return { error: E.invalidRequest(`currency ${currency} is not supported.`) };
  const buyer = (body.buyer ?? {}) as Record<string, unknown>;
  for (const f of ['id', 'name', 'surname', 'identityNumber', 'email', 'registrationAddress', 'city', 'country', 'ip']) {
    if (!s(buyer[f])) return { error: E.invalidRequest(`buyer.${f} is required.`) };
  }
  const billing = (body.billingAddress ?? {}) as Record<string, unknown>;
  for (const f of ['contactName', 'city', 'country', 'address']) {
    if (!s(billing[f])) return { error: E.invalidRequest(`billingAddress.${f} is required.`) };
  }
  const rawItems = Array.isArray(body.basketItems) ? (body.basketItems as Record<string, unknown>[]) : [];
  if (rawItems.length === 0) return { error: E.invalidRequest('basketItems is required.') };
  const items: { itemId: string; priceMinor: number }[] = [];
  let sum = 0;
  for (const item of rawItems) {
    const p = parseIyzicoPrice(item.price);
    if (!s(item.id) || !s(item.name) || !s(item.category1) || !s(item.itemType) || p === null || p <= 0) {
      return { error: E.invalidRequest('each basket item needs id, name, category1, itemType and a positive price.') };
    }
    items.push({ itemId: s(item.id), priceMinor: p });
    sum += p;
  }
  if (sum !== priceMinor) return { error: E.invalidRequest('the basket items must add up to price.') };
  return {
    priceMinor,
    paidPriceMinor,
    currency,
    itemName: s(rawItems[0]!.name),
    items,
    buyer: { id: s(buyer.id), name: s(buyer.name), surname: s(buyer.surname), email: s(buyer.email) },
  };
}

// ---------------------------------------------------------------------------

export function createIyzicoSandbox(opts: IyzicoSandboxOptions): Router {
  const store = opts.store ?? createIyzicoSandboxStore();
  const slowAnswerMs = opts.slowAnswerMs ?? 125_000;
  const router = express.Router();
  const api = express.raw({ type: () => true, limit: '200kb' });
  const form = express.urlencoded({ extended: false, limit: '20kb' });

  const now = () => Date.now();
  const failure = (res: Response, http: number, err: ApiError, a: Partial<Authed> & { body?: Record<string, unknown> }, extra: Record<string, unknown> = {}) =>
    res.status(http).json({
      status: 'failure',
      ...err,
      locale: a.locale ?? 'tr',
      systemTime: now(),
      ...(a.body && s(a.body.conversationId) ? { conversationId: s(a.body.conversationId) } : {}),
      ...extra,
    });

  const sign = (type: IyzicoResponseType, answer: Record<string, unknown>, secretKey: string, tamper = false) => {
    const sig = iyzicoResponseSignature(type, answer, secretKey);
    return { ...answer, signature: tamper ? flipHex(sig) : sig };
  };

  /** IYZWSv2: HMAC-SHA256(secretKey, x-iyzi-rnd + path + body) under the merchant's API key. */
  async function authenticate(req: Request, res: Response): Promise<Authed | null> {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    let body: Record<string, unknown> = {};
    if (raw !== '') {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
      } catch {
        failure(res, 400, E.invalidRequest('the body is not JSON.'), {});
        return null;
      }
    }
    const locale = s(body.locale) || 'tr';
    const header = req.get('authorization') ?? '';
    const m = /^IYZWSv2 ([A-Za-z0-9+/=]+)$/.exec(header);
    const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const parts = /^apiKey:([^&]+)&randomKey:([^&]+)&signature:([0-9a-f]{64})$/.exec(decoded);
    const rnd = req.get('x-iyzi-rnd');
    if (!parts || !rnd || rnd !== parts[2]) {
      failure(res, 401, E.invalidSignature, { locale, body });
      return null;
    }
    const apiKey = parts[1]!;
    const merchant = await opts.resolveMerchant(apiKey);
    if (!merchant) {
      failure(res, 401, E.apiKeyNotFound, { locale, body });
      return null;
    }
    const expected = iyzicoRequestSignatureV2({ secretKey: merchant.secretKey, randomKey: rnd, uriPath: req.path, body: raw });
    if (!safeEqual(expected, parts[3]!)) {
      failure(res, 401, E.invalidSignature, { locale, body });
      return null;
    }
    return { apiKey, merchant, body, locale };
  }

  /** Waits out the first answer about a "slow" payment (after recording everything). */
  async function slowOnce(p: SandboxPayment | undefined): Promise<void> {
    if (!p?.slowPending) return;
    p.slowPending = false;
    await sleep(slowAnswerMs);
  }

  function merchantIdOf(a: { apiKey: string; merchant: IyzicoSandboxMerchant }): number {
    return a.merchant.merchantId ?? parseInt(hmacHex('merchant', a.apiKey).slice(0, 7), 16);
  }

  function sendWebhook(a: { apiKey: string; merchant: IyzicoSandboxMerchant }, payload: Record<string, unknown>): void {
    const url = a.merchant.webhookUrl;
    if (!url) return;
    const signature = iyzicoWebhookSignatureV3(payload, a.merchant.secretKey);
    const record: SandboxWebhook = { url, payload, signature, delivered: false };
    store.webhooks.push(record);
    // After the current answer, a few tries like iyzico's retries (shortened).
    void (async () => {
      let lastError = '';
      for (const wait of [0, 500, 2000]) {
        await sleep(wait);
        try {
          const r = await fetch(url, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'X-IYZ-SIGNATURE-V3': signature },
            body: JSON.stringify(payload),
            signal: AbortSignal.timeout(5000),
          });
          if (r.ok) {
            record.delivered = true;
            return;
          }
          lastError = `HTTP ${r.status}`;
        } catch (err) {
          lastError = (err as Error).message;
        }
      }
      opts.onWebhookError?.(url, lastError);
    })();
  }

  function paymentWebhook(a: { apiKey: string; merchant: IyzicoSandboxMerchant }, p: SandboxPayment): void {
    const common = {
      paymentConversationId: p.conversationId,
      merchantId: merchantIdOf(a),
      status: p.status,
      iyziReferenceCode: randomUUID(),
      iyziEventTime: now(),
      iyziPaymentId: Number(p.paymentId),
    };
    sendWebhook(a, p.token ? { ...common, token: p.token, iyziEventType: 'CHECKOUT_FORM_AUTH' } : { ...common, paymentId: Number(p.paymentId), iyziEventType: 'API_AUTH' });
  }

  /** The fields of a payment answer (auth, detail, checkout form retrieve). */
  function paymentAnswer(p: SandboxPayment, locale: string): Record<string, unknown> {
    const ok = p.status === 'SUCCESS';
    return {
      status: ok ? 'success' : 'failure',
      ...(ok ? {} : p.error),
      locale,
      systemTime: now(),
      conversationId: p.conversationId,
      price: wirePrice(p.priceMinor),
      paidPrice: wirePrice(p.paidPriceMinor),
      installment: p.installment,
      paymentId: p.paymentId,
      fraudStatus: ok ? 1 : 0,
      merchantCommissionRate: 0,
      merchantCommissionRateAmount: 0,
      ...cardFields(p.card),
      basketId: p.basketId,
      currency: p.currency,
      itemTransactions: p.items.map((i) => ({
        itemId: i.itemId,
        paymentTransactionId: i.paymentTransactionId,
        transactionStatus: ok ? 2 : 0,
        price: wirePrice(i.priceMinor),
        paidPrice: wirePrice(i.priceMinor),
      })),
      authCode: ok ? String(100000 + (Number(p.paymentId) % 900000)) : undefined,
      phase: 'AUTH',
      // mdStatus only exists where 3-D Secure could run (the checkout form).
      ...(p.token ? { mdStatus: p.mdStatus } : {}),
      hostReference: `sbx${p.paymentId}`,
      paymentStatus: p.status,
    };
  }

  function recordPayment(a: Authed | { apiKey: string }, f: Omit<SandboxPayment, 'paymentId' | 'apiKey' | 'refundedMinor' | 'createdAt' | 'slowPending' | 'items'> & { items: { itemId: string; priceMinor: number }[] }): SandboxPayment {
    const p: SandboxPayment = {
      ...f,
      paymentId: nextId(),
      apiKey: a.apiKey,
      refundedMinor: 0,
      createdAt: now(),
      slowPending: f.behaviour === 'slow' && f.status === 'SUCCESS',
      items: f.items.map((i) => ({ ...i, paymentTransactionId: nextId() })),
    };
    store.payments.set(p.paymentId, p);
    return p;
  }

  // ---- Checkout form initialize -------------------------------------------------------------
  router.post('/payment/iyzipos/checkoutform/initialize/auth/ecom', api, async (req, res) => {
    const a = await authenticate(req, res);
    if (!a) return;
    const { body } = a;
    const order = readOrder(body);
    if ('error' in order) return failure(res, 400, order.error, a);
    const callbackUrl = s(body.callbackUrl);
    if (!/^https?:\/\/\S+$/.test(callbackUrl)) return failure(res, 400, E.invalidRequest('callbackUrl must be an http(s) URL.'), a);
    const enabledInstallments = readEnabledInstallments(body.enabledInstallments);
    if (!enabledInstallments) return failure(res, 400, E.invalidRequest('enabledInstallments must list counts among 1, 2, 3, 6, 9 and 12.'), a);
    const token = randomUUID();
    const f: SandboxForm = {
      token,
      apiKey: a.apiKey,
      locale: a.locale,
      conversationId: s(body.conversationId),
      basketId: s(body.basketId),
      priceMinor: order.priceMinor,
      paidPriceMinor: order.paidPriceMinor,
      currency: order.currency,
      callbackUrl,
      buyer: order.buyer,
      itemName: order.itemName,
      ...(a.merchant.name ? { merchantName: a.merchant.name } : {}),
      items: order.items,
      ...(s(body.cardUserKey) ? { cardUserKey: s(body.cardUserKey) } : {}),
      enabledInstallments,
      createdAt: now(),
    };
    store.forms.set(token, f);
    const base = (opts.publicUrl ?? `${req.protocol}://${req.get('host')}${req.baseUrl}`).replace(/\/+$/, '');
    const paymentPageUrl = `${base}/checkout/${token}`;
    res.json(
      sign(
        'checkoutFormInitialize',
        {
          status: 'success',
          locale: a.locale,
          systemTime: now(),
          conversationId: f.conversationId,
          token,
          checkoutFormContent: `<div id="iyzipay-checkout-form" data-payment-page-url="${paymentPageUrl}"></div>`,
          tokenExpireTime: 1800,
          paymentPageUrl,
        },
        a.merchant.secretKey,
      ),
    );
  });

  // ---- Checkout form retrieve ---------------------------------------------------------------
  router.post('/payment/iyzipos/checkoutform/auth/ecom/detail', api, async (req, res) => {
    const a = await authenticate(req, res);
    if (!a) return;
    const f = store.forms.get(s(a.body.token));
    if (!f || f.apiKey !== a.apiKey) return failure(res, 400, E.tokenNotFound, a);
    const extra = { token: f.token, callbackUrl: f.callbackUrl };
    if (f.failed) return failure(res, 400, E.systemError, a, extra);
    const p = f.paymentId ? store.payments.get(f.paymentId) : undefined;
    if (!p) return failure(res, 400, E.formNotCompleted, a, extra);
    await slowOnce(p);
    res.json(sign('checkoutFormRetrieve', { ...paymentAnswer(p, a.locale), ...extra }, a.merchant.secretKey, p.behaviour === 'tamper'));
  });

  // ---- Payment auth (non-3DS; stored card or card number) ----------------------------------
  router.post('/payment/auth', api, async (req, res) => {
    const a = await authenticate(req, res);
    if (!a) return;
    const { body } = a;
    const conversationId = s(body.conversationId);
    const answerKey = `auth|${a.apiKey}|${conversationId}`;
    const recorded = conversationId ? store.answers.get(answerKey) : undefined;
    if (recorded) {
      // Same merchant, same conversationId: the first answer, never a second charge.
      const first = store.payments.get(s(recorded.paymentId));
      await slowOnce(first);
      return res.status(recorded.status === 'success' ? 200 : 400).json(recorded);
    }
    const order = readOrder(body);
    if ('error' in order) return failure(res, 400, order.error, a);
    if (!s(body.basketId)) return failure(res, 400, E.invalidRequest('basketId is required.'), a);
    const pc = (body.paymentCard ?? {}) as Record<string, unknown>;
    let onFile: CardOnFile;
    if (s(pc.cardToken)) {
      const card = readCardToken(a.merchant.secretKey, s(pc.cardUserKey), s(pc.cardToken));
      if (!card) return failure(res, 400, E.cardNotFound, a);
      onFile = { card, cardUserKey: s(pc.cardUserKey), cardToken: s(pc.cardToken) };
    } else {
      const card = findTestCard(s(pc.cardNumber));
      if (!card) return failure(res, 400, E.notATestCard, a);
      onFile = { card };
    }
    const installment = body.installment === undefined || body.installment === null || s(body.installment) === '' ? 1 : Number(s(body.installment));
    if (!(IYZICO_SANDBOX_INSTALLMENTS as readonly number[]).includes(installment)) return failure(res, 400, E.invalidRequest('installment must be 1, 2, 3, 6, 9 or 12.'), a);
    if (!installmentsOfCard(onFile.card).includes(installment)) return failure(res, 400, E.noInstallments, a);
    const behaviour = onFile.card.behaviour;
    if (behaviour === 'fail') return failure(res, 500, E.systemError, a);
    const error = behaviour === 'decline' ? E.notSufficientFunds : behaviour === 'threeds' ? E.requires3ds : undefined;
    const p = recordPayment(a, {
      conversationId,
      basketId: s(body.basketId),
      priceMinor: order.priceMinor,
      paidPriceMinor: order.paidPriceMinor,
      currency: order.currency,
      status: error ? 'FAILURE' : 'SUCCESS',
      ...(error ? { error } : {}),
      mdStatus: 0,
      behaviour,
      card: onFile,
      items: order.items,
      installment,
    });
    const answer = error
      ? { status: 'failure', ...error, locale: a.locale, systemTime: now(), conversationId, paymentId: p.paymentId }
      : sign('payment', paymentAnswer(p, a.locale), a.merchant.secretKey, behaviour === 'tamper');
    if (conversationId) store.answers.set(answerKey, answer);
    paymentWebhook(a, p);
    await slowOnce(p);
    res.status(error ? 400 : 200).json(answer);
  });

  // ---- Payment detail -----------------------------------------------------------------------
  router.post('/payment/detail', api, async (req, res) => {
    const a = await authenticate(req, res);
    if (!a) return;
    const byId = s(a.body.paymentId);
    const byConversation = s(a.body.paymentConversationId);
    let p: SandboxPayment | undefined;
    if (byId) p = store.payments.get(byId);
    else if (byConversation) {
      for (const candidate of store.payments.values()) {
        if (candidate.apiKey === a.apiKey && candidate.conversationId === byConversation) p = candidate; // the latest
      }
    }
    if (!p || p.apiKey !== a.apiKey) return failure(res, 400, E.paymentNotFound, a);
    await slowOnce(p);
    res.json(sign('payment', { ...paymentAnswer(p, a.locale), status: 'success' }, a.merchant.secretKey, p.behaviour === 'tamper'));
  });

  // ---- Installment info (iyzipay installmentInfo.retrieve) --------------------------------
  // Installment prices for a BIN: credit test cards get every count, debit cards only 1, an
  // unknown BIN no detail. The sandbox merchant passes no commission on: totalPrice is the price.
  router.post('/payment/iyzipos/installment', api, async (req, res) => {
    const a = await authenticate(req, res);
    if (!a) return;
    const price = parseIyzicoPrice(a.body.price);
    if (price === null || price <= 0) return failure(res, 400, E.invalidRequest('price must be a positive decimal.'), a);
    const bin = s(a.body.binNumber);
    if (bin !== '' && !/^\d{6,8}$/.test(bin)) return failure(res, 400, E.invalidRequest('binNumber must be the first 6 to 8 digits of a card.'), a);
    const cards = IYZICO_TEST_CARDS.filter((c) => bin === '' || c.number.startsWith(bin));
    const details = cards.slice(0, 1).map((card) => ({
      binNumber: bin || card.number.slice(0, 6),
      price: wirePrice(price),
      cardType: card.cardType,
      cardAssociation: card.association,
      cardFamilyName: CARD_FAMILY[card.bank] ?? 'Sandbox',
      force3ds: card.cardType === 'DEBIT_CARD' ? 1 : 0,
      bankCode: 0,
      bankName: card.bank,
      forceCvc: 0,
      commercial: 0,
      installmentPrices: installmentsOfCard(card).map((n) => ({ installmentNumber: n, totalPrice: wirePrice(price), installmentPrice: wirePrice(Math.floor(price / n)) })),
    }));
    res.json({ status: 'success', locale: a.locale, systemTime: now(), ...(s(a.body.conversationId) ? { conversationId: s(a.body.conversationId) } : {}), installmentDetails: details });
  });

  // ---- Card storage -------------------------------------------------------------------------
  router.post('/cardstorage/card', api, async (req, res) => {
    const a = await authenticate(req, res);
    if (!a) return;
    const { body } = a;
    const card = (body.card ?? {}) as Record<string, unknown>;
    const email = s(body.email);
    if (!s(body.cardUserKey) && !email) return failure(res, 400, E.invalidRequest('email or cardUserKey is required.'), a);
    if (!s(card.cardHolderName) || !/^\d{1,2}$/.test(s(card.expireMonth)) || !/^\d{4}$/.test(s(card.expireYear))) {
      return failure(res, 400, E.invalidRequest('card needs cardHolderName, expireMonth and expireYear.'), a);
    }
    const testCard = findTestCard(s(card.cardNumber));
    if (!testCard) return failure(res, 400, E.notATestCard, a);
    const cardUserKey = s(body.cardUserKey) || cardUserKeyFor(a.merchant.secretKey, email);
    const cardToken = mintCardToken(a.merchant.secretKey, cardUserKey, testCard.behaviour, testCard.number);
    res.json({
      status: 'success',
      locale: a.locale,
      systemTime: now(),
      ...(s(body.conversationId) ? { conversationId: s(body.conversationId) } : {}),
      ...(s(body.externalId) ? { externalId: s(body.externalId) } : {}),
      ...(email ? { email } : {}),
      cardUserKey,
      cardToken,
      cardAlias: s(card.cardAlias) || undefined,
      binNumber: testCard.number.slice(0, 8),
      lastFourDigits: testCard.number.slice(-4),
      cardType: testCard.cardType,
      cardAssociation: testCard.association,
      cardFamily: CARD_FAMILY[testCard.bank] ?? 'Sandbox',
      cardBankName: testCard.bank,
    });
  });

  // ---- Refund v2 ----------------------------------------------------------------------------
  router.post('/v2/payment/refund', api, async (req, res) => {
    const a = await authenticate(req, res);
    if (!a) return;
    const { body } = a;
    const conversationId = s(body.conversationId);
    const answerKey = `refund|${a.apiKey}|${conversationId}`;
    const recorded = conversationId ? store.answers.get(answerKey) : undefined;
    if (recorded) return res.status(recorded.status === 'success' ? 200 : 400).json(recorded);
    const p = store.payments.get(s(body.paymentId));
    if (!p || p.apiKey !== a.apiKey) return failure(res, 400, E.paymentNotFound, a);
    const amount = parseIyzicoPrice(body.price);
    if (amount === null || amount <= 0) return failure(res, 400, E.invalidRequest('price must be a positive decimal.'), a);
    if (s(body.currency) && s(body.currency) !== p.currency) return failure(res, 400, E.invalidRequest('currency differs from the payment.'), a);
    let answer: Record<string, unknown>;
    if (p.status !== 'SUCCESS') {
      answer = { status: 'failure', ...E.notRefundable, locale: a.locale, systemTime: now(), conversationId };
    } else if (p.refundedMinor + amount > p.paidPriceMinor) {
      answer = { status: 'failure', ...E.refundTooLarge, locale: a.locale, systemTime: now(), conversationId };
    } else {
      p.refundedMinor += amount;
      answer = sign(
        'refundV2',
        {
          status: 'success',
          locale: a.locale,
          systemTime: now(),
          conversationId,
          paymentId: p.paymentId,
          price: wirePrice(amount),
          currency: p.currency,
          authCode: String(100000 + (Number(p.paymentId) % 900000)),
          hostReference: `sbx${p.paymentId}`,
          refundHostReference: `sbxr${nextId()}`,
          retryable: false,
        },
        a.merchant.secretKey,
        p.behaviour === 'tamper',
      );
    }
    if (conversationId) store.answers.set(answerKey, answer);
    res.status(answer.status === 'success' ? 200 : 400).json(answer);
  });

  // ---- The buyer's pages --------------------------------------------------------------------
  const render = async (res: Response, view: string, locals: Record<string, unknown>, status = 200) => {
    const html = await ejs.renderFile(path.join(viewsDir, `${view}.ejs`), { cards: IYZICO_TEST_CARDS, password: IYZICO_SANDBOX_3DS_PASSWORD, error: null, ...locals });
    res.status(status).type('html').set('Cache-Control', 'no-store').send(html);
  };
  const pageLocals = (f: SandboxForm) => ({
    f,
    amount: formatMoney(f.paidPriceMinor, f.currency, f.locale === 'tr' ? 'tr' : 'en'),
  });

  router.get('/checkout/:token', async (req, res) => {
    const f = store.forms.get(req.params.token);
    if (!f) return render(res, 'message', { title: 'Unknown payment', message: 'This checkout form does not exist (or the sandbox restarted).' }, 404);
    if (f.paymentId || f.failed) return render(res, 'return', { f });
    await render(res, 'checkout', pageLocals(f));
  });

  router.post('/checkout/:token', form, async (req, res) => {
    const f = store.forms.get(req.params.token);
    if (!f) return render(res, 'message', { title: 'Unknown payment', message: 'This checkout form does not exist (or the sandbox restarted).' }, 404);
    if (f.paymentId || f.failed) return render(res, 'return', { f });
    const b = (req.body ?? {}) as Record<string, string>;
    const card = findTestCard(s(b.cardNumber));
    const missing = !s(b.cardHolderName).trim() || !/^\d{1,2}$/.test(s(b.expireMonth)) || !/^\d{2,4}$/.test(s(b.expireYear)) || !/^\d{3,4}$/.test(s(b.cvc));
    if (!card || missing) {
      const error = !card ? 'Use one of the test cards listed below.' : 'Fill in the card holder, expiry month and year, and CVC.';
      return render(res, 'checkout', { ...pageLocals(f), error, typed: b }, 422);
    }
    const register = b.registerCard === 'on' || b.registerCard === '1';
    // The form offers the merchant's counts the card allows; one count above 1 and a card without
    // installments (a debit card) cannot pay here, as on iyzico's form.
    const installment = installmentOfForm(f, card, s(b.installment));
    if (installment === null) return render(res, 'checkout', { ...pageLocals(f), error: E.noInstallments.errorMessage, typed: b }, 422);
    if (card.behaviour === 'threeds') {
      f.threeds = { card, register, installment };
      return render(res, 'threeds', pageLocals(f));
    }
    await completeForm(f, card, register, 1, installment);
    await render(res, 'return', { f });
  });

  router.post('/checkout/:token/3ds', form, async (req, res) => {
    const f = store.forms.get(req.params.token);
    if (!f || !f.threeds) return render(res, 'message', { title: 'No 3-D Secure step', message: 'There is no 3-D Secure step waiting for this payment.' }, 404);
    if (f.paymentId || f.failed) return render(res, 'return', { f });
    const b = (req.body ?? {}) as Record<string, string>;
    const passed = s(b.password) === IYZICO_SANDBOX_3DS_PASSWORD;
    const { card, register, installment } = f.threeds;
    delete f.threeds;
    await completeForm(f, card, register, passed ? 1 : 0, installment);
    await render(res, 'return', { f });
  });

  /**
   * The count a form's payment is made in: the one the buyer picked (when the form offered several),
   * else the only one enabled, else the smallest the card allows; null when the card allows none
   * of the enabled counts (or not the one picked).
   */
  function installmentOfForm(f: SandboxForm, card: IyzicoTestCard, picked: string): number | null {
    const possible = f.enabledInstallments.filter((n) => installmentsOfCard(card).includes(n));
    if (picked !== '') return possible.includes(Number(picked)) ? Number(picked) : null;
    if (f.enabledInstallments.length === 1) return possible[0] ?? null;
    return possible.length === 0 ? null : Math.min(...possible);
  }

  async function completeForm(f: SandboxForm, card: IyzicoTestCard, register: boolean, mdStatus: number, installment: number): Promise<void> {
    const merchant = await opts.resolveMerchant(f.apiKey);
    if (!merchant) {
      f.failed = true;
      return;
    }
    const a = { apiKey: f.apiKey, merchant };
    if (card.behaviour === 'fail') {
      f.failed = true;
      return;
    }
    const error = mdStatus !== 1 ? E.threedsFailed : card.behaviour === 'decline' ? E.notSufficientFunds : undefined;
    const onFile: CardOnFile = { card };
    if (register && !error) {
      onFile.cardUserKey = f.cardUserKey ?? cardUserKeyFor(merchant.secretKey, f.buyer.email);
      onFile.cardToken = mintCardToken(merchant.secretKey, onFile.cardUserKey, card.behaviour, card.number);
    }
    const p = recordPayment(a, {
      conversationId: f.conversationId,
      basketId: f.basketId,
      priceMinor: f.priceMinor,
      paidPriceMinor: f.paidPriceMinor,
      currency: f.currency,
      status: error ? 'FAILURE' : 'SUCCESS',
      ...(error ? { error } : {}),
      mdStatus,
      behaviour: card.behaviour,
      card: onFile,
      items: f.items,
      token: f.token,
      installment,
    });
    f.paymentId = p.paymentId;
    paymentWebhook(a, p);
  }

  return router;
}

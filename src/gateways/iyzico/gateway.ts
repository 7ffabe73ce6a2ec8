// iyzico through the iyzipay SDK: hosted Checkout Form for buyers, card storage + /payment/auth
// for off-session charges, refund v2, payment detail for reconciliation, signed webhooks.
//
// Why the Checkout Form rather than 3DS initialize: the buyer types the card on iyzico's page,
// so Kontor never handles card numbers (no PCI scope), and iyzico runs 3-D Secure inside the
// form. Its one limit: the form has no request flag to force card registration; the buyer ticks
// "save my card" there (see start()).
import { currencies, type Currency } from '../../../db/schema/catalog';
import {
  GatewayError,
  type CallbackInput,
  type ChargeRequest,
  type ChargeResult,
  type GatewayMode,
  type InstallmentInfo,
  type Payment,
  type PaymentGateway,
  type PaymentStart,
  type RefundResult,
  type SavedMethodInfo,
  type StartContext,
  type TestCard,
  type VerifiedOutcome,
  type WebhookEvent,
} from '../../payments/gateway';
import { IyzicoClient, type IyzicoResponse } from './client';
import { parseIyzicoPrice, toIyzicoPrice } from './price';
import { iyzicoWebhookKind, verifyIyzicoResponseSignature, verifyIyzicoWebhookV3, type IyzicoResponseType } from './signature';
import { brandOf, TEST_CARD_NUMBERS } from './test-cards';

export interface IyzicoCredentials {
  apiKey: string;
  secretKey: string;
  /** Custom API base (e.g. an egress proxy); empty for iyzico's own hosts. */
  baseUrl?: string;
}

export const IYZICO_PRODUCTION_URL = 'https://api.iyzipay.com';
export const IYZICO_TEST_URL = 'https://sandbox-api.iyzipay.com';
export const IYZICO_SANDBOX_PATH = '/sandbox/iyzico';

/** The API base the client talks to: Kontor's sandbox in test mode when there is one. */
export function iyzicoApiUri(credentials: IyzicoCredentials, mode: GatewayMode, sandboxUrl: string | null): string {
  if (mode === 'test' && sandboxUrl) return `${sandboxUrl.replace(/\/+$/, '')}${IYZICO_SANDBOX_PATH}`;
  if (credentials.baseUrl) return credentials.baseUrl.replace(/\/+$/, '');
  return mode === 'production' ? IYZICO_PRODUCTION_URL : IYZICO_TEST_URL;
}

// iyzico requires a full buyer and billing address; Kontor collects only name, email and IP.
// Placeholders, the same for every buyer so nobody mistakes them for data:
// - identityNumber 11111111111: iyzico's accepted stand-in when the merchant does not collect
//   the Turkish national id (TCKN) or a passport number;
// - registration/billing address "Not collected", city Istanbul, country Turkey: required
//   fields with no bearing on a VIRTUAL basket (no shipping address is needed for one);
// - a one-word name is sent with surname "-" (iyzico requires both);
// - off-session charges have no buyer present: the payment's buyer account id, contact name
//   "Kontor customer", email billing@kontor.invalid and IP 127.0.0.1 (ChargeRequest carries no
//   buyer; the core can pass one later without changing the wire format).
const PLACEHOLDER = {
  identityNumber: '11111111111',
  address: 'Not collected',
  city: 'Istanbul',
  country: 'Turkey',
  email: 'billing@kontor.invalid',
  ip: '127.0.0.1',
} as const;

interface BuyerInput {
  id: string;
  name: string;
  email: string;
  ip: string;
}

function splitName(full: string): { name: string; surname: string } {
  const parts = full.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return { name: 'Kontor', surname: 'customer' };
  if (parts.length === 1) return { name: parts[0]!, surname: '-' };
  return { name: parts.slice(0, -1).join(' '), surname: parts[parts.length - 1]! };
}

function buyerFields(buyer: BuyerInput) {
  const { name, surname } = splitName(buyer.name);
  return {
    buyer: {
      id: buyer.id,
      name,
      surname,
      identityNumber: PLACEHOLDER.identityNumber,
      email: buyer.email,
      registrationAddress: PLACEHOLDER.address,
      city: PLACEHOLDER.city,
      country: PLACEHOLDER.country,
      ip: buyer.ip,
    },
    billingAddress: {
      contactName: `${name} ${surname}`.trim(),
      city: PLACEHOLDER.city,
      country: PLACEHOLDER.country,
      address: PLACEHOLDER.address,
    },
  };
}

/**
 * The basket is what was bought (price); an installment surcharge is on top of it (paidPrice),
 * as iyzico separates the two: basket items add up to price, the card is charged paidPrice.
 */
function basket(payment: Payment, description: string) {
  return [
    {
      id: payment.referenceId,
      name: description.slice(0, 200) || payment.purpose,
      category1: payment.purpose,
      itemType: 'VIRTUAL',
      price: toIyzicoPrice(basePriceOf(payment)),
    },
  ];
}

const basePriceOf = (payment: Payment): number => payment.amountMinor - (payment.installmentSurchargeMinor ?? 0);
/** The one count the checkout form may offer: the buyer chose it on Kontor's page (1: single payment). */
const installmentOf = (payment: Payment): number => Math.max(1, payment.installments ?? 1);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);
const isCurrency = (v: unknown): v is Currency => typeof v === 'string' && (currencies as readonly string[]).includes(v);
/** Checkout form tokens are UUID-like; anything else in a callback is refused before any call. */
const TOKEN_RE = /^[A-Za-z0-9-]{8,100}$/;

function headerValue(headers: Record<string, string | undefined>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

/** errorCode 1000 (invalid signature) and 1001 (API key not found): our credentials are wrong. */
function apiError(res: IyzicoResponse, what: string): GatewayError {
  const code = str(res.errorCode) ?? '';
  const message = `iyzico refused ${what}: ${code ? `${code} ` : ''}${str(res.errorMessage) ?? 'no error message'}`;
  return new GatewayError(code === '1000' || code === '1001' ? 'gateway_auth_failed' : 'gateway_error', message);
}

/** Bank (10000+) and card storage (3000-3999) errors decline a charge; others are API errors. */
function isCardError(res: IyzicoResponse): boolean {
  const code = Number(str(res.errorCode) ?? NaN);
  return Number.isInteger(code) && (code >= 10000 || (code >= 3000 && code < 4000));
}

export class IyzicoGateway implements PaymentGateway {
  readonly kind = 'iyzico' as const;
  readonly canChargeOffSession = true;
  private readonly client: IyzicoClient;

  constructor(
    private readonly credentials: IyzicoCredentials,
    private readonly opts: { mode: GatewayMode; sandboxUrl: string | null; timeoutMs: number },
  ) {
    this.client = new IyzicoClient({
      apiKey: credentials.apiKey,
      secretKey: credentials.secretKey,
      uri: iyzicoApiUri(credentials, opts.mode, opts.sandboxUrl),
      timeoutMs: opts.timeoutMs,
    });
  }

  private signed(type: IyzicoResponseType, res: IyzicoResponse): boolean {
    return verifyIyzicoResponseSignature(type, res, this.credentials.secretKey);
  }

  /**
   * Checkout Form initialize; the buyer is sent to iyzico's paymentPageUrl. With a saved method,
   * its cardUserKey makes the form offer that buyer's stored cards (and a card the buyer chooses
   * to save joins the same card user). iyzico's form has no flag to force registration: with
   * ctx.saveMethod the buyer must tick "save my card" there; verifyCallback then reports it.
   */
  async start(payment: Payment, ctx: StartContext): Promise<PaymentStart> {
    const cardUserKey = ctx.savedMethod?.customerRef;
    const res = await this.client.call('checkoutFormInitialize', 'create', {
      locale: ctx.lang,
      conversationId: payment.id,
      price: toIyzicoPrice(basePriceOf(payment)),
      paidPrice: toIyzicoPrice(payment.amountMinor),
      currency: payment.currency,
      basketId: payment.id,
      paymentGroup: 'PRODUCT',
      callbackUrl: ctx.callbackUrl,
      enabledInstallments: [installmentOf(payment)],
      ...(cardUserKey ? { cardUserKey } : {}),
      ...buyerFields(ctx.buyer),
      basketItems: basket(payment, ctx.description),
    });
    if (res.status !== 'success') throw apiError(res, 'the checkout form');
    if (!this.signed('checkoutFormInitialize', res)) {
      throw new GatewayError('invalid_response', 'The checkout form answer has a wrong signature.');
    }
    const token = str(res.token);
    const url = str(res.paymentPageUrl);
    if (res.conversationId !== payment.id || !token || !TOKEN_RE.test(token) || !url || !this.pageUrlAllowed(url)) {
      throw new GatewayError('invalid_response', 'The checkout form answer is not for this payment or has no usable page URL.');
    }
    return { kind: 'redirect', url, gatewayReference: token };
  }

  private pageUrlAllowed(url: string): boolean {
    try {
      const u = new URL(url);
      return this.opts.mode === 'production' ? u.protocol === 'https:' : u.protocol === 'https:' || u.protocol === 'http:';
    } catch {
      return false;
    }
  }

  /**
   * iyzico posts only `token` to the callbackUrl: the outcome comes from a server-side retrieve
   * whose response signature is checked, then matched to this payment.
   */
  async verifyCallback(payment: Payment, input: CallbackInput): Promise<VerifiedOutcome> {
    const token = input.body.token ?? input.query.token;
    if (typeof token !== 'string' || !TOKEN_RE.test(token)) {
      throw new GatewayError('invalid_callback', 'The iyzico callback has no valid token.');
    }
    const echoed = input.body.conversationId ?? input.query.conversationId;
    if (echoed !== undefined && echoed !== '' && echoed !== payment.id) {
      throw new GatewayError('invalid_callback', 'The iyzico callback names another payment.');
    }
    const res = await this.client.call('checkoutForm', 'retrieve', { locale: 'en', conversationId: payment.id, token });
    if (typeof res.paymentStatus !== 'string') {
      if (res.status === 'failure') throw apiError(res, 'the checkout form result');
      throw new GatewayError('invalid_callback', 'The checkout form result has no payment status.');
    }
    return this.checkoutFormOutcome(res, { paymentId: payment.id, token }, 'invalid_callback');
  }

  /** A signed checkout form result, matched to the expected payment and token. */
  private checkoutFormOutcome(res: IyzicoResponse, expected: { paymentId: string; token: string }, badCode: string): VerifiedOutcome {
    if (!this.signed('checkoutFormRetrieve', res)) {
      throw new GatewayError(badCode, 'The checkout form result has a wrong signature.');
    }
    if (res.conversationId !== expected.paymentId || res.token !== expected.token) {
      throw new GatewayError(badCode, 'The checkout form result is for another payment.');
    }
    return this.outcomeFrom(res, expected.paymentId, badCode, true);
  }

  /** Common reading of a signed checkout form result or payment detail. */
  private outcomeFrom(res: IyzicoResponse, paymentId: string, badCode: string, withCard: boolean): VerifiedOutcome {
    const status = res.paymentStatus;
    const amountMinor = parseIyzicoPrice(res.paidPrice);
    const currency = res.currency;
    const gatewayReference = str(res.paymentId);
    const installment = Number(str(res.installment) ?? 'NaN');
    const base: VerifiedOutcome = {
      paymentId,
      approved: false,
      ...(Number.isSafeInteger(installment) && installment >= 1 ? { installments: installment } : {}),
      ...(amountMinor !== null ? { amountMinor } : {}),
      ...(isCurrency(currency) ? { currency } : {}),
      ...(gatewayReference ? { gatewayReference } : {}),
    };
    if (status === 'SUCCESS' && res.status === 'success') {
      if (amountMinor === null || !isCurrency(currency) || !gatewayReference) {
        throw new GatewayError(badCode, 'The iyzico result has no usable amount, currency or payment id.');
      }
      // fraudStatus: 1 approved, 0 in review (wait for the webhook), -1 rejected.
      if (res.fraudStatus === 0 || res.fraudStatus === '0') return { ...base, pending: true, reason: 'iyzico fraud review in progress.' };
      if (res.fraudStatus === -1 || res.fraudStatus === '-1') return { ...base, reason: 'Rejected by iyzico fraud checks.' };
      const savedMethod = withCard ? this.savedCard(res) : undefined;
      return { ...base, approved: true, ...(savedMethod ? { savedMethod } : {}) };
    }
    if (status === 'FAILURE' || res.status === 'failure') {
      return { ...base, reason: str(res.errorMessage) ?? 'iyzico reported the payment as failed.' };
    }
    // INIT_THREEDS, CALLBACK_THREEDS, INIT_BANK_TRANSFER...: not finished yet.
    return { ...base, pending: true, reason: `iyzico payment status ${String(status)}.` };
  }

  private savedCard(res: IyzicoResponse): SavedMethodInfo | undefined {
    const cardUserKey = str(res.cardUserKey);
    const cardToken = str(res.cardToken);
    if (!cardUserKey || !cardToken) return undefined;
    return {
      customerRef: cardUserKey,
      methodRef: cardToken,
      brand: brandOf(res.cardAssociation),
      last4: str(res.lastFourDigits) ?? '',
      // iyzico never returns the expiry of a card.
      expMonth: null,
      expYear: null,
    };
  }

  async verifyWebhook(rawBody: Buffer, headers: Record<string, string | undefined>): Promise<WebhookEvent> {
    let payload: unknown;
    try {
      payload = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw new GatewayError('invalid_signature', 'The iyzico webhook is not JSON.');
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw new GatewayError('invalid_signature', 'The iyzico webhook is not a JSON object.');
    }
    const event = payload as Record<string, unknown>;
    const signature = headerValue(headers, 'x-iyz-signature-v3');
    if (!verifyIyzicoWebhookV3(event, signature, this.credentials.secretKey)) {
      throw new GatewayError('invalid_signature', 'The iyzico webhook signature (X-IYZ-SIGNATURE-V3) does not match.');
    }
    const type = str(event.iyziEventType);
    const iyziPaymentId = str(event.iyziPaymentId) ?? str(event.paymentId);
    const token = str(event.token);
    const status = str(event.status);
    if (!type || !iyziPaymentId || !status) {
      throw new GatewayError('invalid_webhook', 'The iyzico webhook lacks its event type, payment id or status.');
    }
    // iyzico sends no event id; these fields identify one notification, and a redelivery repeats them.
    const eventId = [type, iyziPaymentId, token ?? '', status, str(event.iyziEventTime) ?? ''].join(':');

    // The webhook says which payment moved; the amounts and the card come from a signed retrieve.
    let outcome: VerifiedOutcome;
    if (iyzicoWebhookKind(event) === 'checkoutForm') {
      const conversationId = str(event.paymentConversationId);
      if (!token || !TOKEN_RE.test(token) || !conversationId) {
        throw new GatewayError('invalid_webhook', 'The iyzico checkout form webhook lacks its token or conversation id.');
      }
      const res = await this.client.call('checkoutForm', 'retrieve', { locale: 'en', conversationId, token });
      if (typeof res.paymentStatus !== 'string') throw apiError(res, 'the checkout form result');
      outcome = this.checkoutFormOutcome(res, { paymentId: conversationId, token }, 'invalid_response');
    } else {
      const res = await this.client.call('payment', 'retrieve', { locale: 'en', paymentId: iyziPaymentId });
      if (res.status !== 'success') throw apiError(res, 'the payment detail');
      outcome = this.paymentDetailOutcome(res, null);
    }
    return { eventId, type, outcome };
  }

  /**
   * Payment detail (/payment/detail), signed. basketId is always Kontor's payment id (the
   * conversationId of an off-session charge is its idempotency key).
   */
  private paymentDetailOutcome(res: IyzicoResponse, payment: Payment | null): VerifiedOutcome {
    if (!this.signed('payment', res)) throw new GatewayError('invalid_response', 'The iyzico payment detail has a wrong signature.');
    const basketId = str(res.basketId);
    if (!basketId || (payment && basketId !== payment.id)) {
      throw new GatewayError('invalid_response', 'The iyzico payment detail is for another payment.');
    }
    return this.outcomeFrom(res, basketId, 'invalid_response', false);
  }

  /**
   * Reconciliation: by iyzico payment id once known, by checkout form token after start(), else
   * by conversationId. A payment iyzico cannot report on (not paid yet, unknown, API error) is
   * pending; a wrong signature or another payment's data throws.
   */
  async retrieve(payment: Payment): Promise<VerifiedOutcome> {
    const ref = payment.gatewayReference ?? '';
    if (ref && !/^\d+$/.test(ref) && TOKEN_RE.test(ref)) {
      const res = await this.client.call('checkoutForm', 'retrieve', { locale: 'en', conversationId: payment.id, token: ref });
      if (typeof res.paymentStatus !== 'string') return this.unknownState(payment, res);
      return this.checkoutFormOutcome(res, { paymentId: payment.id, token: ref }, 'invalid_response');
    }
    const query = /^\d+$/.test(ref) ? { paymentId: ref } : { paymentConversationId: payment.id };
    const res = await this.client.call('payment', 'retrieve', { locale: 'en', ...query });
    if (res.status !== 'success') return this.unknownState(payment, res);
    return this.paymentDetailOutcome(res, payment);
  }

  private unknownState(payment: Payment, res: IyzicoResponse): VerifiedOutcome {
    const err = apiError(res, 'the payment lookup');
    if (err.code === 'gateway_auth_failed') throw err;
    return { paymentId: payment.id, approved: false, pending: true, reason: err.message };
  }

  /**
   * iyzico's installment query (iyzipay installmentInfo.retrieve) for a card's BIN: the counts its
   * issuer offers for this amount. A card with no installment programme (a debit card) answers no
   * detail or only count 1. The answer is not signed by iyzico; it only narrows what Kontor offers,
   * and the count charged is checked again on the signed payment result.
   */
  async installmentInfo(query: { bin: string; amountMinor: number; currency: string; conversationId: string }): Promise<InstallmentInfo> {
    const res = await this.client.call('installmentInfo', 'retrieve', {
      locale: 'en',
      conversationId: query.conversationId,
      binNumber: query.bin,
      price: toIyzicoPrice(query.amountMinor),
      currency: query.currency,
    });
    if (res.status !== 'success') throw apiError(res, 'the installment query');
    const details = Array.isArray(res.installmentDetails) ? (res.installmentDetails as Record<string, unknown>[]) : [];
    const detail = details.find((d) => d && typeof d === 'object' && query.bin.startsWith(str(d.binNumber) ?? '\u0000')) ?? details[0];
    if (!detail) return { counts: [], bankName: null, cardType: null };
    const prices = Array.isArray(detail.installmentPrices) ? (detail.installmentPrices as Record<string, unknown>[]) : [];
    const counts = prices
      .map((p) => Number(str(p?.installmentNumber) ?? 'NaN'))
      .filter((n) => Number.isSafeInteger(n) && n > 1 && n <= 12);
    return { counts: [...new Set(counts)].sort((a, b) => a - b), bankName: str(detail.bankName) ?? null, cardType: str(detail.cardType) ?? null };
  }

  async saveTestCard(customer: { id: string; name: string; email: string }, card: TestCard): Promise<SavedMethodInfo> {
    if (this.opts.mode !== 'test') throw new GatewayError('test_mode_only', 'Test cards can only be saved in test mode.');
    const cardNumber = TEST_CARD_NUMBERS[card];
    const expYear = new Date().getUTCFullYear() + 5;
    const res = await this.client.call('card', 'create', {
      locale: 'en',
      conversationId: `testcard-${customer.id}`,
      externalId: customer.id,
      email: customer.email,
      card: { cardAlias: `Test ${card}`, cardHolderName: customer.name, cardNumber, expireMonth: '12', expireYear: String(expYear) },
    });
    if (res.status !== 'success') throw apiError(res, 'the test card');
    const cardUserKey = str(res.cardUserKey);
    const cardToken = str(res.cardToken);
    if (!cardUserKey || !cardToken) throw new GatewayError('invalid_response', 'iyzico stored the card but returned no cardUserKey/cardToken.');
    return {
      customerRef: cardUserKey,
      methodRef: cardToken,
      brand: brandOf(res.cardAssociation),
      last4: str(res.lastFourDigits) ?? cardNumber.slice(-4),
      expMonth: 12,
      expYear,
    };
  }

  /**
   * /payment/auth with the stored card. iyzico has no idempotency header: the idempotency key is
   * the conversationId, and iyzico answers a repeated conversationId of the same merchant with
   * the first payment. basketId carries Kontor's payment id.
   */
  async chargeOffSession(req: ChargeRequest): Promise<ChargeResult> {
    const { payment } = req;
    const res = await this.client.call('payment', 'create', {
      locale: 'en',
      conversationId: req.idempotencyKey,
      price: toIyzicoPrice(basePriceOf(payment)),
      paidPrice: toIyzicoPrice(payment.amountMinor),
      currency: payment.currency,
      installment: 1,
      basketId: payment.id,
      paymentChannel: 'WEB',
      paymentGroup: 'PRODUCT',
      paymentCard: { cardUserKey: req.method.customerRef, cardToken: req.method.methodRef },
      ...buyerFields({
        id: payment.buyerSubAccountId ?? payment.buyerAgencyId,
        name: 'Kontor customer',
        email: PLACEHOLDER.email,
        ip: PLACEHOLDER.ip,
      }),
      basketItems: basket(payment, req.description),
    });
    if (res.status !== 'success') {
      const reason = str(res.errorMessage) ?? 'Declined.';
      if (str(res.errorCode) === '10217') return { status: 'requires_action', reason, raw: res };
      if (isCardError(res)) return { status: 'declined', reason, raw: res };
      throw apiError(res, 'the charge');
    }
    if (!this.signed('payment', res)) throw new GatewayError('invalid_response', 'The iyzico charge answer has a wrong signature.');
    const paymentId = str(res.paymentId);
    if (res.basketId !== payment.id || res.conversationId !== req.idempotencyKey || !paymentId) {
      throw new GatewayError('invalid_response', 'The iyzico charge answer is for another payment.');
    }
    if (parseIyzicoPrice(res.paidPrice) !== payment.amountMinor || res.currency !== payment.currency) {
      throw new GatewayError('amount_mismatch', `iyzico charged ${String(res.paidPrice)} ${String(res.currency)}, not the payment's amount.`);
    }
    return { status: 'succeeded', gatewayReference: paymentId, raw: res };
  }

  /** Refund v2 (by paymentId, supported by the installed iyzipay 2.0.69); the key is the conversationId. */
  async refund(payment: Payment, amountMinor: number, idempotencyKey: string): Promise<RefundResult> {
    const paymentId = payment.gatewayReference ?? '';
    if (!/^\d+$/.test(paymentId)) {
      throw new GatewayError('no_gateway_reference', 'This payment has no iyzico payment id to refund.');
    }
    const res = await this.client.call('refundV2', 'create', {
      locale: 'en',
      conversationId: idempotencyKey,
      paymentId,
      price: toIyzicoPrice(amountMinor),
      currency: payment.currency,
      ip: PLACEHOLDER.ip,
    });
    if (res.status !== 'success') {
      const err = apiError(res, 'the refund');
      if (err.code === 'gateway_auth_failed') throw err;
      return { status: 'failed', reason: str(res.errorMessage) ?? err.message, raw: res };
    }
    if (!this.signed('refundV2', res)) throw new GatewayError('invalid_response', 'The iyzico refund answer has a wrong signature.');
    if (str(res.paymentId) !== paymentId || res.conversationId !== idempotencyKey) {
      throw new GatewayError('invalid_response', 'The iyzico refund answer is for another payment.');
    }
    if (parseIyzicoPrice(res.price) !== amountMinor) {
      throw new GatewayError('amount_mismatch', `iyzico refunded ${String(res.price)}, not the amount asked.`);
    }
    return { status: 'succeeded', gatewayReference: str(res.refundHostReference) ?? paymentId, raw: res };
  }
}

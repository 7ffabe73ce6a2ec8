// NestPay 3D_PAY (Asseco EST bank POS): the buyer's browser posts a hashed form to the bank's
// 3D gate; the bank posts the hashed result back to Kontor. Refunds and status queries go
// server to server through the bank's XML API with the store's API user.
import { randomBytes } from 'node:crypto';
import {
  GatewayError,
  GatewayTimeoutError,
  type CallbackInput,
  type ChargeResult,
  type GatewayOptions,
  type Payment,
  type PaymentGateway,
  type PaymentStart,
  type RefundResult,
  type SavedMethodInfo,
  type StartContext,
  type VerifiedOutcome,
  type WebhookEvent,
} from '../../payments/gateway';
import { currencyFromNumeric, currencyToNumeric, formatAmount, parseAmount, parseMinorUnits } from './amounts';
import { apiUrlForGate, assecoTestEndpoints, productionEndpoints, sandboxEndpoints, type NestpayBank, type NestpayEndpoints } from './endpoints';
import { isNestpayApproved, nestpayHashV3 } from './hash';
import { buildCc5, decodeXmlBytes, extra, parseCc5, text, type Cc5Message } from './xml';
import { msg } from '../../lib/message';

export interface NestpayCredentials {
  bank: NestpayBank;
  /** The store number (Mağaza No / clientid). */
  clientId: string;
  /** The 3D Secure store key: signs the gate form and verifies the bank's answer. */
  storeKey: string;
  /** The XML API user (refunds, status queries). */
  apiUser: string;
  apiPassword: string;
  gateUrlTest?: string;
  gateUrlProduction?: string;
}

/** NestPay's `taksit`: "" for a single payment, else the count. */
export function taksitOf(payment: Pick<Payment, 'installments'>): string {
  const n = payment.installments ?? 1;
  if (!Number.isSafeInteger(n) || n < 1 || n > 12) throw new GatewayError('invalid_installments', msg('errors:nestpay.installments', { count: String(n) }));
  return n === 1 ? '' : String(n);
}

/** Largest XML API answer read: a CC5Response is a few hundred bytes. */
const MAX_API_RESPONSE_BYTES = 256 * 1024;

export class NestpayGateway implements PaymentGateway {
  readonly kind = 'nestpay' as const;
  /** 3D_PAY authenticates every payment on the bank's page with the buyer present. */
  readonly canChargeOffSession = false;
  readonly endpoints: NestpayEndpoints;

  constructor(private readonly credentials: NestpayCredentials, private readonly opts: GatewayOptions) {
    this.endpoints = resolveEndpoints(credentials, opts);
  }

  async start(payment: Payment, ctx: StartContext): Promise<PaymentStart> {
    const currency = currencyToNumeric[payment.currency];
    if (!currency) throw new GatewayError('unsupported_currency', `NestPay cannot take payments in ${payment.currency}.`);
    if (!Number.isSafeInteger(payment.amountMinor) || payment.amountMinor <= 0) {
      throw new GatewayError('invalid_amount', `The payment amount must be a positive whole number of minor units, not ${payment.amountMinor}.`);
    }
    checkCallbackUrl(ctx.callbackUrl, this.opts.mode);
    // Field names and values as the 3D_PAY integration guides post them; every one is hashed.
    const fields: Record<string, string> = {
      clientid: this.credentials.clientId,
      storetype: '3d_pay',
      amount: formatAmount(payment.amountMinor),
      // Kontor's payment id is the attempt: a retry is a new payment, so the oid is never reused.
      oid: payment.id,
      okUrl: ctx.callbackUrl,
      failUrl: ctx.callbackUrl,
      rnd: randomBytes(15).toString('base64url'), // 20 characters, the field's maximum
      lang: ctx.lang === 'tr' ? 'tr' : 'en',
      currency,
      // Installments: empty for a single payment, else the count ("3"); hashed like every field.
      taksit: taksitOf(payment),
      TranType: 'Auth',
      hashAlgorithm: 'ver3',
    };
    fields.hash = nestpayHashV3(fields, this.credentials.storeKey);
    return { kind: 'form', action: this.endpoints.gate, fields };
  }

  async verifyCallback(payment: Payment, input: CallbackInput): Promise<VerifiedOutcome> {
    const body: Record<string, string> = {};
    for (const [key, value] of Object.entries(input.body ?? {})) {
      // A repeated field arrives as an array: the bank never posts one, so the post is not its own.
      if (typeof value !== 'string') throw new GatewayError('invalid_callback', `The callback field "${key}" is not a single text value.`);
      body[key] = value;
    }
    const oid = body.oid;
    if (!oid) throw new GatewayError('invalid_callback', 'The callback has no oid (order id).');
    if (oid !== payment.id) throw new GatewayError('invalid_callback', `The callback is for order "${oid}", not for payment ${payment.id}.`);
    if (!Object.keys(body).some((k) => k.toLowerCase() === 'hash')) throw new GatewayError('invalid_callback', 'The callback has no HASH.');
    if (body.clientid !== undefined && body.clientid !== this.credentials.clientId) {
      throw new GatewayError('invalid_callback', `The callback is for another store (clientid ${body.clientid}).`);
    }
    // Every posted field is hashed, empty ones as "": nothing is dropped or trimmed here.
    const verdict = isNestpayApproved(body, this.credentials.storeKey);
    if (verdict.reason === 'hash_mismatch') {
      throw new GatewayError('invalid_callback', 'The callback HASH does not match its fields: it was altered or not signed with this store key.');
    }
    // The bank echoes the hashed taksit: a post-back for another count than the payment's (a form
    // altered before it reached the bank, re-signed with a leaked key) is refused outright.
    const taksit = body.taksit ?? '';
    if (taksit !== taksitOf(payment)) {
      throw new GatewayError('invalid_callback', msg('errors:nestpay.taksitMismatch', { posted: taksit || '-', expected: taksitOf(payment) || '-' }));
    }
    const amountMinor = parseAmount(body.amount);
    if (amountMinor === null) throw new GatewayError('invalid_callback', `The callback amount "${body.amount ?? ''}" is not an amount such as 12.50.`);
    const currency = currencyFromNumeric(body.currency);
    if (!currency) throw new GatewayError('invalid_callback', `The callback currency "${body.currency ?? ''}" is not TRY (949), USD (840) or EUR (978).`);

    // (An empty taksit is a single payment; it already matched the payment's above.)
    const outcome: VerifiedOutcome = { paymentId: payment.id, approved: verdict.approved, amountMinor, currency, ...(taksit ? { installments: Number(taksit) } : {}) };
    if (body.TransId) outcome.gatewayReference = body.TransId;
    if (verdict.reason === '3d_failed') {
      outcome.reason = verdict.message ?? msg('errors:bank.threeDFailed', { status: body.mdStatus || '-' });
    } else if (verdict.reason === 'declined') {
      outcome.reason = verdict.message ?? msg('errors:bank.declined', { code: body.ProcReturnCode || '-' });
      // The same payment can reach the gate twice (the pay link opened again after a lost or
      // refused post-back): the bank then refuses the duplicate oid although it holds the first
      // sale. Ask the bank before failing: a sale it holds is the answer; no answer leaves the
      // payment pending for reconciliation rather than failing a payment that may be paid.
      let held: VerifiedOutcome;
      try {
        held = await this.retrieve(payment);
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        return { ...outcome, pending: true, reason: msg('errors:bank.notAsked', { reason: outcome.reason, detail: err.message }) };
      }
      if (held.approved) return { ...held, currency };
    }
    return outcome;
  }

  async verifyWebhook(): Promise<WebhookEvent> {
    throw new GatewayError(
      'webhooks_unsupported',
      'NestPay 3D_PAY sends no webhooks: the bank posts the result back with the buyer (the callback), and retrieve() asks the bank.',
    );
  }

  /** ORDERSTATUS query on the XML API: what the bank holds for this order now. */
  async retrieve(payment: Payment): Promise<VerifiedOutcome> {
    const res = await this.callApi({ ...this.apiAuth(), OrderId: payment.id, Extra: { ORDERSTATUS: 'QUERY' } });
    const base: VerifiedOutcome = { paymentId: payment.id, approved: false };
    if (text(res, 'ProcReturnCode') !== '00') {
      // "No record found" (the buyer never finished at the bank) and API errors alike: nothing
      // is known, so nothing may be failed on it.
      return { ...base, pending: true, reason: text(res, 'ErrMsg') || 'The bank has no record of this order.' };
    }
    const orderId = extra(res, 'ORD_ID') || text(res, 'OrderId');
    if (orderId !== payment.id) throw new GatewayError('malformed_response', `The bank answered about order "${orderId}", not ${payment.id}.`);
    const state = extra(res, 'TRANS_STAT').toUpperCase();
    const transId = extra(res, 'TRANS_ID') || text(res, 'TransId');
    const reference = transId ? { gatewayReference: transId } : {};
    if (['A', 'C', 'S'].includes(state) && extra(res, 'PROC_RET_CD') === '00') {
      const amountMinor = parseMinorUnits(extra(res, 'CAPTURE_AMT') || extra(res, 'ORIG_TRANS_AMT'));
      if (amountMinor === null) throw new GatewayError('malformed_response', 'The bank reported an approved order without a readable amount.');
      return { ...base, approved: true, amountMinor, ...reference };
    }
    if (state === 'PN') return { ...base, pending: true, reason: 'The bank reports the order as pending.', ...reference };
    if (['D', 'ERR'].includes(state) || (['A', 'C', 'S'].includes(state) && extra(res, 'PROC_RET_CD') !== '00')) {
      const reason = extra(res, 'HOSTMSG') || msg('errors:bank.declinedCode', { code: extra(res, 'PROC_RET_CD') || state });
      return { ...base, reason, ...reference };
    }
    if (['V', 'CNCL'].includes(state)) return { ...base, reason: 'The payment was voided at the bank.', ...reference };
    return { ...base, pending: true, reason: msg('errors:bank.unknownState', { state }), ...reference };
  }

  async saveTestCard(): Promise<SavedMethodInfo> {
    throw offSessionUnsupported();
  }

  async chargeOffSession(): Promise<ChargeResult> {
    throw offSessionUnsupported();
  }

  /**
   * A "Credit" on the XML API. NestPay takes no idempotency key: the bank itself refuses to
   * refund more than the sale, so a retried full refund is refused, but a partial refund that
   * timed out must be checked before it is sent again (see docs/sandboxes.md).
   */
  async refund(payment: Payment, amountMinor: number, _idempotencyKey: string): Promise<RefundResult> {
    if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0 || amountMinor > payment.amountMinor) {
      throw new GatewayError('invalid_amount', `A refund must be between 0.01 and ${formatAmount(payment.amountMinor)} ${payment.currency}.`);
    }
    const request: Cc5Message = {
      ...this.apiAuth(),
      Type: 'Credit',
      OrderId: payment.id,
      Total: formatAmount(amountMinor),
      Currency: currencyToNumeric[payment.currency],
    };
    const res = await this.callApi(request);
    const raw = { request: { ...request, Password: '***' }, response: res };
    if (text(res, 'ProcReturnCode') === '00' && text(res, 'Response') === 'Approved') {
      const transId = text(res, 'TransId');
      if (!transId) throw new GatewayError('malformed_response', 'The bank approved the refund without a transaction id.');
      return { status: 'succeeded', gatewayReference: transId, raw };
    }
    return {
      status: 'failed',
      reason: text(res, 'ErrMsg') || msg('errors:bank.refundRefused', { code: text(res, 'ProcReturnCode') || '-' }),
      raw,
    };
  }

  private apiAuth(): Cc5Message {
    return { Name: this.credentials.apiUser, Password: this.credentials.apiPassword, ClientId: this.credentials.clientId };
  }

  private async callApi(message: Cc5Message): Promise<Cc5Message> {
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    let status: number;
    let contentType: string | null;
    let bytes: Uint8Array;
    try {
      const res = await fetch(this.endpoints.api, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml; charset=utf-8', Accept: 'text/xml, application/xml' },
        body: buildCc5('CC5Request', message),
        signal,
        redirect: 'error',
      });
      status = res.status;
      contentType = res.headers.get('content-type');
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      if (signal.aborted) throw new GatewayTimeoutError(`The bank's NestPay API did not answer within ${this.opts.timeoutMs} ms.`);
      const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new GatewayError('gateway_unreachable', `Could not reach the bank's NestPay API: ${cause}`);
    }
    if (status < 200 || status > 299) throw new GatewayError('gateway_http_error', `The bank's NestPay API answered HTTP ${status}.`);
    if (bytes.length > MAX_API_RESPONSE_BYTES) throw new GatewayError('malformed_response', "The bank's NestPay API answer is too large.");
    const parsed = parseCc5(decodeXmlBytes(bytes, contentType), 'CC5Response');
    if (!parsed) throw new GatewayError('malformed_response', "The bank's NestPay API did not answer with a CC5Response.");
    return parsed;
  }
}

/** Where this store's gate and API are, by mode: production bank, Kontor's sandbox, or the Asseco test host. */
export function resolveEndpoints(c: NestpayCredentials, opts: GatewayOptions): NestpayEndpoints {
  if (opts.mode === 'production') {
    return c.gateUrlProduction ? { gate: c.gateUrlProduction, api: apiUrlForGate(c.gateUrlProduction) } : productionEndpoints[c.bank];
  }
  if (opts.sandboxUrl) return sandboxEndpoints(opts.sandboxUrl);
  return c.gateUrlTest ? { gate: c.gateUrlTest, api: apiUrlForGate(c.gateUrlTest) } : assecoTestEndpoints;
}

function checkCallbackUrl(url: string, mode: GatewayOptions['mode']): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new GatewayError('invalid_callback_url', `The callback URL "${url}" is not an absolute URL.`);
  }
  if (mode === 'production' && u.protocol !== 'https:') {
    throw new GatewayError('insecure_callback_url', `In production the bank must post back over HTTPS; the callback URL is ${url}. Set PUBLIC_URL to an https:// address.`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new GatewayError('invalid_callback_url', `The callback URL must be http(s), not ${u.protocol}`);
}

const offSessionUnsupported = () =>
  new GatewayError(
    'off_session_unsupported',
    'NestPay 3D_PAY cannot charge a card without the buyer: every payment is authenticated on the bank\'s 3D Secure page. ' +
      'Auto-billing puts top-ups on the open invoice instead.',
  );

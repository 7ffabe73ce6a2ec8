import Stripe from 'stripe';
import { currencies, type Currency } from '../../../db/schema';
import {
  GatewayError,
  GatewayTimeoutError,
  type CallbackInput,
  type ChargeRequest,
  type ChargeResult,
  type GatewayOptions,
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
import { savedTestCardTokens } from './test-cards';
import { msg } from '../../lib/message';

export interface StripeCredentials {
  secretKey: string;
  publishableKey: string;
  webhookSecret: string;
}

/** The metadata key that ties a PaymentIntent to Kontor's payment. */
export const PAYMENT_ID_KEY = 'kontor_payment_id';
const CUSTOMER_ID_KEY = 'kontor_customer_id';

type Raw = Record<string, unknown>;
const raw = (v: unknown): Raw => JSON.parse(JSON.stringify(v ?? null)) as Raw;

/**
 * Stripe through stripe-node: PaymentIntents (3D Secure by redirect), SetupIntents to save a
 * card, off-session charges with Kontor's idempotency key, refunds, signed webhooks.
 *
 * Retries: `maxNetworkRetries: 0`. `timeoutMs` bounds one call, and stripe-node's own retries
 * (same idempotency key, exponential back-off) would stretch a call far past it; the caller
 * retries instead, with the same key, after a GatewayTimeoutError. (stripe-node still retries a
 * reset keep-alive socket once; every POST carries an idempotency key, so that is safe.)
 */
export class StripeGateway implements PaymentGateway {
  readonly kind = 'stripe' as const;
  readonly canChargeOffSession = true;
  private readonly stripe: Stripe;
  /** Where the hosted card page lives (the sandbox's stand-in for Checkout/Elements). */
  private readonly sandboxBase: string | null;

  constructor(private readonly creds: StripeCredentials, private readonly opts: GatewayOptions) {
    const config: Stripe.StripeConfig = { maxNetworkRetries: 0, timeout: opts.timeoutMs, telemetry: false, appInfo: { name: 'Kontor' } };
    this.sandboxBase = null;
    if (opts.mode === 'test' && opts.sandboxUrl) {
      const u = new URL(opts.sandboxUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new GatewayError('invalid_sandbox_url', 'The sandbox URL must be http or https.');
      // stripe-node has no base path: the fake API answers /v1 at the root of the sandbox origin.
      if (u.pathname !== '/' && u.pathname !== '') throw new GatewayError('invalid_sandbox_url', 'The Stripe sandbox must be reachable at the root of its origin (stripe-node has no base path).');
      config.host = u.hostname;
      config.port = u.port || (u.protocol === 'https:' ? 443 : 80);
      config.protocol = u.protocol === 'https:' ? 'https' : 'http';
      this.sandboxBase = u.origin;
    }
    this.stripe = new Stripe(creds.secretKey, config);
  }

  start(payment: Payment, ctx: StartContext): Promise<PaymentStart> {
    return this.guard(() => this.startImpl(payment, ctx));
  }
  verifyCallback(payment: Payment, input: CallbackInput): Promise<VerifiedOutcome> {
    return this.guard(() => this.verifyCallbackImpl(payment, input));
  }
  retrieve(payment: Payment): Promise<VerifiedOutcome> {
    return this.guard(() => this.retrieveImpl(payment));
  }
  verifyWebhook(rawBody: Buffer, headers: Record<string, string | undefined>): Promise<WebhookEvent> {
    return this.guard(() => this.verifyWebhookImpl(rawBody, headers));
  }
  saveTestCard(customer: { id: string; name: string; email: string }, card: TestCard): Promise<SavedMethodInfo> {
    return this.guard(() => this.saveTestCardImpl(customer, card));
  }
  chargeOffSession(req: ChargeRequest): Promise<ChargeResult> {
    return this.guard(() => this.chargeOffSessionImpl(req));
  }
  refund(payment: Payment, amountMinor: number, idempotencyKey: string): Promise<RefundResult> {
    return this.guard(() => this.refundImpl(payment, amountMinor, idempotencyKey));
  }

  /** Whatever Stripe error a method did not turn into a result leaves as a GatewayError. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof GatewayError || !(err instanceof Stripe.errors.StripeError)) throw err;
      const code = err instanceof Stripe.errors.StripeCardError ? 'card_error' : err instanceof Stripe.errors.StripeInvalidRequestError ? 'invalid_request' : 'gateway_error';
      throw new GatewayError(code, `Stripe refused the request: ${err.message}`);
    }
  }

  // ---- buyer present ----------------------------------------------------------------------------

  private async startImpl(payment: Payment, ctx: StartContext): Promise<PaymentStart> {
    const base: Stripe.PaymentIntentCreateParams = {
      amount: this.amountOf(payment),
      currency: payment.currency.toLowerCase(),
      description: ctx.description,
      metadata: { [PAYMENT_ID_KEY]: payment.id },
      allowed_payment_method_types: ['card'],
    };
    // One PaymentIntent per payment and way of paying: starting again returns the same intent
    // (a double click never makes two), and paying by card page after a declined saved card can.
    const idempotencyKey = ctx.savedMethod ? `kontor-start-${payment.id}-${ctx.savedMethod.methodRef}` : `kontor-start-${payment.id}-page`;

    if (ctx.savedMethod) {
      let pi: Stripe.PaymentIntent;
      try {
        pi = await this.call(() =>
          this.stripe.paymentIntents.create(
            { ...base, customer: ctx.savedMethod!.customerRef, payment_method: ctx.savedMethod!.methodRef, confirm: true, return_url: ctx.callbackUrl },
            { idempotencyKey },
          ),
        );
      } catch (err) {
        const declined = this.cardError(err);
        if (!declined) throw err;
        return { kind: 'completed', approved: false, reason: declined.message, gatewayReference: declined.payment_intent?.id, raw: raw(declined.raw) };
      }
      this.checkIntent(pi, payment);
      if (pi.status === 'succeeded') return { kind: 'completed', approved: true, gatewayReference: pi.id, raw: raw(pi) };
      const redirect = pi.next_action?.redirect_to_url?.url;
      if (pi.status === 'requires_action' && redirect) return { kind: 'redirect', url: redirect, gatewayReference: pi.id };
      if (pi.status === 'processing') return { kind: 'redirect', url: this.returnUrl(ctx.callbackUrl, pi), gatewayReference: pi.id };
      throw new GatewayError('unexpected_status', `Stripe answered a confirmed PaymentIntent with status ${pi.status}.`);
    }

    if (!this.sandboxBase) {
      // Real Stripe needs a Kontor page with Stripe.js (Elements) for the buyer's card; not built.
      throw new GatewayError('hosted_page_unavailable', 'Paying with a new card needs the Stripe sandbox (test mode); a Stripe.js payment page for real Stripe is not built yet.');
    }
    const params: Stripe.PaymentIntentCreateParams = { ...base };
    if (ctx.saveMethod) {
      params.customer = (await this.findOrCreateCustomer(ctx.buyer)).id;
      params.setup_future_usage = 'off_session';
    }
    const pi = await this.call(() => this.stripe.paymentIntents.create(params, { idempotencyKey }));
    this.checkIntent(pi, payment);
    if (!pi.client_secret) throw new GatewayError('invalid_response', 'Stripe returned a PaymentIntent without a client secret.');
    const url = new URL(`${this.sandboxBase}/sandbox/stripe/pay/${encodeURIComponent(pi.id)}`);
    url.searchParams.set('client_secret', pi.client_secret);
    url.searchParams.set('return_url', ctx.callbackUrl);
    return { kind: 'redirect', url: url.toString(), gatewayReference: pi.id };
  }

  /**
   * The buyer's return: `?payment_intent=pi_...` is only a hint. The intent is retrieved from
   * Stripe and must carry this payment's id in its metadata. A failed attempt is not final at
   * Stripe (the buyer may try another card on the same intent), so the intent is canceled before
   * "failed" is reported: nobody can pay it afterwards.
   */
  private async verifyCallbackImpl(payment: Payment, input: CallbackInput): Promise<VerifiedOutcome> {
    const id = input.query.payment_intent ?? input.body.payment_intent;
    if (typeof id !== 'string' || !/^pi_[A-Za-z0-9]{1,64}$/.test(id)) throw new GatewayError('invalid_callback', 'The return from Stripe has no valid payment_intent.');
    if (payment.gatewayReference && payment.gatewayReference !== id) throw new GatewayError('invalid_callback', 'The return from Stripe names another PaymentIntent than this payment\'s.');
    const pi = await this.retrieveIntent(id).catch((err: unknown) => {
      if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404) throw new GatewayError('invalid_callback', `Stripe does not know the PaymentIntent ${id}.`);
      throw err;
    });
    this.checkIntent(pi, payment, 'invalid_callback');
    return this.settleOutcome(payment, pi);
  }

  /** The state at Stripe now, for reconciliation; finds the intent by metadata if no reference was kept. */
  private async retrieveImpl(payment: Payment): Promise<VerifiedOutcome> {
    let id = payment.gatewayReference;
    if (!id) {
      const found = await this.call(() => this.stripe.paymentIntents.search({ query: `metadata['${PAYMENT_ID_KEY}']:'${payment.id}'` }));
      const intents = found.data.filter((pi) => pi.metadata?.[PAYMENT_ID_KEY] === payment.id);
      const pick = intents.find((pi) => pi.status === 'succeeded') ?? intents[0];
      if (!pick) return { paymentId: payment.id, approved: false, pending: true, reason: 'Stripe has no PaymentIntent for this payment yet.' };
      id = pick.id;
    }
    const pi = await this.retrieveIntent(id);
    this.checkIntent(pi, payment);
    return this.outcome(payment, pi);
  }

  // ---- webhooks -----------------------------------------------------------------------------------

  private async verifyWebhookImpl(rawBody: Buffer, headers: Record<string, string | undefined>): Promise<WebhookEvent> {
    const signature = Object.entries(headers).find(([k]) => k.toLowerCase() === 'stripe-signature')?.[1];
    let event: Stripe.Event;
    try {
      event = this.stripe.webhooks.constructEvent(rawBody, signature ?? '', this.creds.webhookSecret);
    } catch (err) {
      if (err instanceof Stripe.errors.StripeSignatureVerificationError) throw new GatewayError('invalid_signature', `Stripe webhook refused: ${err.message.split('\n')[0]}`);
      throw new GatewayError('invalid_webhook', 'The Stripe webhook body is not a valid event.');
    }
    if (typeof event.id !== 'string' || typeof event.type !== 'string') throw new GatewayError('invalid_webhook', 'The Stripe webhook has no event id or type.');
    const result: WebhookEvent = { eventId: event.id, type: event.type };
    if (!event.type.startsWith('payment_intent.')) return result;
    const pi = event.data.object as Stripe.PaymentIntent;
    const paymentId = pi.metadata?.[PAYMENT_ID_KEY];
    if (!paymentId) return result; // an intent Kontor did not create
    const amount = this.parseAmount(pi);
    const outcome: VerifiedOutcome = { paymentId, approved: false, gatewayReference: pi.id, amountMinor: amount.amountMinor, currency: amount.currency };
    switch (event.type) {
      case 'payment_intent.succeeded':
        outcome.approved = true;
        outcome.savedMethod = await this.savedMethodOf(pi);
        break;
      case 'payment_intent.canceled':
        outcome.reason = pi.last_payment_error?.message ?? 'The payment was canceled.';
        break;
      case 'payment_intent.payment_failed':
        // Not final: the buyer may still pay this intent with another card.
        outcome.pending = true;
        outcome.reason = pi.last_payment_error?.message ?? 'The payment attempt failed.';
        break;
      default:
        outcome.pending = true;
    }
    result.outcome = outcome;
    return result;
  }

  // ---- saved cards, buyer absent ------------------------------------------------------------------

  /**
   * Saves a test card with a SetupIntent confirmed server-side (usage off_session). The 3DS card
   * is attached with PaymentMethod attach instead: it needs authentication on every use, so its
   * SetupIntent would wait for a buyer (Stripe's own docs test off-session 3DS this way).
   */
  private async saveTestCardImpl(customer: { id: string; name: string; email: string }, card: TestCard): Promise<SavedMethodInfo> {
    if (this.opts.mode !== 'test') throw new GatewayError('test_mode_only', 'Test cards can only be saved in test mode.');
    const cus = await this.findOrCreateCustomer(customer);
    const token = savedTestCardTokens[card];
    let pmId: string;
    if (card === '3ds') {
      pmId = (await this.call(() => this.stripe.paymentMethods.attach(token, { customer: cus.id }))).id;
    } else {
      const si = await this.call(() =>
        this.stripe.setupIntents.create({ customer: cus.id, payment_method: token, confirm: true, usage: 'off_session', allowed_payment_method_types: ['card'], metadata: { [CUSTOMER_ID_KEY]: customer.id } }),
      );
      if (si.status !== 'succeeded' || typeof si.payment_method !== 'string') throw new GatewayError('setup_failed', `Saving the card did not complete (SetupIntent ${si.status}).`);
      pmId = si.payment_method;
    }
    const pm = await this.call(() => this.stripe.paymentMethods.retrieve(pmId));
    return this.methodInfo(cus.id, pm);
  }

  private async chargeOffSessionImpl(req: ChargeRequest): Promise<ChargeResult> {
    const { payment } = req;
    let pi: Stripe.PaymentIntent;
    try {
      pi = await this.call(() =>
        this.stripe.paymentIntents.create(
          {
            amount: this.amountOf(payment),
            currency: payment.currency.toLowerCase(),
            customer: req.method.customerRef,
            payment_method: req.method.methodRef,
            off_session: true,
            confirm: true,
            description: req.description,
            metadata: { [PAYMENT_ID_KEY]: payment.id },
            allowed_payment_method_types: ['card'],
          },
          { idempotencyKey: req.idempotencyKey },
        ),
      );
    } catch (err) {
      const card = this.cardError(err);
      if (!card) throw err;
      if (card.code === 'authentication_required') return { status: 'requires_action', reason: card.message, raw: raw(card.raw) };
      return { status: 'declined', reason: card.message, raw: raw(card.raw) };
    }
    this.checkIntent(pi, payment);
    if (pi.status === 'succeeded') return { status: 'succeeded', gatewayReference: pi.id, raw: raw(pi) };
    if (pi.status === 'requires_action') return { status: 'requires_action', reason: 'The card needs the cardholder to authenticate (3D Secure).', raw: raw(pi) };
    if (pi.status === 'processing') throw new GatewayError('charge_processing', `Stripe is still processing ${pi.id}; retrieve it later.`);
    return { status: 'declined', reason: pi.last_payment_error?.message ?? msg('errors:stripe.status', { status: pi.status }), raw: raw(pi) };
  }

  private async refundImpl(payment: Payment, amountMinor: number, idempotencyKey: string): Promise<RefundResult> {
    if (!payment.gatewayReference?.startsWith('pi_')) throw new GatewayError('missing_reference', 'This payment has no Stripe PaymentIntent to refund.');
    if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0 || amountMinor > payment.amountMinor) throw new GatewayError('invalid_amount', 'The refund amount must be a positive amount no larger than the payment.');
    let refund: Stripe.Refund;
    try {
      refund = await this.call(() =>
        this.stripe.refunds.create({ payment_intent: payment.gatewayReference!, amount: amountMinor, metadata: { [PAYMENT_ID_KEY]: payment.id } }, { idempotencyKey }),
      );
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      if (err instanceof Stripe.errors.StripeInvalidRequestError || err instanceof Stripe.errors.StripeCardError) {
        return { status: 'failed', reason: err.message, raw: raw(err.raw) };
      }
      throw err;
    }
    if (refund.amount !== amountMinor || refund.currency.toUpperCase() !== payment.currency || refund.payment_intent !== payment.gatewayReference) {
      throw new GatewayError('invalid_response', 'Stripe\'s refund does not match the request.');
    }
    // Card refunds are `succeeded` at once; `pending` is accepted by Stripe and only settles later.
    if (refund.status === 'succeeded' || refund.status === 'pending') return { status: 'succeeded', gatewayReference: refund.id, raw: raw(refund) };
    return { status: 'failed', reason: refund.failure_reason ?? msg('errors:stripe.refund', { status: refund.status ?? 'failed' }), raw: raw(refund) };
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /** Stripe's own timeout and network errors become GatewayTimeoutError; other API errors GatewayError. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof Stripe.errors.StripeConnectionError) {
        throw new GatewayTimeoutError(`No answer from Stripe: ${err.message} Retry with the same idempotency key.`);
      }
      if (err instanceof Stripe.errors.StripeCardError || err instanceof Stripe.errors.StripeInvalidRequestError) {
        // Card errors and request errors are answers: the callers decide.
        if (err instanceof Stripe.errors.StripeIdempotencyError) throw new GatewayError('idempotency_conflict', err.message);
        throw err;
      }
      if (err instanceof Stripe.errors.StripeIdempotencyError) throw new GatewayError('idempotency_conflict', err.message);
      if (err instanceof Stripe.errors.StripeAuthenticationError) throw new GatewayError('invalid_credentials', `Stripe refused the secret key: ${err.message}`);
      if (err instanceof Stripe.errors.StripePermissionError) throw new GatewayError('permission_denied', err.message);
      if (err instanceof Stripe.errors.StripeRateLimitError) throw new GatewayError('rate_limited', err.message);
      if (err instanceof Stripe.errors.StripeError) throw new GatewayError('gateway_error', `Stripe failed: ${err.message}`);
      throw err;
    }
  }

  private cardError(err: unknown): InstanceType<typeof Stripe.errors.StripeCardError> | null {
    return err instanceof Stripe.errors.StripeCardError ? err : null;
  }

  private async retrieveIntent(id: string): Promise<Stripe.PaymentIntent> {
    try {
      return await this.call(() => this.stripe.paymentIntents.retrieve(id, { expand: ['payment_method'] }));
    } catch (err) {
      if (err instanceof Stripe.errors.StripeInvalidRequestError) {
        if (err.statusCode === 404) throw err;
        throw new GatewayError('gateway_error', `Stripe refused the request: ${err.message}`);
      }
      throw err;
    }
  }

  private amountOf(payment: Payment): number {
    if (!Number.isSafeInteger(payment.amountMinor) || payment.amountMinor <= 0) throw new GatewayError('invalid_amount', 'The payment amount must be a positive whole number of minor units.');
    return payment.amountMinor;
  }

  /** Stripe's amount is already integer minor units for TRY, USD and EUR; checked, never rounded. */
  private parseAmount(pi: Stripe.PaymentIntent): { amountMinor: number; currency: Currency } {
    const currency = String(pi.currency ?? '').toUpperCase();
    if (!Number.isSafeInteger(pi.amount) || pi.amount <= 0) throw new GatewayError('invalid_response', 'Stripe reported an amount that is not a positive whole number of minor units.');
    if (!(currencies as readonly string[]).includes(currency)) throw new GatewayError('invalid_response', `Stripe reported an unsupported currency: ${pi.currency}.`);
    return { amountMinor: pi.amount, currency: currency as Currency };
  }

  /** The intent must be this payment's, for this amount and currency. */
  private checkIntent(pi: Stripe.PaymentIntent, payment: Payment, code = 'invalid_response'): void {
    if (pi?.object !== 'payment_intent' || typeof pi.id !== 'string') throw new GatewayError(code, 'Stripe did not answer with a PaymentIntent.');
    if (pi.metadata?.[PAYMENT_ID_KEY] !== payment.id) throw new GatewayError(code, `PaymentIntent ${pi.id} belongs to another payment.`);
    const { amountMinor, currency } = this.parseAmount(pi);
    if (code === 'invalid_response' && (amountMinor !== payment.amountMinor || currency !== payment.currency)) {
      throw new GatewayError(code, `PaymentIntent ${pi.id} is for another amount or currency.`);
    }
  }

  /** verifyCallback's outcome: a failed attempt is made final (canceled) before it is reported. */
  private async settleOutcome(payment: Payment, pi: Stripe.PaymentIntent): Promise<VerifiedOutcome> {
    if (pi.status === 'requires_payment_method' && pi.last_payment_error) {
      try {
        const canceled = await this.call(() => this.stripe.paymentIntents.cancel(pi.id, { cancellation_reason: 'abandoned' }, { idempotencyKey: `kontor-cancel-${pi.id}` }));
        return this.outcome(payment, { ...canceled, last_payment_error: canceled.last_payment_error ?? pi.last_payment_error });
      } catch (err) {
        // It changed under us (the buyer paid in another tab): report what it is now.
        if (!(err instanceof Stripe.errors.StripeInvalidRequestError)) throw err;
        const now = await this.retrieveIntent(pi.id);
        this.checkIntent(now, payment, 'invalid_callback');
        return this.outcome(payment, now);
      }
    }
    return this.outcome(payment, pi);
  }

  private async outcome(payment: Payment, pi: Stripe.PaymentIntent): Promise<VerifiedOutcome> {
    const { amountMinor, currency } = this.parseAmount(pi);
    const base: VerifiedOutcome = { paymentId: payment.id, approved: false, amountMinor, currency, gatewayReference: pi.id };
    switch (pi.status) {
      case 'succeeded':
        return { ...base, approved: true, savedMethod: await this.savedMethodOf(pi) };
      case 'canceled':
        return { ...base, reason: pi.last_payment_error?.message ?? (pi.cancellation_reason === 'abandoned' ? 'The payment was canceled.' : msg('errors:stripe.canceled', { reason: pi.cancellation_reason ?? '-' })) };
      default:
        return { ...base, pending: true, ...(pi.last_payment_error?.message ? { reason: pi.last_payment_error.message } : {}) };
    }
  }

  private async savedMethodOf(pi: Stripe.PaymentIntent): Promise<SavedMethodInfo | undefined> {
    if (pi.setup_future_usage !== 'off_session' || !pi.customer || !pi.payment_method) return undefined;
    const customer = typeof pi.customer === 'string' ? pi.customer : pi.customer.id;
    const pm = typeof pi.payment_method === 'string' ? await this.call(() => this.stripe.paymentMethods.retrieve(pi.payment_method as string)) : pi.payment_method;
    return this.methodInfo(customer, pm);
  }

  private methodInfo(customerRef: string, pm: Stripe.PaymentMethod): SavedMethodInfo {
    if (pm?.object !== 'payment_method' || typeof pm.id !== 'string') throw new GatewayError('invalid_response', 'Stripe did not answer with a PaymentMethod.');
    return {
      customerRef,
      methodRef: pm.id,
      brand: pm.card?.brand ?? pm.type,
      last4: pm.card?.last4 ?? '',
      expMonth: pm.card?.exp_month ?? null,
      expYear: pm.card?.exp_year ?? null,
    };
  }

  /** One Stripe Customer per Kontor buyer, found by email and our id in its metadata. */
  private async findOrCreateCustomer(buyer: { id: string; name: string; email: string }): Promise<Stripe.Customer> {
    const list = await this.call(() => this.stripe.customers.list({ email: buyer.email, limit: 100 }));
    const found = list.data.find((c) => c.metadata?.[CUSTOMER_ID_KEY] === buyer.id);
    if (found) return found;
    return this.call(() => this.stripe.customers.create({ email: buyer.email, name: buyer.name, metadata: { [CUSTOMER_ID_KEY]: buyer.id } }, { idempotencyKey: `kontor-customer-${buyer.id}-${buyer.email}` }));
  }

  private returnUrl(callbackUrl: string, pi: Stripe.PaymentIntent): string {
    const u = new URL(callbackUrl);
    u.searchParams.set('payment_intent', pi.id);
    return u.toString();
  }
}

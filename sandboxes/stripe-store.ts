import { createHmac, randomBytes } from 'node:crypto';
import { TEST_CARD_EXP, testCardByKey, testCardByToken, type StripeTestCard } from '../src/gateways/stripe/test-cards';

/**
 * The fake Stripe API's state and rules, kept in memory per merchant account. Objects have
 * Stripe's real shapes (id prefixes, `object`, statuses, error bodies); only the fields Kontor
 * and stripe-node read are filled in. Saved PaymentMethod ids are stateless (`pm_<card>_<random>`
 * names the test card) and unknown `cus_` ids are re-created on use, so saved cards survive a
 * restart of the demo even though everything else here is forgotten.
 */

export interface StripeSandboxMerchant {
  /** The account the secret key belongs to (e.g. the seller's id): state is kept per account. */
  id: string;
  /** `whsec_...`: events are signed with it. */
  webhookSecret: string;
  /** Where events are posted (Kontor's webhook route for this seller); null sends none. */
  webhookUrl: string | null;
  /** The business name Stripe's pages show the buyer (the account's public details). */
  name?: string;
}

type Obj = Record<string, unknown>;
type Metadata = Record<string, string>;

export interface CustomerObject extends Obj {
  id: string;
  object: 'customer';
  email: string | null;
  name: string | null;
  metadata: Metadata;
}

export interface ChargeObject extends Obj {
  id: string;
  object: 'charge';
  amount: number;
  amount_refunded: number;
  currency: string;
  customer: string | null;
  payment_intent: string;
  payment_method: string;
  status: 'succeeded' | 'pending' | 'failed';
  paid: boolean;
  refunded: boolean;
  failure_code: string | null;
  failure_message: string | null;
}

export interface PaymentIntentObject extends Obj {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  customer: string | null;
  description: string | null;
  metadata: Metadata;
  status: 'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'processing' | 'succeeded' | 'canceled';
  client_secret: string;
  payment_method: string | null;
  setup_future_usage: 'off_session' | 'on_session' | null;
  last_payment_error: Obj | null;
  latest_charge: string | null;
  next_action: Obj | null;
  cancellation_reason: string | null;
}

export interface SetupIntentObject extends Obj {
  id: string;
  object: 'setup_intent';
  client_secret: string;
  customer: string | null;
  payment_method: string | null;
  status: 'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'succeeded' | 'canceled';
  usage: string;
  last_setup_error: Obj | null;
  next_action: Obj | null;
  metadata: Metadata;
}

export interface RefundObject extends Obj {
  id: string;
  object: 'refund';
  amount: number;
  charge: string;
  currency: string;
  payment_intent: string;
  status: 'succeeded';
  metadata: Metadata;
}

export interface StripeEventObject {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: Obj };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

/** A stored answer for an idempotency key (Stripe keeps them 24 hours). */
interface IdempotencyEntry {
  signature: string;
  done: boolean;
  status?: number;
  body?: unknown;
  createdAt: number;
}

interface IntentRecord<T> {
  obj: T;
  accountId: string;
  /** Where the browser goes after the hosted page or the 3DS page (Stripe's return_url). */
  returnUrl: string | null;
}

export class Account {
  readonly customers = new Map<string, CustomerObject>();
  readonly paymentIntents = new Map<string, IntentRecord<PaymentIntentObject>>();
  readonly setupIntents = new Map<string, IntentRecord<SetupIntentObject>>();
  readonly charges = new Map<string, ChargeObject>();
  readonly refunds = new Map<string, RefundObject>();
  /** PaymentMethod id -> customer it is attached to. */
  readonly attachments = new Map<string, string>();
  readonly idempotency = new Map<string, IdempotencyEntry>();
  readonly events: StripeEventObject[] = [];
  /** The business name shown on payment pages. */
  name: string | undefined;
  constructor(readonly id: string, public secretKey: string) {}
}

/** An answer of the fake API that is an error: Stripe's `{ error: {...} }` with its status. */
export class StripeApiError extends Error {
  override name = 'StripeApiError';
  constructor(
    readonly status: number,
    readonly error: Obj & { type: string; message: string },
    /** Stripe saves the result for the idempotency key once the endpoint started executing. */
    readonly saved = true,
  ) {
    super(error.message);
  }
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export function randomId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let s = '';
  for (const b of bytes) s += BASE62[b % 62];
  return `${prefix}_${s}`;
}

const docUrl = (code: string) => `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`;

export function invalidRequest(message: string, extra: Obj = {}, status = 400, saved = false): StripeApiError {
  return new StripeApiError(status, { type: 'invalid_request_error', message, ...(typeof extra.code === 'string' ? { doc_url: docUrl(extra.code) } : {}), ...extra }, saved);
}

export function resourceMissing(kind: string, id: string, param: string): StripeApiError {
  return invalidRequest(`No such ${kind}: '${id}'`, { code: 'resource_missing', param }, 404);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const clone = <T>(v: T): T => structuredClone(v);

/** What a test card's charge attempt came to. */
type Attempt =
  | { kind: 'succeeded'; charge: ChargeObject }
  | { kind: 'processing'; charge: ChargeObject }
  | { kind: 'hang'; charge: ChargeObject }
  | { kind: 'requires_action' }
  | { kind: 'card_error'; error: StripeApiError };

const DECLINES: Record<string, { code: string; decline_code?: string; message: string }> = {
  decline: { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
  decline_after_attach: { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
  insufficient_funds: { code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
  processing_error: { code: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.' },
  authentication_required: { code: 'authentication_required', decline_code: 'authentication_required', message: 'Your card was declined. This transaction requires authentication.' },
};
const AUTH_FAILED_PI = {
  code: 'payment_intent_authentication_failure',
  message: 'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.',
};
const AUTH_FAILED_SI = {
  code: 'setup_intent_authentication_failure',
  message: 'The latest attempt to set up the payment method has failed because authentication failed.',
};

export interface StoreOptions {
  resolveMerchant: (secretKey: string) => Promise<StripeSandboxMerchant | null>;
  /** How long a `hang` card keeps its answer back, or stays `processing` on the hosted page. */
  hangMs: number;
  apiVersion: string;
  fetch: typeof fetch;
}

export class StripeSandboxStore {
  private readonly accounts = new Map<string, Account>();
  /** Intent id -> account, for the browser pages (they carry the client secret, not the API key). */
  private readonly intentAccounts = new Map<string, string>();
  private readonly deliveries = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: StoreOptions) {}

  get hangMs(): number {
    return this.opts.hangMs;
  }

  // ---- accounts and inspection (tests, demo) --------------------------------------------------

  account(merchant: StripeSandboxMerchant, secretKey: string): Account {
    let acct = this.accounts.get(merchant.id);
    if (!acct) {
      acct = new Account(merchant.id, secretKey);
      this.accounts.set(merchant.id, acct);
    }
    acct.secretKey = secretKey;
    acct.name = merchant.name;
    return acct;
  }

  /** Every charge attempt recorded for a merchant (succeeded, pending or failed), oldest first. */
  charges(merchantId: string): ChargeObject[] {
    return [...(this.accounts.get(merchantId)?.charges.values() ?? [])].map(clone);
  }

  events(merchantId: string): StripeEventObject[] {
    return (this.accounts.get(merchantId)?.events ?? []).map(clone);
  }

  /** Waits until every webhook sent so far was delivered (or gave up). */
  async flush(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.allSettled([...this.deliveries]);
  }

  /** Stops the delayed work (processing payments settling later); for tests. */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  findPaymentIntent(id: string): IntentRecord<PaymentIntentObject> | undefined {
    const acct = this.accounts.get(this.intentAccounts.get(id) ?? '');
    return acct?.paymentIntents.get(id);
  }

  findSetupIntent(id: string): IntentRecord<SetupIntentObject> | undefined {
    const acct = this.accounts.get(this.intentAccounts.get(id) ?? '');
    return acct?.setupIntents.get(id);
  }

  accountOf(id: string): Account | undefined {
    return this.accounts.get(this.intentAccounts.get(id) ?? '');
  }

  // ---- idempotency ----------------------------------------------------------------------------

  /**
   * Stripe's rules: the same key with the same parameters answers the first result; with other
   * parameters (or another endpoint) a 400 idempotency_error; while the first is still running,
   * a 409. Keys are kept 24 hours.
   */
  idempotencyLookup(acct: Account, key: string, signature: string): { replay: { status: number; body: unknown } } | { fresh: true } {
    const cutoff = Date.now() - 24 * 3600_000;
    for (const [k, e] of acct.idempotency) if (e.createdAt < cutoff) acct.idempotency.delete(k);
    const entry = acct.idempotency.get(key);
    if (!entry) {
      acct.idempotency.set(key, { signature, done: false, createdAt: Date.now() });
      return { fresh: true };
    }
    if (entry.signature !== signature) {
      throw new StripeApiError(400, {
        type: 'idempotency_error',
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      }, false);
    }
    if (!entry.done) {
      throw new StripeApiError(409, {
        type: 'idempotency_error',
        message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
      }, false);
    }
    return { replay: { status: entry.status!, body: entry.body } };
  }

  idempotencySave(acct: Account, key: string, status: number, body: unknown): void {
    const entry = acct.idempotency.get(key);
    if (entry) Object.assign(entry, { done: true, status, body: clone(body) });
  }

  idempotencyForget(acct: Account, key: string): void {
    acct.idempotency.delete(key);
  }

  // ---- customers and payment methods ----------------------------------------------------------

  createCustomer(acct: Account, p: { email?: string; name?: string; description?: string; metadata?: Metadata }): CustomerObject {
    const c: CustomerObject = {
      id: randomId('cus', 14),
      object: 'customer',
      created: nowSeconds(),
      description: p.description ?? null,
      email: p.email ?? null,
      name: p.name ?? null,
      metadata: p.metadata ?? {},
      livemode: false,
      invoice_settings: { default_payment_method: null },
    };
    acct.customers.set(c.id, c);
    return c;
  }

  getCustomer(acct: Account, id: string, param = 'customer'): CustomerObject {
    const c = acct.customers.get(id);
    if (c) return c;
    // A restart forgets customers, but the saved-card references Kontor keeps must still work.
    if (/^cus_[A-Za-z0-9]{8,40}$/.test(id)) {
      const revived: CustomerObject = { id, object: 'customer', created: nowSeconds(), description: null, email: null, name: null, metadata: {}, livemode: false, invoice_settings: { default_payment_method: null } };
      acct.customers.set(id, revived);
      return revived;
    }
    throw resourceMissing('customer', id, param);
  }

  listCustomers(acct: Account, email: string | undefined, limit: number): CustomerObject[] {
    return [...acct.customers.values()].filter((c) => email === undefined || c.email === email).slice(0, limit);
  }

  /** A test token (`pm_card_visa`) or a saved id (`pm_visa_<random>`) to its card. */
  cardOf(pmId: string, param = 'payment_method'): StripeTestCard {
    const byToken = testCardByToken(pmId);
    if (byToken) return byToken;
    const m = /^pm_([A-Za-z]+)_[A-Za-z0-9]{8,40}$/.exec(pmId);
    const card = m ? testCardByKey(m[1]!) : undefined;
    if (!card) throw resourceMissing('PaymentMethod', pmId, param);
    return card;
  }

  /** Using a test token makes a new PaymentMethod, as Stripe does; a saved id stays itself. */
  materialise(pmId: string, param = 'payment_method'): { id: string; card: StripeTestCard } {
    const card = this.cardOf(pmId, param);
    return { id: testCardByToken(pmId) ? randomId(`pm_${card.key}`, 16) : pmId, card };
  }

  paymentMethodObject(acct: Account, id: string): Obj {
    const card = this.cardOf(id);
    return {
      id,
      object: 'payment_method',
      type: 'card',
      billing_details: { address: null, email: null, name: null, phone: null },
      card: {
        brand: card.brand,
        checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
        country: 'US',
        exp_month: TEST_CARD_EXP.month,
        exp_year: TEST_CARD_EXP.year,
        funding: 'credit',
        last4: card.last4,
        networks: { available: [card.brand], preferred: null },
      },
      created: nowSeconds(),
      customer: acct.attachments.get(id) ?? null,
      livemode: false,
      metadata: {},
    };
  }

  attach(acct: Account, pmId: string, customerId: string): Obj {
    const customer = this.getCustomer(acct, customerId);
    const { id, card } = this.materialise(pmId, 'payment_method');
    if (card.behaviour === 'decline') throw this.cardError(DECLINES.decline!, {}, 402);
    if (card.behaviour === 'api_error') throw apiError();
    const current = acct.attachments.get(id);
    if (current && current !== customer.id) throw invalidRequest('The payment method you provided has already been attached to a customer.', { code: 'payment_method_unexpected_state', param: 'payment_method' }, 400, true);
    acct.attachments.set(id, customer.id);
    return this.paymentMethodObject(acct, id);
  }

  // ---- payment intents ------------------------------------------------------------------------

  createPaymentIntent(acct: Account, p: { amount: number; currency: string; customer?: string; description?: string; metadata?: Metadata; setupFutureUsage?: 'off_session' | 'on_session'; paymentMethod?: string; allowedTypes?: string[] }): PaymentIntentObject {
    if (p.customer) this.getCustomer(acct, p.customer);
    checkAllowedTypes(p.allowedTypes);
    if (p.paymentMethod) this.cardOf(p.paymentMethod);
    const id = randomId('pi');
    const pi: PaymentIntentObject = {
      id,
      object: 'payment_intent',
      allowed_payment_method_types: p.allowedTypes?.length ? p.allowedTypes : null,
      amount: p.amount,
      amount_capturable: 0,
      amount_received: 0,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: 'automatic',
      client_secret: `${id}_secret_${randomId('x').slice(2)}`,
      confirmation_method: 'automatic',
      created: nowSeconds(),
      currency: p.currency,
      customer: p.customer ?? null,
      description: p.description ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: p.metadata ?? {},
      next_action: null,
      payment_method: p.paymentMethod ?? null,
      payment_method_types: ['card'],
      setup_future_usage: p.setupFutureUsage ?? null,
      status: p.paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
    };
    acct.paymentIntents.set(id, { obj: pi, accountId: acct.id, returnUrl: null });
    this.intentAccounts.set(id, acct.id);
    this.emit(acct, 'payment_intent.created', pi);
    return pi;
  }

  getPaymentIntent(acct: Account, id: string): IntentRecord<PaymentIntentObject> {
    const rec = acct.paymentIntents.get(id);
    if (!rec) throw resourceMissing('payment_intent', id, 'intent');
    return rec;
  }

  searchPaymentIntents(acct: Account, query: string): PaymentIntentObject[] {
    const m = /^\s*metadata\['([^']+)'\]\s*:\s*'([^']*)'\s*$/.exec(query);
    if (!m) throw invalidRequest(`The sandbox understands only queries of the form metadata['key']:'value', not: ${query}`, { param: 'query' });
    return [...acct.paymentIntents.values()].map((r) => r.obj).filter((pi) => pi.metadata[m[1]!] === m[2]).reverse();
  }

  /**
   * Confirms a PaymentIntent with a test card. `mode` 'api' is stripe-node's confirm (a `hang`
   * card answers late); 'page' is the hosted card page (a `hang` card stays processing a while).
   */
  confirmPaymentIntent(
    acct: Account,
    rec: IntentRecord<PaymentIntentObject>,
    p: { paymentMethod?: string; offSession: boolean; returnUrl?: string | null; base: string; mode: 'api' | 'page' },
  ): { pi: PaymentIntentObject; hang: boolean } {
    const pi = rec.obj;
    if (pi.status !== 'requires_payment_method' && pi.status !== 'requires_confirmation') {
      throw invalidRequest(`You cannot confirm this PaymentIntent because it has a status of ${pi.status}.`, { code: 'payment_intent_unexpected_state', payment_intent: clone(pi) }, 400, true);
    }
    const pmParam = p.paymentMethod ?? pi.payment_method;
    if (!pmParam) throw invalidRequest('You cannot confirm this PaymentIntent because it\'s missing a payment method.', { code: 'payment_intent_unexpected_state', param: 'payment_method' }, 400, true);
    const { id: pmId, card } = this.materialise(pmParam);
    const attachedTo = acct.attachments.get(pmId);
    if (pi.customer && attachedTo && attachedTo !== pi.customer) {
      throw invalidRequest('The provided PaymentMethod belongs to another customer.', { code: 'payment_method_unexpected_state', param: 'payment_method' }, 400, true);
    }
    if (card.behaviour === 'api_error') throw apiError();
    if (p.returnUrl !== undefined) rec.returnUrl = p.returnUrl;
    pi.payment_method = pmId;
    pi.last_payment_error = null;
    const attempt = this.attempt(acct, pi, card, p.offSession, p.mode);
    switch (attempt.kind) {
      case 'succeeded':
      case 'hang':
        this.succeed(acct, pi, attempt.charge);
        return { pi, hang: attempt.kind === 'hang' };
      case 'processing': {
        pi.status = 'processing';
        pi.latest_charge = attempt.charge.id;
        this.emit(acct, 'payment_intent.processing', pi);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          attempt.charge.status = 'succeeded';
          attempt.charge.paid = true;
          this.succeed(acct, pi, attempt.charge);
        }, this.opts.hangMs);
        timer.unref();
        this.timers.add(timer);
        return { pi, hang: false };
      }
      case 'requires_action': {
        pi.status = 'requires_action';
        const url = `${p.base}/sandbox/stripe/3ds/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}`;
        pi.next_action = { type: 'redirect_to_url', redirect_to_url: { url, return_url: rec.returnUrl } };
        this.emit(acct, 'payment_intent.requires_action', pi);
        return { pi, hang: false };
      }
      case 'card_error':
        throw attempt.error;
    }
  }

  private attempt(acct: Account, pi: PaymentIntentObject, card: StripeTestCard, offSession: boolean, mode: 'api' | 'page'): Attempt {
    const pmId = pi.payment_method!;
    switch (card.behaviour) {
      case 'succeed':
        return { kind: 'succeeded', charge: this.recordCharge(acct, pi, 'succeeded') };
      case 'hang':
        return mode === 'api' ? { kind: 'hang', charge: this.recordCharge(acct, pi, 'succeeded') } : { kind: 'processing', charge: this.recordCharge(acct, pi, 'pending') };
      case 'authenticate':
        if (!offSession) return { kind: 'requires_action' };
        return { kind: 'card_error', error: this.declineIntent(acct, pi, DECLINES.authentication_required!, pmId) };
      case 'decline':
      case 'decline_after_attach':
      case 'insufficient_funds':
      case 'processing_error':
        return { kind: 'card_error', error: this.declineIntent(acct, pi, DECLINES[card.behaviour]!, pmId) };
      case 'api_error':
        throw apiError();
    }
  }

  private recordCharge(acct: Account, pi: PaymentIntentObject, status: ChargeObject['status'], failure?: { code: string; message: string }): ChargeObject {
    const card = this.cardOf(pi.payment_method!);
    const ch: ChargeObject = {
      id: randomId('ch'),
      object: 'charge',
      amount: pi.amount,
      amount_captured: status === 'succeeded' ? pi.amount : 0,
      amount_refunded: 0,
      captured: status === 'succeeded',
      created: nowSeconds(),
      currency: pi.currency,
      customer: pi.customer,
      description: pi.description,
      failure_code: failure?.code ?? null,
      failure_message: failure?.message ?? null,
      livemode: false,
      metadata: { ...pi.metadata },
      outcome: status === 'failed' ? { network_status: 'declined_by_network', type: 'issuer_declined', seller_message: 'The bank did not return any further details with this decline.' } : { network_status: 'approved_by_network', type: 'authorized', seller_message: 'Payment complete.' },
      paid: status === 'succeeded',
      payment_intent: pi.id,
      payment_method: pi.payment_method!,
      payment_method_details: { type: 'card', card: { brand: card.brand, last4: card.last4, exp_month: TEST_CARD_EXP.month, exp_year: TEST_CARD_EXP.year } },
      refunded: false,
      status,
    };
    acct.charges.set(ch.id, ch);
    return ch;
  }

  private succeed(acct: Account, pi: PaymentIntentObject, charge: ChargeObject): void {
    pi.status = 'succeeded';
    pi.amount_received = pi.amount;
    pi.latest_charge = charge.id;
    pi.next_action = null;
    if (pi.setup_future_usage && pi.customer && pi.payment_method) acct.attachments.set(pi.payment_method, pi.customer);
    this.emit(acct, 'payment_intent.succeeded', pi);
  }

  private declineIntent(acct: Account, pi: PaymentIntentObject, d: { code: string; decline_code?: string; message: string }, pmId: string): StripeApiError {
    const charge = this.recordCharge(acct, pi, 'failed', d);
    pi.status = 'requires_payment_method';
    pi.latest_charge = charge.id;
    pi.next_action = null;
    const pm = this.paymentMethodObject(acct, pmId);
    pi.last_payment_error = { type: 'card_error', charge: charge.id, code: d.code, ...(d.decline_code ? { decline_code: d.decline_code } : {}), doc_url: docUrl(d.code), message: d.message, payment_method: pm };
    this.emit(acct, 'payment_intent.payment_failed', pi);
    return this.cardError(d, { charge: charge.id, payment_intent: clone(pi), payment_method: pm }, 402);
  }

  private cardError(d: { code: string; decline_code?: string; message: string }, extra: Obj, status: number): StripeApiError {
    return new StripeApiError(status, { type: 'card_error', code: d.code, ...(d.decline_code ? { decline_code: d.decline_code } : {}), doc_url: docUrl(d.code), message: d.message, ...extra });
  }

  /** The buyer's answer on the 3DS page. */
  authenticatePaymentIntent(acct: Account, rec: IntentRecord<PaymentIntentObject>, success: boolean): PaymentIntentObject {
    const pi = rec.obj;
    if (pi.status !== 'requires_action') return pi;
    if (success) {
      this.succeed(acct, pi, this.recordCharge(acct, pi, 'succeeded'));
    } else {
      pi.status = 'requires_payment_method';
      pi.next_action = null;
      pi.last_payment_error = { type: 'invalid_request_error', code: AUTH_FAILED_PI.code, doc_url: docUrl(AUTH_FAILED_PI.code), message: AUTH_FAILED_PI.message, payment_method: this.paymentMethodObject(acct, pi.payment_method!) };
      this.emit(acct, 'payment_intent.payment_failed', pi);
    }
    return pi;
  }

  cancelPaymentIntent(acct: Account, rec: IntentRecord<PaymentIntentObject>, reason: string | undefined): PaymentIntentObject {
    const pi = rec.obj;
    if (pi.status === 'succeeded' || pi.status === 'processing' || pi.status === 'canceled') {
      throw invalidRequest(`You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.`, { code: 'payment_intent_unexpected_state', payment_intent: clone(pi) }, 400, true);
    }
    pi.status = 'canceled';
    pi.canceled_at = nowSeconds();
    pi.cancellation_reason = reason ?? null;
    pi.next_action = null;
    this.emit(acct, 'payment_intent.canceled', pi);
    return pi;
  }

  // ---- setup intents --------------------------------------------------------------------------

  createSetupIntent(acct: Account, p: { customer?: string; paymentMethod?: string; usage?: string; metadata?: Metadata; allowedTypes?: string[] }): IntentRecord<SetupIntentObject> {
    if (p.customer) this.getCustomer(acct, p.customer);
    checkAllowedTypes(p.allowedTypes);
    const id = randomId('seti');
    const si: SetupIntentObject = {
      id,
      object: 'setup_intent',
      allowed_payment_method_types: p.allowedTypes?.length ? p.allowedTypes : null,
      client_secret: `${id}_secret_${randomId('x').slice(2)}`,
      created: nowSeconds(),
      customer: p.customer ?? null,
      last_setup_error: null,
      livemode: false,
      metadata: p.metadata ?? {},
      next_action: null,
      payment_method: p.paymentMethod ?? null,
      payment_method_types: ['card'],
      status: p.paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
      usage: p.usage ?? 'off_session',
    };
    const rec = { obj: si, accountId: acct.id, returnUrl: null };
    acct.setupIntents.set(id, rec);
    this.intentAccounts.set(id, acct.id);
    return rec;
  }

  getSetupIntent(acct: Account, id: string): IntentRecord<SetupIntentObject> {
    const rec = acct.setupIntents.get(id);
    if (!rec) throw resourceMissing('setup_intent', id, 'intent');
    return rec;
  }

  confirmSetupIntent(acct: Account, rec: IntentRecord<SetupIntentObject>, p: { paymentMethod?: string; returnUrl?: string | null; base: string }): SetupIntentObject {
    const si = rec.obj;
    if (si.status !== 'requires_payment_method' && si.status !== 'requires_confirmation') {
      throw invalidRequest(`You cannot confirm this SetupIntent because it has a status of ${si.status}.`, { code: 'setup_intent_unexpected_state', setup_intent: clone(si) }, 400, true);
    }
    const pmParam = p.paymentMethod ?? si.payment_method;
    if (!pmParam) throw invalidRequest('You cannot confirm this SetupIntent because it\'s missing a payment method.', { code: 'setup_intent_unexpected_state', param: 'payment_method' }, 400, true);
    const { id: pmId, card } = this.materialise(pmParam);
    if (card.behaviour === 'api_error') throw apiError();
    if (p.returnUrl !== undefined) rec.returnUrl = p.returnUrl;
    si.payment_method = pmId;
    si.last_setup_error = null;
    if (card.behaviour === 'decline' || card.behaviour === 'processing_error') {
      const d = DECLINES[card.behaviour]!;
      si.status = 'requires_payment_method';
      const pm = this.paymentMethodObject(acct, pmId);
      si.last_setup_error = { type: 'card_error', code: d.code, ...(d.decline_code ? { decline_code: d.decline_code } : {}), doc_url: docUrl(d.code), message: d.message, payment_method: pm };
      this.emit(acct, 'setup_intent.setup_failed', si);
      throw this.cardError(d, { setup_intent: clone(si), payment_method: pm }, 402);
    }
    if (card.behaviour === 'authenticate') {
      si.status = 'requires_action';
      si.next_action = { type: 'redirect_to_url', redirect_to_url: { url: `${p.base}/sandbox/stripe/3ds/${si.id}?client_secret=${encodeURIComponent(si.client_secret)}`, return_url: rec.returnUrl } };
      this.emit(acct, 'setup_intent.requires_action', si);
      return si;
    }
    this.setupSucceeded(acct, si);
    return si;
  }

  private setupSucceeded(acct: Account, si: SetupIntentObject): void {
    si.status = 'succeeded';
    si.next_action = null;
    if (si.customer && si.payment_method) acct.attachments.set(si.payment_method, si.customer);
    this.emit(acct, 'setup_intent.succeeded', si);
  }

  authenticateSetupIntent(acct: Account, rec: IntentRecord<SetupIntentObject>, success: boolean): SetupIntentObject {
    const si = rec.obj;
    if (si.status !== 'requires_action') return si;
    if (success) {
      this.setupSucceeded(acct, si);
    } else {
      si.status = 'requires_payment_method';
      si.next_action = null;
      si.last_setup_error = { type: 'invalid_request_error', code: AUTH_FAILED_SI.code, doc_url: docUrl(AUTH_FAILED_SI.code), message: AUTH_FAILED_SI.message };
      this.emit(acct, 'setup_intent.setup_failed', si);
    }
    return si;
  }

  // ---- refunds --------------------------------------------------------------------------------

  createRefund(acct: Account, p: { paymentIntent?: string; charge?: string; amount?: number; reason?: string; metadata?: Metadata }): RefundObject {
    let charge: ChargeObject | undefined;
    if (p.charge) {
      charge = acct.charges.get(p.charge);
      if (!charge) throw resourceMissing('charge', p.charge, 'charge');
    } else if (p.paymentIntent) {
      const pi = this.getPaymentIntent(acct, p.paymentIntent).obj;
      if (pi.status !== 'succeeded' || !pi.latest_charge) {
        throw invalidRequest(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, { code: 'charge_not_refundable', param: 'payment_intent' }, 400, true);
      }
      charge = acct.charges.get(pi.latest_charge);
    } else {
      throw invalidRequest('One of the following params should be provided for this request: payment_intent or charge.', { code: 'parameter_missing' });
    }
    if (!charge || charge.status !== 'succeeded') throw invalidRequest('This charge cannot be refunded.', { code: 'charge_not_refundable' }, 400, true);
    const remaining = charge.amount - charge.amount_refunded;
    if (remaining === 0) throw invalidRequest(`Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' }, 400, true);
    const amount = p.amount ?? remaining;
    if (amount > remaining) {
      throw invalidRequest(`Refund amount (${amount}) is greater than the unrefunded amount on the charge (${remaining}).`, { code: 'amount_too_large', param: 'amount' }, 400, true);
    }
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    const refund: RefundObject = {
      id: randomId('re'),
      object: 'refund',
      amount,
      balance_transaction: randomId('txn'),
      charge: charge.id,
      created: nowSeconds(),
      currency: charge.currency,
      metadata: p.metadata ?? {},
      payment_intent: charge.payment_intent,
      reason: p.reason ?? null,
      status: 'succeeded',
    };
    acct.refunds.set(refund.id, refund);
    this.emit(acct, 'charge.refunded', charge);
    return refund;
  }

  // ---- events and webhooks --------------------------------------------------------------------

  emit(acct: Account, type: string, object: Obj): StripeEventObject {
    const event: StripeEventObject = {
      id: randomId('evt'),
      object: 'event',
      api_version: this.opts.apiVersion,
      created: nowSeconds(),
      data: { object: clone(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
    acct.events.push(event);
    const delivery = this.deliver(acct, event).finally(() => this.deliveries.delete(delivery));
    this.deliveries.add(delivery);
    return event;
  }

  /** Posts the event like Stripe: pretty JSON, `Stripe-Signature: t=...,v1=HMAC(secret, t.payload)`. */
  private async deliver(acct: Account, event: StripeEventObject): Promise<void> {
    await Promise.resolve();
    const merchant = await this.opts.resolveMerchant(acct.secretKey).catch(() => null);
    if (!merchant?.webhookUrl) return;
    const payload = JSON.stringify(event, null, 2);
    for (let attempt = 0; attempt < 3; attempt++) {
      const header = stripeSignatureHeader(payload, merchant.webhookSecret, nowSeconds());
      try {
        const res = await this.opts.fetch(merchant.webhookUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': header, 'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
          body: payload,
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
      } catch {
        // retried below, like Stripe (which retries for days; the sandbox three times)
      }
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt).unref());
    }
  }
}

export function stripeSignatureHeader(payload: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

/** The sandbox has cards only. */
function checkAllowedTypes(types: string[] | undefined): void {
  if (types && types.length > 0 && !types.includes('card')) {
    throw invalidRequest(`The sandbox supports only card payments; allowed_payment_method_types was ${types.join(', ')}.`, { code: 'payment_intent_invalid_parameter', param: 'allowed_payment_method_types' });
  }
}

function apiError(): StripeApiError {
  return new StripeApiError(500, { type: 'api_error', message: 'An unknown error occurred (sandbox: the pm_card_sandboxApiError test card).' });
}

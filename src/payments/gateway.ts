import type { Currency, payments } from '../../db/schema';

export type Payment = typeof payments.$inferSelect;

/** The gateways a seller can choose (DESIGN section 7). 'sandbox' is Kontor's own stand-in page. */
export const gatewayKinds = ['sandbox', 'nestpay', 'iyzico', 'stripe'] as const;
export type GatewayKind = (typeof gatewayKinds)[number];
export type GatewayMode = 'test' | 'production';

/** What the buyer's browser does next to pay. */
export type PaymentStart =
  /** Send the browser to this URL (iyzico checkout form page, Stripe 3DS page, sandbox page). */
  | { kind: 'redirect'; url: string; gatewayReference?: string }
  /** Post these fields to `action` from an auto-submitting page (NestPay 3D gate). */
  | { kind: 'form'; action: string; fields: Record<string, string>; gatewayReference?: string }
  /** Paid at once without the browser (e.g. Stripe with a saved card and no 3DS needed). */
  | { kind: 'completed'; approved: boolean; reason?: string; gatewayReference?: string; raw: Record<string, unknown> };

export interface StartContext {
  /**
   * Absolute Kontor URL the gateway sends the buyer back to (posted form or redirect). It names
   * the payment: `${publicUrl}/payments/callback/${payment.id}`. NestPay uses it as okUrl and
   * failUrl, iyzico as callbackUrl, Stripe as return_url.
   */
  callbackUrl: string;
  lang: 'en' | 'tr';
  description: string;
  buyer: { id: string; name: string; email: string; ip: string };
  /** Ask the gateway to keep the card for later off-session charges (iyzico, Stripe). */
  saveMethod?: boolean;
  /** Charge this saved method with the buyer present (3DS may still be required). */
  savedMethod?: SavedMethodRef;
}

/** A card kept at the gateway. Kontor stores only these references and display data. */
export interface SavedMethodRef {
  customerRef: string;
  methodRef: string;
}
export interface SavedMethodInfo extends SavedMethodRef {
  brand: string;
  last4: string;
  expMonth: number | null;
  expYear: number | null;
}

/** The verified outcome of a buyer's return or a webhook, before Kontor applies it. */
export interface VerifiedOutcome {
  /** Kontor's payment id the gateway echoed (NestPay oid, iyzico conversationId, Stripe metadata). */
  paymentId: string;
  approved: boolean;
  /** Why it failed, the gateway's or bank's own message kept (e.g. NestPay mdErrorMsg / ErrMsg). */
  reason?: string;
  /** As reported by the gateway; compared with the order before anything is granted. */
  amountMinor?: number;
  currency?: Currency;
  gatewayReference?: string;
  /** A card saved during this payment, when the buyer asked for it. */
  savedMethod?: SavedMethodInfo;
  /** True while the gateway is still processing (neither approved nor failed yet). */
  pending?: boolean;
  /**
   * The installments the gateway charged in (NestPay's hashed `taksit`, iyzico's `installment`),
   * 1 for a single payment; compared with the payment's before anything is granted.
   */
  installments?: number;
}

/** What a card's issuer allows for an amount (iyzico's installment query by BIN). */
export interface InstallmentInfo {
  /** Counts above 1 the card may pay in; empty for a card that takes single payments only. */
  counts: number[];
  bankName: string | null;
  cardType: string | null;
}

export interface WebhookEvent {
  /** The gateway's own event id: a webhook is applied once per (gateway, eventId). */
  eventId: string;
  type: string;
  /** Present when the event settles a payment. */
  outcome?: VerifiedOutcome;
}

export interface ChargeRequest {
  payment: Payment;
  method: SavedMethodRef;
  /** Sent to the gateway; a retry with the same key can never charge twice. */
  idempotencyKey: string;
  description: string;
}

export type ChargeResult =
  | { status: 'succeeded'; gatewayReference: string; raw: Record<string, unknown> }
  | { status: 'declined'; reason: string; raw: Record<string, unknown> }
  /** The card needs the buyer (3DS): an off-session charge cannot complete. */
  | { status: 'requires_action'; reason: string; raw: Record<string, unknown> };

export type RefundResult =
  | { status: 'succeeded'; gatewayReference: string; raw: Record<string, unknown> }
  | { status: 'failed'; reason: string; raw: Record<string, unknown> };

/** The request a gateway posted or redirected back to Kontor. */
/**
 * A callback's fields as the buyer's browser sent them: a field sent twice stays an array, so the
 * verifier can refuse it (a bank never repeats a field; an attacker might, hoping one copy is
 * hashed and the other applied).
 */
export type CallbackFields = Record<string, string | string[]>;

export interface CallbackInput {
  body: CallbackFields;
  query: CallbackFields;
}

/**
 * One interface for every gateway (DESIGN section 7). An implementation is constructed for one
 * seller with that seller's decrypted credentials; it never touches the database: Kontor records
 * attempts and transitions around it (src/payments).
 */
export interface PaymentGateway {
  readonly kind: GatewayKind;
  /** Whether a saved method can be charged without the buyer (NestPay 3D_PAY: no). */
  readonly canChargeOffSession: boolean;
  start(payment: Payment, ctx: StartContext): Promise<PaymentStart>;
  /**
   * Verifies what came back with the buyer (hash, signature, or a server-side retrieve) and
   * reports the outcome. Throws GatewayError('invalid_callback') when it cannot be trusted.
   */
  verifyCallback(payment: Payment, input: CallbackInput): Promise<VerifiedOutcome>;
  /** Verifies a webhook on its raw body. Throws GatewayError('invalid_signature') when forged. */
  verifyWebhook(rawBody: Buffer, headers: Record<string, string | undefined>): Promise<WebhookEvent>;
  /** Asks the gateway for the payment's current state (reconciliation of confirmed-but-unapplied). */
  retrieve(payment: Payment): Promise<VerifiedOutcome>;
  /**
   * Saves one of the sandbox's documented test cards for a customer (test mode only), the way
   * Stripe's test mode offers ready-made payment methods.
   */
  saveTestCard(customer: { id: string; name: string; email: string }, card: TestCard): Promise<SavedMethodInfo>;
  /** Charges a saved method without the buyer. Throws GatewayTimeoutError when no answer came. */
  chargeOffSession(req: ChargeRequest): Promise<ChargeResult>;
  refund(payment: Payment, amountMinor: number, idempotencyKey: string): Promise<RefundResult>;
  /** The installments a card (by its first 6-8 digits) may pay in, where the gateway can say (iyzico). */
  installmentInfo?(query: { bin: string; amountMinor: number; currency: string; conversationId: string }): Promise<InstallmentInfo>;
}

export const testCards = ['visa', 'declined', 'timeout', '3ds'] as const;
export type TestCard = (typeof testCards)[number];

/** A gateway's answer could not be trusted or used (bad hash, malformed callback...). */
export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** No answer in time: the charge may or may not have happened; retry with the same idempotency key. */
export class GatewayTimeoutError extends GatewayError {
  override name = 'GatewayTimeoutError';
  constructor(message = 'The payment gateway did not answer in time.') {
    super('gateway_timeout', message);
  }
}

/** Options every gateway implementation is constructed with, beside its credentials. */
export interface GatewayOptions {
  mode: GatewayMode;
  /**
   * Base URL of Kontor's offline sandboxes (`${sandboxUrl}/sandbox/nestpay`, `/sandbox/iyzico`,
   * and the fake Stripe API at `${sandboxUrl}` itself, since stripe-node has no base path). Set
   * outside production; when set, test mode talks to the sandbox instead of the real test hosts.
   */
  sandboxUrl: string | null;
  /** Client-side timeout for server-to-server calls. */
  timeoutMs: number;
}

/** What starting a checkout needs; the sandbox stand-in page implements only this. */
export type CheckoutStarter = { readonly kind: GatewayKind; readonly accountId?: string | null; start(payment: Payment): Promise<PaymentStart> };

/** One field of a seller's gateway credentials, for the "Payment systems" settings form. */
export interface CredentialField {
  name: string;
  label: string;
  /** Encrypted at rest and never shown again in full (only a masked hint). */
  secret: boolean;
  required: boolean;
  help?: string;
  /** A choice among fixed values (e.g. the bank), shown as a select. */
  options?: readonly { value: string; label: string }[];
}

/**
 * What the core needs to offer a gateway to sellers: its form, its validation, and a factory.
 * `parseCredentials` throws ValidationError (src/lib/errors) with one message per bad field;
 * in production mode it also refuses settings that only make sense in test (e.g. non-HTTPS URLs).
 */
export interface GatewayRegistration {
  kind: Exclude<GatewayKind, 'sandbox'>;
  label: string;
  credentialFields: readonly CredentialField[];
  parseCredentials(input: Record<string, string | undefined>, mode: GatewayMode): Record<string, string>;
  create(credentials: Record<string, string>, opts: GatewayOptions): PaymentGateway;
}

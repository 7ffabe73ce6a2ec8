import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { currencies } from './catalog';
import { createdAt, tstz } from './common';

export const paymentStatuses = ['pending', 'confirmed', 'failed', 'refunded'] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];
// `invoice_batch`: one payment of several invoices ("Pay all overdue", src/billing/overdue-payment.ts).
// The column is plain text: a new purpose needs no migration.
export const paymentPurposes = ['package_purchase', 'topup', 'chatbot_slots', 'invoice', 'auto_topup', 'wallet_topup', 'invoice_batch'] as const;
export type PaymentPurpose = (typeof paymentPurposes)[number];

/**
 * Every payment attempt. The seller is the platform (seller_agency_id null) or an agency; the
 * buyer an agency or a sub-account. Amounts in integer minor units.
 */
export const payments = pgTable(
  'payments',
  {
    id: text('id').primaryKey(),
    sellerAgencyId: text('seller_agency_id'),
    buyerAgencyId: text('buyer_agency_id').notNull(),
    buyerSubAccountId: text('buyer_sub_account_id'),
    purpose: text('purpose', { enum: paymentPurposes }).notNull(),
    referenceId: text('reference_id').notNull(),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    currency: text('currency', { enum: currencies }).notNull(),
    gateway: text('gateway').notNull(),
    status: text('status', { enum: paymentStatuses }).notNull().default('pending'),
    gatewayReference: text('gateway_reference'),
    failureReason: text('failure_reason'),
    confirmedAt: tstz('confirmed_at'),
    /** The seller's gateway settings used for this attempt (null: Kontor's sandbox stand-in or offline). */
    gatewayAccountId: text('gateway_account_id'),
    /** The saved method charged off-session, if any. */
    paymentMethodId: text('payment_method_id'),
    /** Sent to the gateway with an off-session charge or refund; one charge per key. */
    idempotencyKey: text('idempotency_key'),
    refundedMinor: bigint('refunded_minor', { mode: 'number' }).notNull().default(0),
    refundedAt: tstz('refunded_at'),
    /**
     * Installments (taksit) the buyer chose at checkout (docs/installments.md): null while no choice
     * was made (or none was offered), 1 for a single payment, 2-12 for installments. Once set it is
     * final: the gateway is started with it and the callback must report the same count.
     */
    installments: integer('installments'),
    /** The seller's surcharge for that count, in hundredths of a percent (250 = 2.50%). */
    installmentSurchargeBp: integer('installment_surcharge_bp').notNull().default(0),
    /** The surcharge in minor units, included in amount_minor (its own line on the invoice). */
    installmentSurchargeMinor: bigint('installment_surcharge_minor', { mode: 'number' }).notNull().default(0),
    /**
     * The tax computed at checkout start (src/billing/checkout-amount.ts; docs/tax.md): the seller's
     * price mode then ('exclusive': tax was added to the price; 'inclusive': the price included it;
     * null: the seller charged no tax, or a payment from before), the rate, and the tax within
     * amount_minor (before any installment surcharge). The paid invoice is issued from them.
     */
    priceMode: text('price_mode', { enum: ['exclusive', 'inclusive'] }),
    taxRateBp: integer('tax_rate_bp'),
    taxMinor: bigint('tax_minor', { mode: 'number' }).notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('payments_idempotency_key').on(t.gateway, t.idempotencyKey).where(sql`idempotency_key is not null`),
    index('payments_pending_idx').on(t.status, t.createdAt).where(sql`status = 'pending'`),
    // What a seller collected since a day (the dashboard's month).
    index('payments_seller_confirmed_idx').on(t.sellerAgencyId, t.confirmedAt),
    index('payments_buyer_idx').on(t.buyerAgencyId, t.buyerSubAccountId, t.createdAt), uniqueIndex('payments_reference_key').on(t.purpose, t.referenceId),
  ],
);

/** State transitions of a payment, and the raw callbacks that caused them. Append-only. */
export const paymentEvents = pgTable(
  'payment_events',
  {
    id: text('id').primaryKey(),
    paymentId: text('payment_id').notNull().references(() => payments.id),
    fromStatus: text('from_status'),
    toStatus: text('to_status').notNull(),
    raw: jsonb('raw'),
    createdAt: createdAt(),
  },
  (t) => [index('payment_events_payment_idx').on(t.paymentId, t.createdAt)],
);

export const gatewayKindValues = ['sandbox', 'nestpay', 'iyzico', 'stripe'] as const;
export const gatewayModes = ['test', 'production'] as const;

/**
 * A seller's payment system: which gateway, test or production, its public settings, and its
 * secrets encrypted (AES-256-GCM, see src/payments/secret-box.ts). One per seller: the platform
 * (seller_key 'platform') or an agency (seller_key = its id).
 */
export const gatewayAccounts = pgTable('gateway_accounts', {
  id: text('id').primaryKey(),
  sellerKey: text('seller_key').notNull().unique(),
  sellerAgencyId: text('seller_agency_id'),
  kind: text('kind', { enum: gatewayKindValues }).notNull(),
  mode: text('mode', { enum: gatewayModes }).notNull().default('test'),
  settings: jsonb('settings').$type<Record<string, string>>().notNull(),
  /** Encrypted JSON of the secret fields; bound to seller_key as associated data. */
  secrets: text('secrets').notNull(),
  /** Masked hints of the secrets ("...1234"), the only form ever shown again. */
  secretHints: jsonb('secret_hints').$type<Record<string, string>>().notNull(),
  /**
   * The installments the seller offers on this account (NestPay and iyzico only), null for none:
   * `{ offers: [{ count, surchargeBp }], minAmountMinor }` (src/payments/installments.ts).
   */
  installmentPlan: jsonb('installment_plan').$type<{ offers: { count: number; surchargeBp: number }[]; minAmountMinor: number }>(),
  createdAt: createdAt(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

/**
 * A buyer's card kept at a seller's gateway (only references and display data are stored). The
 * buyer is an agency (buying from the platform) or a sub-account (buying from its agency).
 */
export const paymentMethods = pgTable(
  'payment_methods',
  {
    id: text('id').primaryKey(),
    buyerAgencyId: text('buyer_agency_id').notNull(),
    buyerSubAccountId: text('buyer_sub_account_id'),
    gatewayAccountId: text('gateway_account_id').notNull(),
    gateway: text('gateway').notNull(),
    customerRef: text('customer_ref').notNull(),
    methodRef: text('method_ref').notNull(),
    brand: text('brand').notNull(),
    last4: text('last4').notNull(),
    expMonth: integer('exp_month'),
    expYear: integer('exp_year'),
    isDefault: boolean('is_default').notNull().default(false),
    createdAt: createdAt(),
    deletedAt: tstz('deleted_at'),
  },
  (t) => [index('payment_methods_buyer_idx').on(t.buyerAgencyId, t.buyerSubAccountId)],
);

/** Every webhook as received (raw body), applied once per (gateway account, event id). */
export const gatewayWebhooks = pgTable(
  'gateway_webhooks',
  {
    id: text('id').primaryKey(),
    gatewayAccountId: text('gateway_account_id').notNull(),
    gateway: text('gateway').notNull(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    payload: text('payload').notNull(),
    headers: jsonb('headers').$type<Record<string, string>>().notNull(),
    /** The outcome as verified on receipt (signatures can expire: Stripe's after 5 minutes). */
    outcome: jsonb('outcome'),
    receivedAt: tstz('received_at').notNull().defaultNow(),
    processedAt: tstz('processed_at'),
    error: text('error'),
  },
  (t) => [uniqueIndex('gateway_webhooks_event_key').on(t.gatewayAccountId, t.eventId)],
);

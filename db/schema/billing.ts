import { sql } from 'drizzle-orm';
import { bigint, boolean, check, date, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { currencies } from './catalog';
import { createdAt, tstz, updatedAt } from './common';
import type { BuyerParty, SellerParty } from './parties';

// The subscription billing engine (DESIGN section 6). One set of tables serves both selling
// levels: the seller is the platform (seller_agency_id null, buyers are agencies) or an agency
// (buyers are its sub-accounts). The buyer ("account") is a sub-account (sub_account_id set) or
// an agency (sub_account_id null); `buyer_id` is that buyer's id either way (not a credit account: the ledger's `account_id` is). `agency_id` is the
// tenant every query is scoped by: the sub-account's agency, or the buying agency itself.
// Calendar days are `date`s in the seller's time zone; money is integer minor units.

export const billingModels = ['monthly', 'term', 'one_off'] as const;
export type BillingModel = (typeof billingModels)[number];
/** `plan`: an agency's plan, a monthly subscription to a `plan` offer of the platform (docs/catalog.md). */
export const billingKinds = ['package', 'addon', 'quantity', 'extra_sessions', 'plan'] as const;
export type BillingKind = (typeof billingKinds)[number];
export const addonModules = [
  'ai_assistant', 'mail_integration', 'team_chat_integration', 'ticket_system', 'telegram_integration', 'visitor_chat_start', 'webhook_integration', 'task_management',
] as const;
export type AddonModule = (typeof addonModules)[number];
export const quantityUnits = ['representative', 'whatsapp_channel', 'instagram_channel', 'messenger_channel'] as const;
export type QuantityUnit = (typeof quantityUnits)[number];

export const billingSubscriptionStatuses = ['active', 'cancelled', 'changed', 'ended', 'refunded'] as const;
export type BillingSubscriptionStatus = (typeof billingSubscriptionStatuses)[number];

/**
 * A buyer's subscription to one billing package, with the package's terms copied. The days it
 * is billed for are its periods (billing_periods); `status` says what the buyer can do next.
 */
export const billingSubscriptions = pgTable(
  'billing_subscriptions',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    subAccountId: text('sub_account_id'),
    buyerId: text('buyer_id').notNull(),
    sellerAgencyId: text('seller_agency_id'),
    packageId: text('package_id').notNull(),
    name: text('name').notNull(),
    kind: text('kind', { enum: billingKinds }).notNull(),
    billing: text('billing', { enum: billingModels }).notNull(),
    termMonths: integer('term_months'),
    monthlyPriceMinor: bigint('monthly_price_minor', { mode: 'number' }).notNull(),
    /** A term's prepaid price (monthly x months x discount); null for monthly items. */
    termPriceMinor: bigint('term_price_minor', { mode: 'number' }),
    currency: text('currency', { enum: currencies }).notNull(),
    quantity: integer('quantity').notNull().default(1),
    chatbotSessions: integer('chatbot_sessions').notNull().default(0),
    representatives: integer('representatives').notNull().default(0),
    whatsappChannels: integer('whatsapp_channels').notNull().default(0),
    instagramChannels: integer('instagram_channels').notNull().default(0),
    messengerChannels: integer('messenger_channels').notNull().default(0),
    modules: text('modules').array().notNull().default([]),
    unit: text('unit', { enum: quantityUnits }),
    status: text('status', { enum: billingSubscriptionStatuses }).notNull().default('active'),
    /** First billed day (seller's zone). For a change, the day after the change day. */
    startDay: date('start_day', { mode: 'string' }).notNull(),
    /** Last day of a term (its end is the day after); null for monthly items. */
    termLastDay: date('term_last_day', { mode: 'string' }),
    changedFromId: text('changed_from_id'),
    changedToId: text('changed_to_id'),
    cancelledAt: tstz('cancelled_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('billing_subscriptions_account_idx').on(t.buyerId, t.status),
    index('billing_subscriptions_agency_idx').on(t.agencyId),
    // The cut ends finished terms first: only running terms are looked at.
    index('billing_subscriptions_running_terms_idx').on(t.termLastDay).where(sql`${t.billing} = 'term' and ${t.status} = 'active'`),
    check('billing_subscriptions_quantity', sql`${t.quantity} >= 1`),
    // An agency is on one plan at a time (a change leaves the old one 'changed').
    uniqueIndex('billing_subscriptions_one_plan_key').on(t.buyerId).where(sql`${t.kind} = 'plan' and ${t.status} = 'active'`),
  ],
);

/**
 * The days a subscription is billed for: [from_day, through_day], through_day null while it runs.
 * Periods of one subscription never overlap (a reactivation on the cancellation day reopens the
 * last period instead of adding one), so the cut can sum their lengths.
 */
export const billingPeriods = pgTable(
  'billing_periods',
  {
    id: text('id').primaryKey(),
    subscriptionId: text('subscription_id').notNull(),
    agencyId: text('agency_id').notNull(),
    buyerId: text('buyer_id').notNull(),
    sellerAgencyId: text('seller_agency_id'),
    fromDay: date('from_day', { mode: 'string' }).notNull(),
    throughDay: date('through_day', { mode: 'string' }),
    createdAt: createdAt(),
  },
  (t) => [
    index('billing_periods_subscription_idx').on(t.subscriptionId, t.fromDay),
    index('billing_periods_seller_idx').on(t.sellerAgencyId, t.buyerId),
    index('billing_periods_account_idx').on(t.buyerId, t.fromDay),
    check('billing_periods_order', sql`${t.throughDay} is null or ${t.throughDay} >= ${t.fromDay}`),
  ],
);

export const accountChargeKinds = ['extra_sessions', 'topup'] as const;

/**
 * One-off charges put on the account's next monthly invoice, in full (not prorated): extra
 * chatbot sessions and on-account top-ups. `invoice_id` is set when an invoice bills it.
 */
export const accountCharges = pgTable(
  'account_charges',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    subAccountId: text('sub_account_id'),
    buyerId: text('buyer_id').notNull(),
    sellerAgencyId: text('seller_agency_id'),
    kind: text('kind', { enum: accountChargeKinds }).notNull(),
    description: text('description').notNull(),
    /** The description as a message read in the reader's language (docs/i18n.md); copied onto the invoice line that bills it. */
    descriptionKey: text('description_key'),
    day: date('day', { mode: 'string' }).notNull(),
    quantity: integer('quantity').notNull().default(1),
    unitPriceMinor: bigint('unit_price_minor', { mode: 'number' }).notNull(),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    currency: text('currency', { enum: currencies }).notNull(),
    /** Extra sessions: how many, and when they stop counting (00:00 on the next 1st, seller's zone). */
    sessions: integer('sessions'),
    expiresAt: tstz('expires_at'),
    invoiceId: text('invoice_id'),
    createdAt: createdAt(),
  },
  (t) => [
    index('account_charges_unbilled_idx').on(t.sellerAgencyId, t.buyerId, t.day).where(sql`${t.invoiceId} is null`),
    index('account_charges_account_idx').on(t.buyerId, t.day),
    check('account_charges_amounts', sql`${t.quantity} >= 1 and ${t.amountMinor} >= 0`),
  ],
);

/** 'purchase': a payment taken at once (a credit pack, a top-up, chatbot slots, WhatsApp balance), issued paid. */
export const invoiceKinds = ['monthly', 'term', 'purchase'] as const;
export const invoiceStatuses = ['draft', 'open', 'paid', 'void', 'refunded'] as const;
export type InvoiceStatus = (typeof invoiceStatuses)[number];

/**
 * An invoice from a seller to one account: the month's invoice (cut on the 1st, one per account
 * and month: the unique key makes the cut idempotent) or a term purchase's. Numbers are
 * sequential per seller without gaps (invoice_counters). `draft` until delivered (PDF, email),
 * then `open` until paid.
 */
export const invoices = pgTable(
  'invoices',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    subAccountId: text('sub_account_id'),
    buyerId: text('buyer_id').notNull(),
    sellerAgencyId: text('seller_agency_id'),
    /** The counter the number comes from: the seller agency's id, or 'platform'. */
    sellerKey: text('seller_key').notNull(),
    number: integer('number').notNull(),
    kind: text('kind', { enum: invoiceKinds }).notNull(),
    /** 'YYYY-MM' of a monthly invoice; null for a term purchase. */
    period: text('period'),
    periodStart: date('period_start', { mode: 'string' }).notNull(),
    periodEnd: date('period_end', { mode: 'string' }).notNull(),
    issueDay: date('issue_day', { mode: 'string' }).notNull(),
    dueDay: date('due_day', { mode: 'string' }).notNull(),
    currency: text('currency', { enum: currencies }).notNull(),
    /** What the buyer pays: the sum of the lines' net amounts and taxes (net = total - tax). */
    totalMinor: bigint('total_minor', { mode: 'number' }).notNull(),
    /** The sum of the lines' taxes; 0 on invoices issued while the seller charged no tax. */
    taxMinor: bigint('tax_minor', { mode: 'number' }).notNull().default(0),
    /** The seller's price mode when the invoice was issued with tax; null: issued without tax. */
    priceMode: text('price_mode', { enum: ['exclusive', 'inclusive'] }),
    /** Both parties' tax identities as they stood at issue (src/tax/identity.ts); null before tax. */
    sellerParty: jsonb('seller_party').$type<SellerParty>(),
    buyerParty: jsonb('buyer_party').$type<BuyerParty>(),
    status: text('status', { enum: invoiceStatuses }).notNull().default('draft'),
    /** The term subscription a term invoice was issued for. */
    subscriptionId: text('subscription_id'),
    billingAddress: jsonb('billing_address'),
    paymentId: text('payment_id'),
    paidAt: tstz('paid_at'),
    deliveredAt: tstz('delivered_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('invoices_account_period_key').on(t.buyerId, t.period).where(sql`${t.kind} = 'monthly'`),
    uniqueIndex('invoices_term_key').on(t.subscriptionId).where(sql`${t.kind} = 'term'`),
    // One invoice per payment taken at once, however often its callback comes.
    uniqueIndex('invoices_purchase_payment_key').on(t.paymentId).where(sql`${t.kind} = 'purchase'`),
    uniqueIndex('invoices_number_key').on(t.sellerKey, t.number),
    index('invoices_account_idx').on(t.buyerId, t.issueDay),
    index('invoices_seller_idx').on(t.sellerKey, t.issueDay),
    // A seller's issued invoices, newest first (the invoices page), and its overdue ones (the dashboard).
    index('invoices_seller_list_idx').on(t.sellerAgencyId, t.issueDay, t.number),
    index('invoices_seller_open_idx').on(t.sellerAgencyId, t.dueDay).where(sql`${t.status} = 'open'`),
    index('invoices_draft_idx').on(t.createdAt).where(sql`${t.status} = 'draft'`),
    check('invoices_total', sql`${t.totalMinor} >= 0`),
    check('invoices_tax', sql`${t.taxMinor} >= 0 and ${t.taxMinor} <= ${t.totalMinor}`),
  ],
);

/** 'purchase': what a payment taken at once bought; 'surcharge': an installment surcharge added to it. */
export const invoiceLineKinds = ['monthly', 'term', 'extra_sessions', 'topup', 'purchase', 'surcharge'] as const;
export type InvoiceLineKind = (typeof invoiceLineKinds)[number];

export const invoiceLines = pgTable(
  'invoice_lines',
  {
    id: text('id').primaryKey(),
    invoiceId: text('invoice_id').notNull(),
    agencyId: text('agency_id').notNull(),
    position: integer('position').notNull(),
    kind: text('kind', { enum: invoiceLineKinds }).notNull(),
    subscriptionId: text('subscription_id'),
    chargeId: text('charge_id'),
    description: text('description').notNull(),
    /**
     * A text Kontor writes (not a seller's own offer name), as a message (src/lib/message.ts: a catalog
     * key and its parameters) read in the reader's language; `description` keeps the text as issued.
     * Filled when the line is inserted (lines never change once the invoice is issued).
     */
    descriptionKey: text('description_key'),
    fromDay: date('from_day', { mode: 'string' }),
    throughDay: date('through_day', { mode: 'string' }),
    activeDays: integer('active_days'),
    daysInMonth: integer('days_in_month'),
    quantity: integer('quantity').notNull().default(1),
    /** Monthly items: the monthly price of all units; one-off items: the unit price. */
    unitPriceMinor: bigint('unit_price_minor', { mode: 'number' }).notNull(),
    /** The line's net amount (without tax); the line's total is amount + tax. */
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    /** The line's tax rate in hundredths of a percent (2000 = 20%) and its tax, rounded once (src/tax/tax.ts). */
    taxRateBp: integer('tax_rate_bp').notNull().default(0),
    taxMinor: bigint('tax_minor', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    index('invoice_lines_invoice_idx').on(t.invoiceId, t.position),
    check('invoice_lines_tax', sql`${t.taxRateBp} between 0 and 10000`),
  ],
);

/**
 * Per-seller invoice numbering: the row is locked and advanced in the transaction that issues
 * the invoices, so numbers have no gaps. `last_cut_period` is the last month whose invoices
 * were all cut ('YYYY-MM').
 */
export const invoiceCounters = pgTable('invoice_counters', {
  sellerKey: text('seller_key').primaryKey(),
  nextNumber: integer('next_number').notNull().default(1),
  lastCutPeriod: text('last_cut_period'),
  updatedAt: updatedAt(),
});

/** Where an account's invoices are addressed. The default one is printed on new invoices. */
export const billingAddresses = pgTable(
  'billing_addresses',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    subAccountId: text('sub_account_id'),
    buyerId: text('buyer_id').notNull(),
    name: text('name').notNull(),
    line1: text('line1').notNull(),
    line2: text('line2'),
    city: text('city').notNull(),
    postalCode: text('postal_code'),
    country: text('country').notNull(),
    /** Free text from before tax identities (kept readable); for an exempt foreign buyer, its foreign tax id. */
    taxId: text('tax_id'),
    /** The buyer's tax identity (DESIGN section 10); null on addresses saved before it existed. */
    taxKind: text('tax_kind', { enum: ['company', 'person', 'exempt'] }),
    /** VKN (company) or TCKN (person), checksum-checked. */
    taxNumber: text('tax_number'),
    taxOffice: text('tax_office'),
    eInvoiceRegistered: boolean('e_invoice_registered').notNull().default(false),
    /** A registered company's GİB mailbox (posta kutusu etiketi), `urn:mail:defaultpk@firma.com.tr`: where e-Fatura is delivered. */
    eInvoiceAlias: text('e_invoice_alias'),
    firstName: text('first_name'),
    familyName: text('family_name'),
    district: text('district'),
    exemptionReason: text('exemption_reason'),
    isDefault: boolean('is_default').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('billing_addresses_account_idx').on(t.buyerId)],
);

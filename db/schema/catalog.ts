import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { createdAt, tstz, updatedAt } from './common';

export const currencies = ['TRY', 'USD', 'EUR'] as const;
export type Currency = (typeof currencies)[number];

/** What the platform sells agencies: a plan (with or without the reselling module). */
export const platformPlans = pgTable(
  'platform_plans',
  {
    id: text('id').primaryKey(),
    code: text('code').notNull(),
    name: text('name').notNull(),
    resellingModule: boolean('reselling_module').notNull().default(false),
    includedChatbots: integer('included_chatbots').notNull().default(0),
    monthlyCredits: bigint('monthly_credits', { mode: 'number' }).notNull().default(0),
    priceMinor: bigint('price_minor', { mode: 'number' }).notNull(),
    currency: text('currency', { enum: currencies }).notNull(),
    published: boolean('published').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('platform_plans_code_key').on(t.code), check('platform_plans_price_pos', sql`${t.priceMinor} >= 0`)],
);

/**
 * Credit top-ups a seller offers: the platform's (seller_agency_id null) bought by agencies into
 * their pool, and later an agency's for its sub-accounts' auto-billing.
 */
export const topupPackages = pgTable(
  'topup_packages',
  {
    id: text('id').primaryKey(),
    sellerAgencyId: text('seller_agency_id').references(() => agencies.id),
    credits: bigint('credits', { mode: 'number' }).notNull(),
    priceMinor: bigint('price_minor', { mode: 'number' }).notNull(),
    currency: text('currency', { enum: currencies }).notNull(),
    archivedAt: tstz('archived_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('topup_packages_seller_idx').on(t.sellerAgencyId),
    check('topup_packages_positive', sql`${t.credits} > 0 and ${t.priceMinor} > 0`),
  ],
);

export const agencyOrderKinds = ['topup', 'chatbot_slots'] as const;
export const agencyOrderStatuses = ['pending_payment', 'paid', 'applied', 'payment_failed'] as const;

/** An agency buying from the platform: credits into its pool, or chatbot slots. */
export const agencyOrders = pgTable(
  'agency_orders',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    kind: text('kind', { enum: agencyOrderKinds }).notNull(),
    topupPackageId: text('topup_package_id'),
    quantity: integer('quantity').notNull(),
    credits: bigint('credits', { mode: 'number' }).notNull().default(0),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    currency: text('currency', { enum: currencies }).notNull(),
    status: text('status', { enum: agencyOrderStatuses }).notNull().default('pending_payment'),
    appliedAt: tstz('applied_at'),
    createdAt: createdAt(),
  },
  (t) => [index('agency_orders_agency_idx').on(t.agencyId, t.createdAt), check('agency_orders_quantity_pos', sql`${t.quantity} > 0`)],
);

import { sql } from 'drizzle-orm';
import { bigint, foreignKey, index, integer, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { currencies } from './catalog';
import { createdAt, tstz, updatedAt } from './common';
import { packageTypes } from './packages';
import { subAccounts } from './sub-accounts';

export const purchaseStatuses = ['pending_payment', 'paid', 'granted', 'payment_failed'] as const;
export type PurchaseStatus = (typeof purchaseStatuses)[number];

/**
 * A sub-account's purchase of one package version. "paid" means the money is confirmed but the
 * grant has not been applied yet (it is retried until it is); "granted" is final.
 */
export const purchases = pgTable(
  'purchases',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull(),
    subAccountId: text('sub_account_id').notNull(),
    packageId: text('package_id').notNull(),
    packageVersionId: text('package_version_id').notNull(),
    type: text('type', { enum: packageTypes }).notNull(),
    priceMinor: bigint('price_minor', { mode: 'number' }).notNull(),
    currency: text('currency', { enum: currencies }).notNull(),
    status: text('status', { enum: purchaseStatuses }).notNull().default('pending_payment'),
    paymentMethod: text('payment_method').notNull(),
    buyerUserId: text('buyer_user_id'),
    /** An API client's Idempotency-Key: a retried request records nothing new. */
    idempotencyKey: text('idempotency_key'),
    grantAttempts: integer('grant_attempts').notNull().default(0),
    lastGrantError: text('last_grant_error'),
    paidAt: tstz('paid_at'),
    grantedAt: tstz('granted_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('purchases_agency_idx').on(t.agencyId, t.createdAt),
    index('purchases_sub_idx').on(t.subAccountId, t.createdAt),
    index('purchases_paid_idx').on(t.status).where(sql`status = 'paid'`),
    uniqueIndex('purchases_idem_key').on(t.subAccountId, t.idempotencyKey).where(sql`idempotency_key is not null`),
    foreignKey({ columns: [t.agencyId, t.subAccountId], foreignColumns: [subAccounts.agencyId, subAccounts.id] }),
  ],
);

export const subscriptionStatuses = ['active', 'ended', 'forfeited'] as const;

/**
 * A sub-account's subscription: prepaid for its term, monthly credits granted on each monthly
 * anniversary of `start_day` (clamped to month end). A renewal extends `ends_at`.
 */
export const subscriptions = pgTable(
  'subscriptions',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull(),
    subAccountId: text('sub_account_id').notNull(),
    packageId: text('package_id').notNull(),
    packageVersionId: text('package_version_id').notNull(),
    /** The purchase that paid for this term. */
    purchaseId: text('purchase_id'),
    monthlyCredits: bigint('monthly_credits', { mode: 'number' }).notNull(),
    chatbots: integer('chatbots').notNull().default(0),
    departmentIds: text('department_ids').array().notNull().default([]),
    /** Calendar day (seller's zone) of the first grant, 'YYYY-MM-DD'; anniversaries are computed from it. */
    startDay: text('start_day').notNull(),
    startsAt: tstz('starts_at').notNull(),
    endsAt: tstz('ends_at').notNull(),
    /** Index of the next monthly grant (0 = the first); the grant of period n exists once. */
    nextGrantIndex: integer('next_grant_index').notNull().default(0),
    nextGrantAt: tstz('next_grant_at'),
    status: text('status', { enum: subscriptionStatuses }).notNull().default('active'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('subscriptions_sub_idx').on(t.subAccountId, t.status),
    index('subscriptions_due_idx').on(t.nextGrantAt).where(sql`status = 'active'`),
    foreignKey({ columns: [t.agencyId, t.subAccountId], foreignColumns: [subAccounts.agencyId, subAccounts.id] }),
  ],
);

/** One row per granted month: the key that makes the monthly grant job idempotent. */
export const subscriptionGrants = pgTable(
  'subscription_grants',
  {
    subscriptionId: text('subscription_id').notNull(),
    periodIndex: integer('period_index').notNull(),
    agencyId: text('agency_id').notNull(),
    lotId: text('lot_id'),
    credits: bigint('credits', { mode: 'number' }).notNull(),
    grantedAt: tstz('granted_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.subscriptionId, t.periodIndex] })],
);
